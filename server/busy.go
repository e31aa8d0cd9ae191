package server

import (
	"net/http"
	"strconv"

	"github.com/graphql-go/graphql"
)

// retryAfter is the Retry-After, in seconds, of an answer whose write the
// store could not take in time (schema.EBUSY): a client that waits this
// long and sends the request again finds its turn.
const retryAfter = 2

// busyCode is schema.EBUSY as codedError writes it.
const busyCode = "BUSY"

// busyStatus is the HTTP status of a GraphQL result: 503 with Retry-After
// when the store was too busy for every field asked (nothing was done,
// the request may be sent again as it is), 200 otherwise, with
// Retry-After if some field was refused as busy.
func busyStatus(w http.ResponseWriter, res *graphql.Result) int {
	busy := false
	for _, e := range res.Errors {
		busy = busy || e.Extensions["code"] == busyCode
	}
	if !busy {
		return http.StatusOK
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if data, ok := res.Data.(map[string]any); ok {
		for _, v := range data {
			if v != nil {
				return http.StatusOK
			}
		}
	}
	return http.StatusServiceUnavailable
}
