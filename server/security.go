package server

import (
	"fmt"
	"mime"
	"net/http"
	"runtime/debug"

	"github.com/tana-cmdb/tana/schema"
)

// secure wraps every route: browser hardening headers on every answer,
// cross-origin refusal of state-changing requests, and a panic in one
// request answered as an internal error instead of a dropped connection.
//
// Cross-site request forgery: a page on another origin can make a browser
// POST to tana without asking (a form, or fetch with a text/plain body),
// and an open server would act on it. net/http's CrossOriginProtection
// refuses a non-GET request whose Sec-Fetch-Site is not same-origin or
// none, or, from older browsers, whose Origin is not this host; requests
// with neither header come from non-browser clients and pass. /graphql
// besides takes POST bodies only as application/json, which no form
// sends and fetch cannot send cross-origin without a preflight.
func (s *Server) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, schema.Errorf(schema.EFORBIDDEN,
			"cross-origin %s refused: tana accepts changes only from its own pages and from non-browser clients", r.Method))
	}))
	protected := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		defer s.recoverPanic(w, r)
		protected.ServeHTTP(w, r)
	})
}

// recoverPanic answers a request that panicked with an internal error and
// logs the stack; the process and the other requests carry on.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("request panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	writeError(w, http.StatusInternalServerError, schema.Errorf(schema.EINTERNAL, "panic: %v", v))
}

// requireJSON refuses a POST body that is not application/json.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return schema.FieldErrorf(schema.EINVALID, "Content-Type",
			"POST /graphql takes Content-Type: application/json, not %q (queries may also use GET)", ct)
	}
	return nil
}
