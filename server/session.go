package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/schema"
	"github.com/tana-cmdb/tana/server/web"
)

// maxLoginBody bounds a login request: a name and a password.
const maxLoginBody = 16 << 10

// loginRequest is POST /login's body.
type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
	// next and page: a form from the login page, which is answered with
	// pages (then next), not JSON.
	next string
	page bool
}

// loginAnswer is what a login returns: who logged in, and the CSRF token
// every change made with the session cookie must carry.
type loginAnswer struct {
	User      string    `json:"user"`
	Role      string    `json:"role,omitempty"`
	Teams     []string  `json:"teams"`
	Source    string    `json:"source"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// login serves POST /login: a JSON {"user", "password"} or a form with
// user and password. It sets the session cookie (HttpOnly, SameSite=Lax,
// Secure over TLS or when configured) and returns the CSRF token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, schema.Errorf(schema.EINVALID, "a login is at most %d bytes", maxLoginBody))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, schema.Errorf(schema.EINVALID, "read login: %v", err))
		return
	}
	req, err := parseLogin(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.loginFailed(w, r, req, err)
		return
	}
	ctx, addr := r.Context(), s.remoteIP(r)
	p, err := s.auth.Login(ctx, req.User, req.Password, addr)
	if err != nil {
		s.log.InfoContext(ctx, "login refused", "user", req.User, "addr", addr, "err", err)
		s.loginFailed(w, r, req, err)
		return
	}
	se, err := s.auth.StartSession(ctx, p, addr)
	if err != nil {
		s.log.ErrorContext(ctx, "start session", "user", p.User, "err", err)
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	http.SetCookie(w, s.cookie(r, se.Secret, se.ExpiresAt))
	if req.page {
		http.Redirect(w, r, web.SafeNext(req.next), http.StatusSeeOther)
		return
	}
	teams := p.Teams
	if teams == nil {
		teams = []string{}
	}
	writeJSON(w, http.StatusOK, loginAnswer{User: p.User, Role: p.Role, Teams: teams, Source: p.Source, CSRFToken: se.CSRF, ExpiresAt: se.ExpiresAt})
}

// loginStatus maps a refused login onto its HTTP status: 401 for wrong
// credentials, 403 for a disabled user, 503 when the directory could not
// be asked.
func loginStatus(err error) int {
	var le *access.LoginError
	if errors.As(err, &le) && le.Reason == access.ReasonLDAPError {
		return http.StatusServiceUnavailable
	}
	if errors.As(err, &le) && le.Reason == access.ReasonThrottled {
		return http.StatusTooManyRequests
	}
	switch schema.ErrorCode(err) {
	case schema.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case schema.EFORBIDDEN:
		return http.StatusForbidden
	case schema.EINVALID:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// cookie is the session cookie; an empty secret and a past expiry clear
// it.
func (s *Server) cookie(r *http.Request, secret string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, // Lax: a link from chat or mail to a page keeps the login
		Secure: r.TLS != nil || s.auth.SessionOptions().SecureCookie,
	}
	if secret == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// parseLogin reads a login from a JSON or form body.
func parseLogin(contentType string, body []byte) (loginRequest, error) {
	var req loginRequest
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, schema.Errorf(schema.EINVALID, "bad login JSON (want {\"user\": …, \"password\": …}): %v", err)
		}
		if dec.More() {
			return req, schema.Errorf(schema.EINVALID, "bad login JSON: more than one value")
		}
	case "application/x-www-form-urlencoded":
		if req, err = parseLoginForm(string(body)); err != nil {
			return req, err
		}
	default:
		return req, schema.FieldErrorf(schema.EINVALID, "Content-Type",
			"POST /login takes application/json or application/x-www-form-urlencoded, not %q", contentType)
	}
	if req.User == "" {
		return req, schema.FieldErrorf(schema.EINVALID, "user", "missing")
	}
	if req.Password == "" {
		return req, schema.FieldErrorf(schema.EINVALID, "password", "missing")
	}
	return req, nil
}

func parseLoginForm(body string) (loginRequest, error) {
	var req loginRequest
	form, err := url.ParseQuery(body)
	if err != nil {
		return req, schema.Errorf(schema.EINVALID, "bad login form: %v", err)
	}
	req = loginRequest{User: form.Get("user"), Password: form.Get("password"), next: form.Get("next"), page: form.Has("next")}
	for k, vs := range form {
		switch {
		case k != "user" && k != "password" && k != "next":
			return req, schema.FieldErrorf(schema.EINVALID, k, "unknown field of a login (want user and password, and next from the login page)")
		case len(vs) > 1:
			return req, schema.FieldErrorf(schema.EINVALID, k, "given %d times", len(vs))
		}
	}
	return req, nil
}

// logout serves POST /logout: it ends the session of the cookie (which
// needs its CSRF token while the session is good) and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		writeError(w, http.StatusBadRequest, schema.Errorf(schema.EINVALID, "no session to log out of (no %s cookie)", sessionCookie))
		return
	}
	ctx := r.Context()
	if _, csrf, err := s.auth.SessionPrincipal(ctx, c.Value); err == nil {
		if err := access.CheckCSRF(csrf, csrfToken(r)); err != nil {
			writeError(w, http.StatusForbidden, err)
			return
		}
	}
	if err := s.auth.Logout(ctx, c.Value, s.remoteIP(r)); err != nil {
		s.log.ErrorContext(ctx, "logout", "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Errorf("log out: %w", err))
		return
	}
	http.SetCookie(w, s.cookie(r, "", time.Time{}))
	if isForm(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}

// sessionAnswer is GET /session: who the caller is, and its session's CSRF
// token when it came with a session cookie (a page reloaded needs it).
type sessionAnswer struct {
	*access.Principal
	CSRFToken string `json:"csrf_token,omitempty"`
}

// session serves GET /session.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, csrf, err := s.identify(r)
	if err != nil {
		s.refuse(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionAnswer{Principal: p, CSRFToken: csrf})
}
