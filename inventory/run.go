package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// RunRecord is one collection, reconcile, apply or schedule run.
type RunRecord struct {
	ID        string        `json:"id" db:"id"`
	Kind      string        `json:"kind" db:"kind"` // collect, reconcile, apply, schedule
	Source    string        `json:"source" db:"source"`
	Status    string        `json:"status" db:"status"` // ok, failed, partial, limited
	StartedAt time.Time     `json:"started_at" db:"started_at"`
	Duration  time.Duration `json:"duration" db:"-"`
	DurMS     int64         `json:"-" db:"duration_ms"`
	Objects   int           `json:"objects" db:"objects"`
	Changes   int           `json:"changes" db:"changes"`
	Errors    []string      `json:"errors,omitempty" db:"-"`
	RawErrors string        `json:"-" db:"errors"`
	Detail    string        `json:"detail,omitempty" db:"detail"`
}

// RecordRun stores a run; an empty ID gets a new one.
func (s *Store) RecordRun(ctx context.Context, r *RunRecord) error {
	if r.ID == "" {
		r.ID = uuid.Must(uuid.NewV7()).String()
	}
	errs, _ := json.Marshal(orEmpty(r.Errors))
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO runs (id, kind, source, status, started_at, duration_ms, objects, changes, errors, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Kind, r.Source, r.Status, r.StartedAt.UTC(), r.Duration.Milliseconds(), r.Objects, r.Changes, string(errs), r.Detail)
	if err != nil {
		return fmt.Errorf("record %s run of %s: %w", r.Kind, r.Source, mapError(err))
	}
	return nil
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	Kind   string
	Source string
	Since  time.Time
	Limit  int
}

// Runs returns runs, newest first.
func (s *Store) Runs(ctx context.Context, f RunFilter) ([]RunRecord, error) {
	query, args := "SELECT * FROM runs WHERE started_at >= ?", []any{f.Since.UTC()}
	if f.Kind != "" {
		query += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.Source != "" {
		query += " AND source = ?"
		args = append(args, f.Source)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	query += fmt.Sprintf(" ORDER BY started_at DESC, id DESC LIMIT %d", f.Limit)
	var out []RunRecord
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("load runs: %w", mapError(err))
	}
	for i := range out {
		r := &out[i]
		r.StartedAt, r.Duration = r.StartedAt.UTC(), time.Duration(r.DurMS)*time.Millisecond
		if err := json.Unmarshal([]byte(r.RawErrors), &r.Errors); err != nil {
			return nil, fmt.Errorf("decode run %s: %w", r.ID, err)
		}
	}
	return out, nil
}
