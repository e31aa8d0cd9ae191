package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/schema"
	"github.com/tana-cmdb/tana/server/web"
)

// newUI builds the web UI over the server's own GraphQL schema.
func (s *Server) newUI() (*web.UI, error) {
	return web.New(web.Options{
		Store: s.store, Logger: s.log, Query: s.Query, Viewer: s.viewer, Authenticate: s.authenticatePage,
		Reconcile: s.opts.Reconcile != nil, Allocate: s.opts.Allocator != nil, MaxPage: s.opts.Limits.MaxPageSize,
	})
}

// Query runs a GraphQL request in process as the caller of ctx (a
// request that passed authenticate), through every check /graphql makes.
func (s *Server) Query(ctx context.Context, query string, vars map[string]any) *graphql.Result {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Limits.RequestTimeout.D())
	defer cancel()
	// Variables as a client's JSON would bring them: the checks expect
	// JSON's types (float64 numbers, []any lists).
	b, err := json.Marshal(vars)
	if err != nil {
		return errorResult(err)
	}
	var plain map[string]any
	if err := json.Unmarshal(b, &plain); err != nil {
		return errorResult(err)
	}
	_, res := s.answer(ctx, http.MethodPost, &gqlRequest{Query: query, Variables: plain})
	return res
}

// authenticatePage is authenticate for pages: who may not see them is
// sent to the login page instead of getting an error as JSON.
func (s *Server) authenticatePage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, csrf, err := s.identify(r)
		switch {
		case err != nil && schema.ErrorCode(err) == schema.EUNAUTHORIZED && safeMethod(r.Method):
			web.Unauthorized(w, r)
			return
		case err != nil && (schema.ErrorCode(err) == schema.EUNAUTHORIZED || schema.ErrorCode(err) == schema.EFORBIDDEN):
			// A form sent after the session ended, or with a stale CSRF
			// token (logged out and in elsewhere): a page that says so.
			status := http.StatusForbidden
			if schema.ErrorCode(err) == schema.EUNAUTHORIZED {
				status = http.StatusUnauthorized
			}
			s.ui.Fail(w, r, status, fmt.Errorf("%w — nothing was changed: log in again and resend the form", err))
			return
		case err != nil:
			s.refuse(w, err)
			return
		}
		next.ServeHTTP(w, s.withCaller(r, p, csrf))
	})
}

// viewer says who looks at a page.
func (s *Server) viewer(r *http.Request) (web.Viewer, bool) {
	ctx := r.Context()
	p := access.FromContext(ctx)
	if p == nil {
		return web.Viewer{}, false
	}
	csrf, _ := ctx.Value(csrfKey{}).(string)
	v := web.Viewer{Name: p.Name, Kind: p.Kind, Role: p.Role, Teams: p.Teams, CSRF: csrf, Session: csrf != "", Open: p.Source == "open", Addr: RemoteAddr(ctx)}
	if acc, err := accessOf(ctx, s.store); err == nil {
		v.Admin, v.MayWrite = acc.IsAdmin(), acc.MayWrite()
	}
	return v, true
}

// isForm reports whether a request carries an HTML form.
func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// csrfToken is a change's CSRF token: the header scripts send, or the
// hidden field of a page's form.
func csrfToken(r *http.Request) string {
	if t := r.Header.Get(csrfHeader); t != "" || !isForm(r) {
		return t
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	return r.PostFormValue("csrf_token")
}

// loginFailed answers a refused login: JSON to a script, the login page
// again (with why) to a person.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, req loginRequest, err error) {
	if loginStatus(err) == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(access.ThrottleWindow.Seconds())))
	}
	if !req.page {
		writeError(w, loginStatus(err), err)
		return
	}
	s.ui.LoginPage(w, r, loginStatus(err), req.User, req.next, err.Error())
}
