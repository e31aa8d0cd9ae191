package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Token roles, weakest first.
const (
	RoleReader = "reader"
	RoleWriter = "writer"
	RoleAdmin  = "admin"
)

// tokenPrefix marks tana tokens so they are recognisable in logs and secret
// scanners.
const tokenPrefix = "tana_"

// Token is an API token as stored: its hash, never the token itself. A
// token may belong to a user or a team (User, Team); one of neither is
// what every token was before users existed, and works by its Role alone.
type Token struct {
	ID        int64     `json:"id" db:"id"`
	Name      string    `json:"name" db:"name"`
	Role      string    `json:"role" db:"role"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	User      string    `json:"user,omitempty" db:"user_name"`
	Team      string    `json:"team,omitempty" db:"team_name"`
	// LastUsedAt and LastUsedFrom are those of the last audited use (see
	// NoteTokenUse): up to TokenAuditInterval behind the last use.
	LastUsedAt   *time.Time `json:"last_used_at,omitempty" db:"last_used_at"`
	LastUsedFrom string     `json:"last_used_from,omitempty" db:"last_used_from"`
	// OwnerDisabled is set when the token's user is disabled.
	OwnerDisabled bool `json:"-" db:"owner_disabled"`
}

// tokenSelect reads tokens with their owners' names.
const tokenSelect = `SELECT k.id, k.name, k.role, k.created_at, COALESCE(u.name, '') AS user_name, COALESCE(t.name, '') AS team_name,
	k.last_used_at, k.last_used_from, COALESCE(u.disabled, false) AS owner_disabled
	FROM api_tokens k LEFT JOIN users u ON u.id = k.user_id LEFT JOIN teams t ON t.id = k.team_id`

func (t *Token) utc() {
	t.CreatedAt = t.CreatedAt.UTC()
	if t.LastUsedAt != nil {
		at := t.LastUsedAt.UTC()
		t.LastUsedAt = &at
	}
}

// TokenSpec is a token to create: a name, a role, and at most one owner.
type TokenSpec struct {
	Name string
	// Role is reader, writer or admin; a token with an owner may have none
	// ("") and then acts only through its owner's permissions.
	Role string
	User string
	Team string
}

func (sp TokenSpec) check() error {
	if sp.User != "" && sp.Team != "" {
		return schema.FieldErrorf(schema.EINVALID, "team", "a token belongs to a user or a team, not both")
	}
	if sp.Role == "" && sp.User == "" && sp.Team == "" {
		return schema.FieldErrorf(schema.EINVALID, "role", "a token of no user or team needs a role (reader, writer or admin)")
	}
	if sp.Role != "" && RoleRank(sp.Role) == 0 {
		return schema.FieldErrorf(schema.EINVALID, "role", "unknown role %q (want reader, writer or admin)", sp.Role)
	}
	if strings.TrimSpace(sp.Name) == "" {
		return schema.FieldErrorf(schema.EINVALID, "name", "a token needs a name")
	}
	return nil
}

// RoleRank orders roles (reader < writer < admin); 0 for an unknown role.
func RoleRank(role string) int {
	switch role {
	case RoleReader:
		return 1
	case RoleWriter:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// HashToken returns the stored form of a token.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken stores a new token with a role and no owner and returns the
// token itself, which is not kept anywhere: the caller shows it once.
func (s *Store) CreateToken(ctx context.Context, name, role string) (string, *Token, error) {
	return s.CreateTokenFor(ctx, By{}, TokenSpec{Name: name, Role: role})
}

// CreateTokenFor stores a new token for sp's owner, if any, records it in
// the audit log, and returns the token itself, shown once.
func (s *Store) CreateTokenFor(ctx context.Context, by By, sp TokenSpec) (string, *Token, error) {
	if err := sp.check(); err != nil {
		return "", nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generate token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := &Token{Name: sp.Name, Role: sp.Role, User: sp.User, Team: sp.Team}
	err := s.InTx(ctx, func(tx *Tx) error {
		t.CreatedAt = tx.now
		owner, err := tokenOwner(ctx, tx, sp)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO api_tokens (name, role, hash, created_at, user_id, team_id) VALUES (?, ?, ?, ?, ?, ?)"),
			t.Name, t.Role, HashToken(secret), t.CreatedAt, owner.user, owner.team)
		if err != nil {
			err = mapError(err)
			if schema.ErrorCode(err) == schema.ECONFLICT {
				return schema.FieldErrorf(schema.ECONFLICT, "name", "a token named %q exists", sp.Name)
			}
			return fmt.Errorf("create token: %w", err)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditTokenCreate, Target: t.Name, Detail: t.describe(), Success: true})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

func (t *Token) describe() string {
	d := "role=" + t.Role
	if t.User != "" {
		d += " user=" + t.User
	}
	if t.Team != "" {
		d += " team=" + t.Team
	}
	return d
}

// owner is a token's owner as row ids; nil for none.
type owner struct{ user, team *int64 }

func tokenOwner(ctx context.Context, tx *Tx, sp TokenSpec) (owner, error) {
	var o owner
	if sp.User != "" {
		u, err := userTx(ctx, tx, sp.User)
		if err != nil {
			return o, err
		}
		o.user = &u.ID
	}
	if sp.Team != "" {
		t, err := teamTx(ctx, tx, sp.Team)
		if err != nil {
			return o, err
		}
		o.team = &t.ID
	}
	return o, nil
}

// Tokens lists the tokens by name.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := sqlx.SelectContext(ctx, s.db, &out, tokenSelect+" ORDER BY k.name")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", mapError(err))
	}
	for i := range out {
		out[i].utc()
	}
	return out, nil
}

// RevokeToken deletes the named token.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	return s.RevokeTokenBy(ctx, By{}, name)
}

// RevokeTokenBy deletes the named token and records it in the audit log.
func (s *Store) RevokeTokenBy(ctx context.Context, by By, name string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM api_tokens WHERE name = ?"), name)
		if err != nil {
			return fmt.Errorf("revoke token: %w", mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return schema.FieldErrorf(schema.ENOTFOUND, "name", "no token named %q", name)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditTokenRevoke, Target: name, Success: true})
	})
}

// HasTokens reports whether any token exists: from then on the server
// requires one on every request.
func (s *Store) HasTokens(ctx context.Context) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM (SELECT 1 FROM api_tokens LIMIT 1) t")
	if err != nil {
		return false, fmt.Errorf("check tokens: %w", mapError(err))
	}
	return n > 0, nil
}

// Authenticate returns the token whose hash matches secret, or an
// unauthorized error; a token of a disabled user is refused.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Token, error) {
	var t Token
	err := s.db.GetContext(ctx, &t, s.db.Rebind(tokenSelect+" WHERE k.hash = ?"), HashToken(secret))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.EUNAUTHORIZED, "invalid token")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", mapError(err))
	}
	if t.OwnerDisabled {
		return nil, schema.Errorf(schema.EUNAUTHORIZED, "token %q belongs to user %s, who is disabled", t.Name, t.User)
	}
	t.utc()
	return &t, nil
}

// TokenAuditInterval is how often the use of a token from one address is
// audited: its first use from an address, then again an hour after the
// last audited use. Authentication writes nothing in between.
const TokenAuditInterval = time.Hour

// NoteTokenUse audits a use of t from addr when the rule of
// TokenAuditInterval says so, and records it as the token's last use. It
// reports whether it wrote; of concurrent first uses only one does.
func (s *Store) NoteTokenUse(ctx context.Context, t *Token, addr string) (bool, error) {
	now := s.Now()
	due := now.Add(-TokenAuditInterval)
	if t.LastUsedAt != nil && t.LastUsedFrom == addr && t.LastUsedAt.After(due) {
		return false, nil
	}
	wrote := false
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE api_tokens SET last_used_at = ?, last_used_from = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_from <> ? OR last_used_at <= ?)`), now, addr, t.ID, addr, due)
		if err != nil {
			return fmt.Errorf("note use of token %q: %w", t.Name, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another request noted it
		}
		wrote = true
		return tx.Audit(ctx, AuditRecord{At: now, Actor: t.Name, Action: AuditTokenUse, Target: t.Name, Detail: t.describe(), RemoteAddr: addr, Success: true})
	})
	if err != nil {
		return false, err
	}
	t.LastUsedAt, t.LastUsedFrom = &now, addr
	return wrote, nil
}
