package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// principal is who makes a request: a token's name and role, or the
// anonymous writer of an open (tokenless, loopback) server.
type principal struct {
	Name string
	Role string
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns the request's principal; without one (a test
// calling resolvers directly) the weakest role.
func principalFrom(ctx context.Context) principal {
	if p, ok := ctx.Value(principalKey{}).(principal); ok {
		return p
	}
	return principal{Name: "anonymous", Role: inventory.RoleReader}
}

func (p principal) can(role string) bool {
	return inventory.RoleRank(p.Role) >= inventory.RoleRank(role)
}

// openRole is what requests get while no token exists. Writer, not admin:
// secret attributes stay hidden until someone creates an admin token.
const openRole = inventory.RoleWriter

// authenticate requires a valid bearer token once any token exists.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err != nil {
			status := http.StatusUnauthorized
			if schema.ErrorCode(err) == schema.EINTERNAL {
				status = http.StatusInternalServerError
				s.log.Error("authenticate", "err", err)
			} else {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tana"`)
			}
			writeError(w, status, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withAccess(withPrincipal(r.Context(), p))))
	})
}

func (s *Server) principal(r *http.Request) (principal, error) {
	ctx := r.Context()
	h := r.Header.Get("Authorization")
	if h == "" {
		has, err := s.store.HasTokens(ctx)
		if err != nil {
			return principal{}, err
		}
		if has || s.exposed.Load() {
			return principal{}, schema.Errorf(schema.EUNAUTHORIZED, "this server needs an API token: Authorization: Bearer <token>")
		}
		return principal{Name: "anonymous", Role: openRole}, nil
	}
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		return principal{}, schema.Errorf(schema.EUNAUTHORIZED, "Authorization header must be: Bearer <token>")
	}
	t, err := s.store.Authenticate(ctx, strings.TrimSpace(secret))
	if err != nil {
		return principal{}, err
	}
	return principal{Name: t.Name, Role: t.Role}, nil
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
		return schema.Errorf(schema.EFORBIDDEN, "role %s cannot do this (needs %s)", p.Role, role)
	}
	return nil
}
