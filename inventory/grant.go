package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"database/sql"

	"github.com/jmoiron/sqlx"

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

// The audit actions of grants.
const (
	AuditGrant  = "grant"
	AuditRevoke = "revoke"
)

// AddGrant stores a grant, sets its id and time, and records it in the
// audit log as given by by (detail: how the grant reads).
func (s *Store) AddGrant(ctx context.Context, by By, g *GrantRecord, detail string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		g.CreatedAt = tx.now.UTC()
		var err error
		g.ID, err = insertID(ctx, tx, "INSERT INTO grants (subject, level, type, attr, filter, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			g.Subject, g.Level, g.Type, g.Attr, g.Filter, g.CreatedBy, g.CreatedAt)
		if err != nil {
			return fmt.Errorf("store grant: %w", err)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditGrant,
			Target: fmt.Sprintf("grant %d", g.ID), Detail: detail, Success: true})
	})
}

// RemoveGrant deletes a grant, records it in the audit log as revoked by
// by, and returns it; describe says how the grant read.
func (s *Store) RemoveGrant(ctx context.Context, by By, id int64, describe func(GrantRecord) string) (*GrantRecord, error) {
	var g GrantRecord
	err := s.InTx(ctx, func(tx *Tx) error {
		err := sqlx.GetContext(ctx, tx, &g, tx.Rebind("SELECT "+grantCols+" FROM grants WHERE id = ?"), id)
		if errors.Is(err, sql.ErrNoRows) {
			return schema.FieldErrorf(schema.ENOTFOUND, "id", "no grant %d", id)
		}
		if err != nil {
			return fmt.Errorf("load grant %d: %w", id, mapError(err))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM grants WHERE id = ?"), id); err != nil {
			return fmt.Errorf("remove grant %d: %w", id, mapError(err))
		}
		g.CreatedAt = g.CreatedAt.UTC()
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditRevoke,
			Target: fmt.Sprintf("grant %d", id), Detail: describe(g), Success: true})
	})
	if err != nil {
		return nil, err
	}
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
