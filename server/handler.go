package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// gqlRequest is a GraphQL-over-HTTP request.
type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// graphql serves /graphql: parse, validate, check limits and role, then
// execute with a fresh per-request loader.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Limits.RequestTimeout.D())
	defer cancel()
	req, status, err := s.readRequest(w, r)
	if err != nil {
		writeError(w, status, err)
		return
	}
	sch := s.schema.Load()
	doc, err := parser.Parse(parser.ParseParams{Source: source.NewSource(&source.Source{Body: []byte(req.Query), Name: "GraphQL request"})})
	if err != nil {
		writeJSON(w, http.StatusBadRequest, &graphql.Result{Errors: withCode(gqlerrors.FormatErrors(err), "GRAPHQL_PARSE_FAILED")})
		return
	}
	if vr := graphql.ValidateDocument(sch, doc, nil); !vr.IsValid {
		writeJSON(w, http.StatusBadRequest, &graphql.Result{Errors: withCode(vr.Errors, "GRAPHQL_VALIDATION_FAILED")})
		return
	}
	op, err := checkLimits(sch, doc, req, s.opts.Limits)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := checkVariables(sch, op, req.Variables); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if op.Operation == ast.OperationTypeMutation {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, schema.Errorf(schema.EINVALID, "mutations need POST"))
			return
		}
		if err := requireRole(ctx, inventory.RoleWriter); err != nil {
			writeError(w, http.StatusForbidden, err)
			return
		}
	}
	ctx = withLoader(ctx, newLoader(s.store))
	res := graphql.Execute(graphql.ExecuteParams{
		Schema: *sch, AST: doc, OperationName: req.OperationName, Args: req.Variables, Context: ctx,
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// graphql-go stops between fields with the bare context error.
		for i := range res.Errors {
			if res.Errors[i].Extensions == nil {
				res.Errors[i].Extensions = map[string]any{"code": "TIMEOUT"}
			}
		}
	}
	writeJSON(w, busyStatus(w, res), res)
}

// readRequest decodes a POST (JSON or application/graphql) or GET request,
// bounded by MaxBodyBytes.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (*gqlRequest, int, error) {
	req := &gqlRequest{}
	switch r.Method {
	case http.MethodGet:
		qv := r.URL.Query()
		req.Query, req.OperationName = qv.Get("query"), qv.Get("operationName")
		if v := qv.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return nil, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "variables", "bad JSON: %v", err)
			}
		}
	case http.MethodPost:
		body := http.MaxBytesReader(w, r.Body, s.opts.Limits.MaxBodyBytes)
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/graphql") {
			var b []byte
			b, err = io.ReadAll(body)
			req.Query = string(b)
		} else {
			err = json.NewDecoder(body).Decode(req)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, schema.Errorf(schema.EINVALID, "request body is larger than %d bytes", mbe.Limit)
		}
		if err != nil {
			return nil, http.StatusBadRequest, schema.Errorf(schema.EINVALID, "bad request body: %v", err)
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		return nil, http.StatusMethodNotAllowed, schema.Errorf(schema.EINVALID, "use GET or POST")
	}
	if strings.TrimSpace(req.Query) == "" {
		return nil, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "query", "missing query")
	}
	return req, 0, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers with a GraphQL-shaped error carrying the code.
func writeError(w http.ResponseWriter, status int, err error) {
	fe := gqlerrors.FormatError(codedError{err: err})
	fe.Extensions = codedError{err: err}.Extensions()
	writeJSON(w, status, &graphql.Result{Errors: []gqlerrors.FormattedError{fe}})
}

// withCode gives parse and validation errors a code like every other error.
func withCode(errs []gqlerrors.FormattedError, code string) []gqlerrors.FormattedError {
	for i := range errs {
		errs[i].Extensions = map[string]any{"code": code}
	}
	return errs
}

// CodedError makes err a GraphQL error whose extensions carry its schema
// error code and field; resolvers added through ExtraQueries and
// ExtraMutations return their errors through it.
func CodedError(err error) error {
	if err == nil {
		return nil
	}
	return codedError{err: err}
}

// codedError carries a schema error's code and field into GraphQL's
// extensions: {"code": "CONFLICT", "field": "attrs.cpus"}.
type codedError struct{ err error }

func (e codedError) Error() string {
	switch {
	case errors.Is(e.err, context.DeadlineExceeded):
		return "the request took longer than the server's time limit"
	case schema.ErrorCode(e.err) == schema.EINTERNAL:
		return "internal error"
	}
	return e.err.Error()
}

func (e codedError) Unwrap() error { return e.err }

func (e codedError) Extensions() map[string]any {
	ext := map[string]any{"code": strings.ToUpper(schema.ErrorCode(e.err))}
	if errors.Is(e.err, context.DeadlineExceeded) {
		ext["code"] = "TIMEOUT"
	}
	if f := schema.ErrorField(e.err); f != "" {
		ext["field"] = f
	}
	return ext
}
