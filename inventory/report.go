package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// ReportRecord is a stored drift report: a one-line summary and the
// report as JSON; other formats are rendered from it.
type ReportRecord struct {
	ID        string    `json:"id" db:"id"`
	Schedule  string    `json:"schedule,omitempty" db:"schedule"`
	Summary   string    `json:"summary" db:"summary"`
	Data      string    `json:"-" db:"data"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// SaveReport stores a report; an empty ID gets a new one.
func (s *Store) SaveReport(ctx context.Context, r *ReportRecord) error {
	if r.ID == "" {
		r.ID = uuid.Must(uuid.NewV7()).String()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.Now()
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind("INSERT INTO reports (id, schedule, summary, data, created_at) VALUES (?, ?, ?, ?, ?)"),
		r.ID, r.Schedule, r.Summary, r.Data, r.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("store report: %w", mapError(err))
	}
	return nil
}

// Report returns a stored report with its data.
func (s *Store) Report(ctx context.Context, id string) (*ReportRecord, error) {
	var r ReportRecord
	err := sqlx.GetContext(ctx, s.db, &r, s.db.Rebind("SELECT id, schedule, summary, data, created_at FROM reports WHERE id = ?"), id)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "report %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load report %s: %w", id, mapError(err))
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

// Reports returns the newest reports first, without their data.
func (s *Store) Reports(ctx context.Context, limit int) ([]ReportRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []ReportRecord
	err := sqlx.SelectContext(ctx, s.db, &out, fmt.Sprintf("SELECT id, schedule, summary, '' AS data, created_at FROM reports ORDER BY created_at DESC, id DESC LIMIT %d", limit))
	if err != nil {
		return nil, fmt.Errorf("load reports: %w", mapError(err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
