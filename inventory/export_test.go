package inventory

import (
	"context"
	"strings"

	"github.com/tana-cmdb/tana/migrations"
)

// SelectPlanned exposes selectPlanned to the external tests.
func SelectPlanned(ctx context.Context, s *Store, query string) error {
	_, err := s.selectPlanned(ctx, query, nil)
	return err
}

// Abandon stops the run's heartbeat without finishing it, as if its
// process had died.
func (r *Run) Abandon() {
	r.once.Do(func() {
		close(r.stop)
		<-r.stopped
	})
}

// WithoutEntryEvents makes s leave entry events out of its imports, as
// before issue 24: the baseline of BenchmarkUpdateImportEvents.
func WithoutEntryEvents(s *Store, without bool) { s.withoutEntryEvents = without }

// ExplainClaim returns the plan of ClaimDeliveries' query for
// subscription and limit: EXPLAIN (ANALYZE, FORMAT JSON) on PostgreSQL
// (run in a transaction rolled back), the EXPLAIN QUERY PLAN details one
// a line on SQLite.
func ExplainClaim(ctx context.Context, s *Store, subscription string, limit int) (string, error) {
	now := s.now().UTC()
	if s.dialect == migrations.Postgres {
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return "", err
		}
		defer func() { _ = tx.Rollback() }()
		var plan string
		err = tx.GetContext(ctx, &plan, tx.Rebind("EXPLAIN (ANALYZE, FORMAT JSON) "+s.claimSQL()), subscription, now, now, limit)
		return plan, err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind("EXPLAIN QUERY PLAN "+s.claimSQL()), subscription, now, now, limit)
	if err != nil {
		return "", err
	}
	defer func() { _ = rows.Close() }()
	var out strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		out.WriteString(detail + "\n")
	}
	return out.String(), rows.Err()
}
