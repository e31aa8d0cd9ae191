package access

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// SessionOptions shape web sessions.
type SessionOptions struct {
	// Idle ends a session after this long without a request (default
	// 30m); Lifetime ends it this long after login, whatever (default
	// 12h).
	Idle     time.Duration
	Lifetime time.Duration
	// SecureCookie marks the cookie Secure even on a plain-HTTP request:
	// for a server behind a proxy that terminates TLS. Requests that
	// come over TLS get Secure anyway.
	SecureCookie bool
}

// Session defaults.
const (
	DefaultIdle     = 30 * time.Minute
	DefaultLifetime = 12 * time.Hour
)

func (o SessionOptions) withDefaults() SessionOptions {
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	return o
}

// SessionOptions returns the options sessions are made with.
func (a *Authenticator) SessionOptions() SessionOptions { return a.sess }

// Session is a session just begun: Secret goes into the cookie and CSRF
// must come back in the X-CSRF-Token header of every change. Neither is
// stored as it is (the secret only as its hash).
type Session struct {
	Secret    string
	CSRF      string
	ExpiresAt time.Time
}

// StartSession begins a web session for a logged-in user.
func (a *Authenticator) StartSession(ctx context.Context, p *Principal, addr string) (*Session, error) {
	if p == nil || p.Kind != "user" {
		return nil, schema.Errorf(schema.EINVALID, "only a user logs in to a session")
	}
	secret, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	se, err := a.store.CreateSession(ctx, inventory.NewSession{Hash: inventory.HashToken(secret), User: p.User, CSRF: csrf,
		RemoteAddr: addr, Idle: a.sess.Idle, Lifetime: a.sess.Lifetime})
	if err != nil {
		return nil, err
	}
	return &Session{Secret: secret, CSRF: csrf, ExpiresAt: se.ExpiresAt}, nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// maxTouchEvery is how stale a session's last-seen time may grow before a
// request writes it: the idle timeout is exact to within this (or a tenth
// of the timeout, if less), and a busy page costs no write per request.
const maxTouchEvery = time.Minute

// SessionPrincipal returns the principal of a session cookie and the
// session's CSRF token, or an unauthorized error naming why the session
// is no longer good (ended, expired, idle, user disabled).
func (a *Authenticator) SessionPrincipal(ctx context.Context, secret string) (*Principal, string, error) {
	se, err := a.store.SessionByHash(ctx, inventory.HashToken(secret))
	if err != nil {
		if schema.ErrorCode(err) == schema.EUNAUTHORIZED {
			return nil, "", schema.Errorf(schema.EUNAUTHORIZED, "unknown session: log in again")
		}
		return nil, "", err
	}
	now := a.now()
	if why := se.Live(now); why != "" {
		return nil, "", schema.Errorf(schema.EUNAUTHORIZED, "session %s: log in again", why)
	}
	if now.Sub(se.LastSeenAt) >= min(maxTouchEvery, se.Idle/10) {
		if err := a.store.TouchSession(ctx, se.ID, now); err != nil {
			return nil, "", err
		}
	}
	teams, err := a.store.UserTeams(ctx, se.User)
	if err != nil {
		return nil, "", err
	}
	p := &Principal{Kind: "user", Name: se.User, User: se.User, Teams: teams, Role: se.UserRole, Source: "session"}
	return p, se.CSRF, nil
}

// CheckCSRF compares a request's CSRF token with the session's in
// constant time.
func CheckCSRF(want, got string) error {
	if got == "" {
		return schema.FieldErrorf(schema.EFORBIDDEN, "X-CSRF-Token", "a change made with a session cookie needs the session's CSRF token in the X-CSRF-Token header (POST /login returns it)")
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return schema.FieldErrorf(schema.EFORBIDDEN, "X-CSRF-Token", "wrong CSRF token for this session")
	}
	return nil
}

// Logout ends the session of secret and audits it; an unknown or ended
// session is no error (logging out twice is harmless).
func (a *Authenticator) Logout(ctx context.Context, secret, addr string) error {
	se, err := a.store.SessionByHash(ctx, inventory.HashToken(secret))
	if schema.ErrorCode(err) == schema.EUNAUTHORIZED {
		return nil
	}
	if err != nil {
		return err
	}
	if se.EndedAt != nil {
		return nil
	}
	if err := a.store.EndSession(ctx, se.ID); err != nil {
		return err
	}
	return a.store.Audit(ctx, inventory.AuditRecord{Actor: se.User, Action: inventory.AuditLogout, Target: se.User, RemoteAddr: addr, Success: true})
}
