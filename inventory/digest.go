package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// DigestRecord is what a schedule posted last when it posts only on
// change: the report it sent and the fingerprint of that report's open
// drift.
type DigestRecord struct {
	Schedule    string    `json:"schedule" db:"schedule"`
	ReportID    string    `json:"report_id" db:"report_id"`
	Fingerprint string    `json:"fingerprint" db:"fingerprint"`
	SentAt      time.Time `json:"sent_at" db:"sent_at"`
}

// LastDigest returns what a schedule posted last; ENOTFOUND if it never
// posted.
func (s *Store) LastDigest(ctx context.Context, schedule string) (*DigestRecord, error) {
	var d DigestRecord
	err := sqlx.GetContext(ctx, s.db, &d, s.db.Rebind("SELECT schedule, report_id, fingerprint, sent_at FROM report_digests WHERE schedule = ?"), schedule)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.ENOTFOUND, "schedule %s has posted no digest", schedule)
	}
	if err != nil {
		return nil, fmt.Errorf("load last digest of schedule %s: %w", schedule, mapError(err))
	}
	d.SentAt = d.SentAt.UTC()
	return &d, nil
}

// SaveDigest records what a schedule posted, replacing what it posted
// before.
func (s *Store) SaveDigest(ctx context.Context, d *DigestRecord) error {
	if d.SentAt.IsZero() {
		d.SentAt = s.Now()
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO report_digests (schedule, report_id, fingerprint, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (schedule) DO UPDATE SET report_id = excluded.report_id, fingerprint = excluded.fingerprint, sent_at = excluded.sent_at`),
		d.Schedule, d.ReportID, d.Fingerprint, d.SentAt.UTC())
	if err != nil {
		return fmt.Errorf("save digest of schedule %s: %w", d.Schedule, mapError(err))
	}
	return nil
}
