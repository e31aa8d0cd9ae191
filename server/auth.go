package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// principal is who makes a request, as package access authenticated it.
// Server code asks it can(role) until the permission evaluator takes the
// built-in roles' place.
type principal struct{ *access.Principal }

// anonymous is the principal of a request without one (a test calling
// resolvers directly): the weakest role.
func anonymous() principal {
	return principal{&access.Principal{Kind: "anonymous", Name: "anonymous", Role: inventory.RoleReader}}
}

// principalFrom returns the request's principal; without one, anonymous.
func principalFrom(ctx context.Context) principal {
	if p := access.FromContext(ctx); p != nil {
		return principal{p}
	}
	return anonymous()
}

func (p principal) can(role string) bool {
	return access.RoleLevel(p.Role) >= access.RoleLevel(role)
}

// openRole is what requests get while no token and no user exists.
// Writer, not admin: secret attributes stay hidden until someone creates
// an admin token.
const openRole = inventory.RoleWriter

// sessionCookie names the web session's cookie.
const sessionCookie = "tana_session"

// csrfHeader carries a session's CSRF token on every change.
const csrfHeader = "X-CSRF-Token"

// authenticate requires a valid bearer token or session once any token or
// user exists, and the session's CSRF token on a change made with a
// session cookie.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, err := s.identify(r)
		if err != nil {
			s.refuse(w, err)
			return
		}
		next.ServeHTTP(w, s.withCaller(r, p, ""))
	})
}

// withCaller gives an authenticated request its principal, address,
// session CSRF token ("" without a session) and lazily computed access.
func (s *Server) withCaller(r *http.Request, p *access.Principal, csrf string) *http.Request {
	ctx := context.WithValue(access.WithPrincipal(r.Context(), p), remoteAddrKey{}, s.remoteIP(r))
	ctx = context.WithValue(ctx, csrfKey{}, csrf)
	return r.WithContext(withAccess(ctx))
}

type remoteAddrKey struct{}

type csrfKey struct{}

// RemoteAddr returns the address an authenticated request came from
// (without its port), for audit records written by resolvers; "" outside
// a request.
func RemoteAddr(ctx context.Context) string {
	a, _ := ctx.Value(remoteAddrKey{}).(string)
	return a
}

// refuse answers a request that could not be authenticated.
func (s *Server) refuse(w http.ResponseWriter, err error) {
	status := http.StatusUnauthorized
	switch schema.ErrorCode(err) {
	case schema.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tana"`)
	case schema.EFORBIDDEN:
		status = http.StatusForbidden
	default:
		status = http.StatusInternalServerError
		s.log.Error("authenticate", "err", err)
	}
	writeError(w, status, err)
}

// identify returns the request's principal and, for a session, its CSRF
// token: a bearer token first, then the session cookie, then the open
// server's anonymous writer.
func (s *Server) identify(r *http.Request) (*access.Principal, string, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			return nil, "", schema.Errorf(schema.EUNAUTHORIZED, "Authorization header must be: Bearer <token>")
		}
		p, err := s.auth.Token(ctx, strings.TrimSpace(secret), s.remoteIP(r))
		return p, "", err
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		p, csrf, err := s.auth.SessionPrincipal(ctx, c.Value)
		if err != nil {
			return nil, "", err
		}
		if !safeMethod(r.Method) {
			if err := access.CheckCSRF(csrf, csrfToken(r)); err != nil {
				return nil, "", err
			}
		}
		return p, csrf, nil
	}
	open, err := s.auth.Open(ctx)
	if err != nil {
		return nil, "", err
	}
	if !open || s.exposed.Load() {
		return nil, "", schema.Errorf(schema.EUNAUTHORIZED, "this server needs an API token (Authorization: Bearer <token>) or a login (POST /login)")
	}
	return &access.Principal{Kind: "anonymous", Name: "anonymous", Role: openRole, Source: "open"}, "", nil
}

// safeMethod reports whether a request of method changes nothing (RFC
// 9110's safe methods): those need no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// remoteIP is the address a request came from, without its port: the
// connection's, or — when that is a trusted proxy — the nearest address
// in X-Forwarded-For that is not one.
func (s *Server) remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.proxies) == 0 || !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break // not an address: the header cannot be followed further
		}
		if !s.trusted(hop) {
			return hop
		}
		host = hop
	}
	return host
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Principal returns the name and role of the caller of a request, for
// resolvers added through ExtraQueries and ExtraMutations (history actor).
func Principal(ctx context.Context) (name, role string) {
	p := principalFrom(ctx)
	return p.Name, p.Role
}

// RequireRole returns a forbidden error unless the caller's role is at
// least role (inventory.RoleReader, RoleWriter, RoleAdmin).
func RequireRole(ctx context.Context, role string) error { return requireRole(ctx, role) }

// requireRole returns a forbidden error unless the request's role is at
// least role.
func requireRole(ctx context.Context, role string) error {
	p := principalFrom(ctx)
	if !p.can(role) {
		has := p.Role
		if has == "" {
			has = "(none)"
		}
		return schema.Errorf(schema.EFORBIDDEN, "role %s cannot do this (needs %s)", has, role)
	}
	return nil
}
