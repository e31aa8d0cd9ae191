package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// SnapshotRecord is a stored collection: its scope, completeness, counts
// and the snapshot itself as JSON (Data), which the store does not read.
type SnapshotRecord struct {
	ID         string    `json:"id" db:"id"`
	Scope      string    `json:"scope" db:"scope"`
	Source     string    `json:"source" db:"source"`
	Kind       string    `json:"kind" db:"kind"`
	Complete   bool      `json:"complete" db:"complete"`
	Objects    int       `json:"objects" db:"objects"`
	Errors     []string  `json:"errors,omitempty" db:"-"`
	RawErrors  string    `json:"-" db:"errors"`
	StartedAt  time.Time `json:"started_at" db:"started_at"`
	FinishedAt time.Time `json:"finished_at" db:"finished_at"`
	Data       string    `json:"-" db:"data"`
}

// SaveSnapshot stores a snapshot record.
func (tx *Tx) SaveSnapshot(ctx context.Context, r *SnapshotRecord) error {
	errs, _ := json.Marshal(orEmpty(r.Errors))
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO snapshots (id, scope, source, kind, complete, objects, errors,
		started_at, finished_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Scope, r.Source, r.Kind, r.Complete, r.Objects, string(errs), r.StartedAt.UTC(), r.FinishedAt.UTC(), r.Data)
	if err != nil {
		return fmt.Errorf("store snapshot of %s: %w", r.Scope, mapError(err))
	}
	return nil
}

const snapshotCols = "id, scope, source, kind, complete, objects, errors, started_at, finished_at"

// Snapshot returns a stored snapshot with its data.
func (s *Store) Snapshot(ctx context.Context, id string) (*SnapshotRecord, error) {
	var r SnapshotRecord
	err := sqlx.GetContext(ctx, s.db, &r, s.db.Rebind("SELECT "+snapshotCols+", data FROM snapshots WHERE id = ?"), id)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "snapshot %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load snapshot %s: %w", id, mapError(err))
	}
	return r.decode()
}

// LastSnapshot returns the newest snapshot of a scope, without data;
// completeOnly skips incomplete ones. Not found when there is none.
func (s *Store) LastSnapshot(ctx context.Context, scope string, completeOnly bool) (*SnapshotRecord, error) {
	where := "scope = ?"
	if completeOnly {
		where += " AND complete = ?"
	}
	args := []any{scope}
	if completeOnly {
		args = append(args, true)
	}
	var r SnapshotRecord
	err := sqlx.GetContext(ctx, s.db, &r, s.db.Rebind("SELECT "+snapshotCols+" FROM snapshots WHERE "+where+
		" ORDER BY finished_at DESC, id DESC LIMIT 1"), args...)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "no snapshot of %s yet", scope)
	}
	if err != nil {
		return nil, fmt.Errorf("load last snapshot of %s: %w", scope, mapError(err))
	}
	return r.decode()
}

// PruneSnapshots drops the data of all but the newest keep snapshots of a
// scope, keeping their records (counts, completeness) for reports.
func (s *Store) PruneSnapshots(ctx context.Context, scope string, keep int) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(fmt.Sprintf(`UPDATE snapshots SET data = '' WHERE scope = ? AND data <> ''
		AND id NOT IN (SELECT id FROM snapshots WHERE scope = ? ORDER BY finished_at DESC, id DESC LIMIT %d)`, keep)), scope, scope)
	if err != nil {
		return fmt.Errorf("prune snapshots of %s: %w", scope, mapError(err))
	}
	return nil
}

// Snapshots lists stored snapshots, newest first, without their data;
// scope "" lists every scope's.
func (s *Store) Snapshots(ctx context.Context, scope string, limit int) ([]SnapshotRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	where, args := "", []any{}
	if scope != "" {
		where, args = " WHERE scope = ?", append(args, scope)
	}
	var out []SnapshotRecord
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(fmt.Sprintf("SELECT %s FROM snapshots%s ORDER BY finished_at DESC, id DESC LIMIT %d",
		snapshotCols, where, limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("load snapshots: %w", mapError(err))
	}
	for i := range out {
		if _, err := out[i].decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *SnapshotRecord) decode() (*SnapshotRecord, error) {
	r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
	if err := json.Unmarshal([]byte(r.RawErrors), &r.Errors); err != nil {
		return nil, fmt.Errorf("decode snapshot %s errors: %w", r.ID, err)
	}
	return r, nil
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// SetStatus sets the status (active or stale) of entries without writing
// a version: staleness is what tana observed, not a change of the entry.
func (tx *Tx) SetStatus(ctx context.Context, status string, ids []int64) error {
	if status != StatusActive && status != StatusStale {
		return schema.Errorf(schema.EINVALID, "unknown entry status %q", status)
	}
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("UPDATE entries SET status = ? WHERE id IN (?) AND deleted_at IS NULL", status, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("set status %s: %w", status, mapError(err))
		}
	}
	return nil
}

// EachBinding streams a scope's bindings (object id, entry id) to fn with
// plain scans: reconcile reads every binding of a scope per collection.
func (s *Store) EachBinding(ctx context.Context, scope string, fn func(objectID string, entryID int64)) error {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind("SELECT object_id, entry_id FROM entry_sources WHERE scope = ?"), scope)
	if err != nil {
		return fmt.Errorf("load bindings of %s: %w", scope, mapError(err))
	}
	defer rows.Close()
	var oid string
	var eid int64
	for rows.Next() {
		if err := rows.Scan(&oid, &eid); err != nil {
			return fmt.Errorf("load bindings of %s: %w", scope, err)
		}
		fn(oid, eid)
	}
	return rows.Err()
}
