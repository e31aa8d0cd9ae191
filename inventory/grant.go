package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// GrantRecord is a permission as stored: a level granted to a subject on
// a type, an attribute and the entries matching a filter. Package access
// gives it meaning; the store only keeps it.
type GrantRecord struct {
	ID        int64     `json:"id" db:"id"`
	Subject   string    `json:"subject" db:"subject"` // user:NAME, team:NAME, role:R, anyone
	Level     string    `json:"level" db:"level"`
	Type      string    `json:"type,omitempty" db:"type"`
	Attr      string    `json:"attr,omitempty" db:"attr"`
	Filter    string    `json:"filter,omitempty" db:"filter"` // JSON list of conditions; "" for every entry
	CreatedBy string    `json:"created_by" db:"created_by"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

const grantCols = "id, subject, level, type, attr, filter, created_by, created_at"

// AddGrant stores a grant and sets its id and time.
func (s *Store) AddGrant(ctx context.Context, g *GrantRecord) error {
	g.CreatedAt = s.Now().UTC()
	args := []any{g.Subject, g.Level, g.Type, g.Attr, g.Filter, g.CreatedBy, g.CreatedAt}
	query := "INSERT INTO grants (subject, level, type, attr, filter, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
	if s.dialect == migrations.Postgres {
		if err := s.db.GetContext(ctx, &g.ID, s.db.Rebind(query+" RETURNING id"), args...); err != nil {
			return fmt.Errorf("store grant: %w", mapError(err))
		}
		return nil
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store grant: %w", mapError(err))
	}
	g.ID, err = res.LastInsertId()
	return err
}

// RemoveGrant deletes a grant and returns it.
func (s *Store) RemoveGrant(ctx context.Context, id int64) (*GrantRecord, error) {
	var g GrantRecord
	err := sqlx.GetContext(ctx, s.db, &g, s.db.Rebind("SELECT "+grantCols+" FROM grants WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.FieldErrorf(schema.ENOTFOUND, "id", "no grant %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load grant %d: %w", id, mapError(err))
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM grants WHERE id = ?"), id); err != nil {
		return nil, fmt.Errorf("remove grant %d: %w", id, mapError(err))
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return &g, nil
}

// Grants returns every grant, oldest first.
func (s *Store) Grants(ctx context.Context) ([]GrantRecord, error) {
	var out []GrantRecord
	if err := sqlx.SelectContext(ctx, s.db, &out, "SELECT "+grantCols+" FROM grants ORDER BY id"); err != nil {
		return nil, fmt.Errorf("load grants: %w", mapError(err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
