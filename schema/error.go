package schema

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The store maps database errors onto them
// once; the server maps them onto HTTP statuses and GraphQL extensions once.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	ESTALE        = "stale"
	ELOCKED       = "locked"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	// EBUSY is a write the store could not take in time (its turn did not
	// come, a deadlock was broken): nothing changed, and the same request
	// retried later succeeds.
	EBUSY = "busy"
	// EEXHAUSTED is a pool with no value left to hand out.
	EEXHAUSTED = "exhausted"
)

// Error is a domain error with a machine-readable code and, where one applies,
// the field (attribute, config key, item index) it is about.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the field of the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
