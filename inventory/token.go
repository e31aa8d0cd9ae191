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

// Token is an API token as stored: its hash, never the token itself.
type Token struct {
	ID        int64     `json:"id" db:"id"`
	Name      string    `json:"name" db:"name"`
	Role      string    `json:"role" db:"role"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
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

// CreateToken stores a new token with a role and returns the token itself,
// which is not kept anywhere: the caller shows it once.
func (s *Store) CreateToken(ctx context.Context, name, role string) (string, *Token, error) {
	if RoleRank(role) == 0 {
		return "", nil, schema.FieldErrorf(schema.EINVALID, "role", "unknown role %q (want reader, writer or admin)", role)
	}
	if strings.TrimSpace(name) == "" {
		return "", nil, schema.FieldErrorf(schema.EINVALID, "name", "a token needs a name")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generate token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := &Token{Name: name, Role: role, CreatedAt: s.Now()}
	_, err := s.db.ExecContext(ctx, s.db.Rebind("INSERT INTO api_tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)"),
		t.Name, t.Role, HashToken(secret), t.CreatedAt)
	if err != nil {
		err = mapError(err)
		if schema.ErrorCode(err) == schema.ECONFLICT {
			return "", nil, schema.FieldErrorf(schema.ECONFLICT, "name", "a token named %q exists", name)
		}
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Tokens lists the tokens by name.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := sqlx.SelectContext(ctx, s.db, &out, "SELECT id, name, role, created_at FROM api_tokens ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", mapError(err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// RevokeToken deletes the named token.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM api_tokens WHERE name = ?"), name)
	if err != nil {
		return fmt.Errorf("revoke token: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.FieldErrorf(schema.ENOTFOUND, "name", "no token named %q", name)
	}
	return nil
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
// unauthorized error.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Token, error) {
	var t Token
	err := s.db.GetContext(ctx, &t, s.db.Rebind("SELECT id, name, role, created_at FROM api_tokens WHERE hash = ?"), HashToken(secret))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.EUNAUTHORIZED, "invalid token")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", mapError(err))
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}
