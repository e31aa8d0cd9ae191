// Package access is who may do what in tana: identities (users, teams,
// tokens, LDAP), permissions (levels granted on entity types, attributes
// and entries matching a filter), and the one evaluator every interface
// asks — GraphQL, the Ansible endpoint, exports, reports, allocation. The
// evaluator hands package inventory a filter to compile to SQL, so a list
// stays one set-based query whatever the grants.
package access

import (
	"context"
	"fmt"
	"slices"
)

// Level is how much a principal may do with something; levels are
// ordered none < read < write < admin.
type Level int

// The levels.
const (
	None Level = iota
	Read
	Write
	Admin
)

var levelNames = []string{"none", "read", "write", "admin"}

func (l Level) String() string {
	if l < None || l > Admin {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads "none", "read", "write" or "admin".
func ParseLevel(s string) (Level, error) {
	if i := slices.Index(levelNames, s); i >= 0 {
		return Level(i), nil
	}
	return None, fmt.Errorf("unknown level %q (want none, read, write or admin)", s)
}

// Principal is who makes a request.
type Principal struct {
	// Kind is "anonymous", "user" or "token".
	Kind string `json:"kind"`
	// Name names the principal in logs, audit and history: a user's name,
	// a token's name, or "anonymous".
	Name string `json:"name"`
	// User is the user behind the request ("" for anonymous or a token of
	// no user); Teams the teams it belongs to (a team token: that team).
	User  string   `json:"user,omitempty"`
	Teams []string `json:"teams,omitempty"`
	// Role is a built-in role the principal has on everything, as tokens
	// had before users and teams: "reader", "writer", "admin" or "".
	Role string `json:"role,omitempty"`
	// Source says how it was authenticated: "local", "ldap", "token",
	// "session", "open" (no authentication configured on loopback).
	Source string `json:"source,omitempty"`
}

// RoleLevel is the level a built-in role gives on everything.
func RoleLevel(role string) Level {
	switch role {
	case "reader":
		return Read
	case "writer":
		return Write
	case "admin":
		return Admin
	}
	return None
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
