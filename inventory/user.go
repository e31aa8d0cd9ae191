package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Where a user's password is checked.
const (
	UserLocal = "local" // tana keeps the password hash
	UserLDAP  = "ldap"  // the directory checks it (bind)
)

// User is a person who logs in, as stored. PasswordHash never leaves the
// process (no JSON); Teams is filled by User and Users.
type User struct {
	ID           int64     `json:"-" db:"id"`
	Name         string    `json:"name" db:"name"`
	DisplayName  string    `json:"display_name,omitempty" db:"display_name"`
	PasswordHash string    `json:"-" db:"password_hash"`
	Source       string    `json:"source" db:"source"`
	Role         string    `json:"role,omitempty" db:"role"`
	Disabled     bool      `json:"disabled" db:"disabled"`
	CreatedAt    time.Time `json:"created_at" db:"created_at"`
	UpdatedAt    time.Time `json:"updated_at" db:"updated_at"`
	Teams        []string  `json:"teams,omitempty" db:"-"`
}

const userColumns = "id, name, display_name, password_hash, source, role, disabled, created_at, updated_at"

// maxName is the longest user or team name.
const maxName = 64

// CheckName accepts a user or team name: 1 to 64 letters, digits and
// . _ @ -, starting with a letter or digit. Names end up in LDAP filters,
// audit lines and history, so nothing else gets in.
func CheckName(field, name string) error {
	if name == "" {
		return schema.FieldErrorf(schema.EINVALID, field, "a name is needed")
	}
	if len(name) > maxName {
		return schema.FieldErrorf(schema.EINVALID, field, "longer than %d bytes", maxName)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("._@-", r)
		if !ok {
			return schema.FieldErrorf(schema.EINVALID, field, "%q: want letters, digits and . _ @ - (starting with a letter or digit)", name)
		}
	}
	return nil
}

// checkRole accepts "" (no built-in role) or a token role.
func checkRole(role string) error {
	if role != "" && RoleRank(role) == 0 {
		return schema.FieldErrorf(schema.EINVALID, "role", "unknown role %q (want reader, writer or admin)", role)
	}
	return nil
}

func checkUser(u User) error {
	if err := CheckName("name", u.Name); err != nil {
		return err
	}
	if u.Source != UserLocal && u.Source != UserLDAP {
		return schema.FieldErrorf(schema.EINVALID, "source", "unknown source %q (want local or ldap)", u.Source)
	}
	if u.Source == UserLDAP && u.Name != strings.ToLower(u.Name) {
		return schema.FieldErrorf(schema.EINVALID, "name", "%q: an LDAP user's name is kept in lower case (directories ignore case): %s", u.Name, strings.ToLower(u.Name))
	}
	if u.Source == UserLDAP && u.PasswordHash != "" {
		return schema.FieldErrorf(schema.EINVALID, "password", "an LDAP user's password is the directory's: tana keeps none")
	}
	if len(u.DisplayName) > 256 {
		return schema.FieldErrorf(schema.EINVALID, "display_name", "longer than 256 bytes")
	}
	return checkRole(u.Role)
}

// CreateUser adds a user and records it in the audit log. Source defaults
// to local; a local user without a password hash cannot log in until one
// is set.
func (s *Store) CreateUser(ctx context.Context, by By, u User) (*User, error) {
	if u.Source == "" {
		u.Source = UserLocal
	}
	if err := checkUser(u); err != nil {
		return nil, err
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		u.CreatedAt, u.UpdatedAt = tx.now, tx.now
		var err error
		u.ID, err = insertID(ctx, tx, "INSERT INTO users (name, display_name, password_hash, source, role, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			u.Name, u.DisplayName, u.PasswordHash, u.Source, u.Role, u.Disabled, u.CreatedAt, u.UpdatedAt)
		if schema.ErrorCode(err) == schema.ECONFLICT {
			return schema.FieldErrorf(schema.ECONFLICT, "name", "a user named %q exists", u.Name)
		}
		if err != nil {
			return fmt.Errorf("create user %q: %w", u.Name, err)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditUserAdd, Target: u.Name,
			Detail: describeUser(u), Success: true})
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func describeUser(u User) string {
	d := "source=" + u.Source
	if u.Role != "" {
		d += " role=" + u.Role
	}
	if u.Disabled {
		d += " disabled"
	}
	return d
}

// insertID runs an INSERT and returns the new row's id (RETURNING id works
// on both SQLite and PostgreSQL).
func insertID(ctx context.Context, tx *Tx, query string, args ...any) (int64, error) {
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(query+" RETURNING id"), args...); err != nil {
		return 0, mapError(err)
	}
	return id, nil
}

// User returns the named user with its teams.
func (s *Store) User(ctx context.Context, name string) (*User, error) {
	u, err := userTx(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	if u.Teams, err = userTeams(ctx, s.db, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

func userTx(ctx context.Context, x sqlx.QueryerContext, name string) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, x, &u, rebind(x, "SELECT "+userColumns+" FROM users WHERE name = ?"), name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.FieldErrorf(schema.ENOTFOUND, "user", "no user named %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read user %q: %w", name, mapError(err))
	}
	u.utc()
	return &u, nil
}

func (u *User) utc() { u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC() }

// Users lists the users by name, with their teams.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	out := []User{}
	if err := sqlx.SelectContext(ctx, s.db, &out, "SELECT "+userColumns+" FROM users ORDER BY name"); err != nil {
		return nil, fmt.Errorf("list users: %w", mapError(err))
	}
	teams, err := allMemberships(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].utc()
		out[i].Teams = teams[out[i].ID]
	}
	return out, nil
}

// UserChange is what ChangeUser changes: the fields that are not nil.
type UserChange struct {
	DisplayName  *string
	Role         *string
	Disabled     *bool
	PasswordHash *string
	Source       *string
}

// describe names the changed fields for the audit log (never a hash).
func (c UserChange) describe() string {
	var parts []string
	if c.DisplayName != nil {
		parts = append(parts, fmt.Sprintf("display_name=%q", *c.DisplayName))
	}
	if c.Role != nil {
		parts = append(parts, fmt.Sprintf("role=%q", *c.Role))
	}
	if c.Disabled != nil {
		parts = append(parts, fmt.Sprintf("disabled=%t", *c.Disabled))
	}
	if c.PasswordHash != nil {
		parts = append(parts, "password changed")
	}
	if c.Source != nil {
		parts = append(parts, "source="+*c.Source)
	}
	return strings.Join(parts, " ")
}

// apply returns u with the change made.
func (c UserChange) apply(u User) User {
	if c.DisplayName != nil {
		u.DisplayName = *c.DisplayName
	}
	if c.Role != nil {
		u.Role = *c.Role
	}
	if c.Disabled != nil {
		u.Disabled = *c.Disabled
	}
	if c.PasswordHash != nil {
		u.PasswordHash = *c.PasswordHash
	}
	if c.Source != nil {
		u.Source = *c.Source
		if u.Source == UserLDAP {
			u.PasswordHash = ""
		}
	}
	return u
}

// ChangeUser changes the named user and records the change in the audit
// log. Disabling a user or changing its password ends its web sessions;
// a disabled user's tokens stop working while it is disabled.
func (s *Store) ChangeUser(ctx context.Context, by By, name string, c UserChange) (*User, error) {
	var out *User
	err := s.InTx(ctx, func(tx *Tx) error {
		old, err := userTx(ctx, tx, name)
		if err != nil {
			return err
		}
		u := c.apply(*old)
		if err := checkUser(u); err != nil {
			return err
		}
		u.UpdatedAt = tx.now
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE users SET display_name = ?, password_hash = ?, source = ?, role = ?, disabled = ?, updated_at = ? WHERE id = ?"),
			u.DisplayName, u.PasswordHash, u.Source, u.Role, u.Disabled, u.UpdatedAt, u.ID)
		if err != nil {
			return fmt.Errorf("change user %q: %w", name, mapError(err))
		}
		if u.Disabled && !old.Disabled || c.PasswordHash != nil {
			if err := endUserSessions(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		out = &u
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditUserChange, Target: name, Detail: c.describe(), Success: true})
	})
	if err != nil {
		return nil, err
	}
	if out.Teams, err = userTeams(ctx, s.db, out.ID); err != nil {
		return nil, err
	}
	return out, nil
}

// HasCredentials reports whether any token or user exists: from then on
// the server requires a token or a login on every request.
func (s *Store) HasCredentials(ctx context.Context) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM (SELECT 1 FROM api_tokens UNION ALL SELECT 1 FROM users LIMIT 1) t")
	if err != nil {
		return false, fmt.Errorf("check credentials: %w", mapError(err))
	}
	return n > 0, nil
}
