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

// LockInfo names who holds a scope's lock: the run, and what that run is.
type LockInfo struct {
	Scope      string    `json:"scope" db:"scope"`
	Holder     string    `json:"run" db:"holder"` // the holding run's id
	AcquiredAt time.Time `json:"acquired_at" db:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at" db:"expires_at"`
	RunKind    string    `json:"kind" db:"kind"`
	RunSource  string    `json:"source" db:"source"`
	Process    string    `json:"process" db:"process"` // "host pid N"
}

func (l *LockInfo) String() string {
	what := "run " + l.Holder
	if l.RunKind != "" {
		what = fmt.Sprintf("run %s (%s %s, %s)", l.Holder, l.RunKind, l.RunSource, l.Process)
	}
	return fmt.Sprintf("%s is locked by %s since %s", l.Scope, what, l.AcquiredAt.UTC().Format(time.RFC3339))
}

const lockCols = `l.scope, l.holder, l.acquired_at, l.expires_at, COALESCE(r.kind, '') AS kind, COALESCE(r.source, '') AS source,
	COALESCE(r.holder, '') AS process`

// Lock takes the exclusive lock of scope ("apply:vsphere:vc1",
// "schedule:nightly") for the run, on the run's lease; the heartbeat
// renews it and Finish frees it. A lock whose lease ran out is taken over,
// and the run that held it is marked interrupted. Taking a lock the run
// holds already succeeds. Otherwise Lock fails at once with ELOCKED naming
// the holding run. The same row-and-lease lock serves SQLite and
// PostgreSQL, so both behave alike (and a connection pooler in front of
// PostgreSQL breaks nothing).
func (r *Run) Lock(ctx context.Context, scope string) error {
	err := r.s.InTx(ctx, func(tx *Tx) error {
		cur, err := lockOf(ctx, tx, tx.Rebind, scope)
		if err != nil {
			return err
		}
		if cur != nil && cur.Holder != r.ID && !cur.ExpiresAt.Before(tx.now) {
			return lockedError(cur, r.lease)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO locks (scope, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			WHERE locks.expires_at < ? OR locks.holder = excluded.holder`),
			scope, r.ID, tx.now.UTC(), tx.now.Add(r.lease).UTC(), tx.now.UTC())
		if err != nil {
			return fmt.Errorf("lock %s: %w", scope, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 { // another run took it between our read and write
			if cur, err = lockOf(ctx, tx, tx.Rebind, scope); err == nil && cur != nil {
				return lockedError(cur, r.lease)
			}
			return schema.Errorf(schema.ELOCKED, "%s is locked by another run; try again when it has finished", scope)
		}
		if cur != nil && cur.Holder != r.ID {
			return interrupt(ctx, tx, tx.Rebind, cur.Holder, fmt.Sprintf("its lease on %s ran out (taken over by %s run %s)", scope, r.Kind, r.ID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.locks[scope] = true
	r.mu.Unlock()
	return nil
}

// lockOf reads scope's lock with its run; nil when it is free.
func lockOf(ctx context.Context, q sqlx.QueryerContext, rebind func(string) string, scope string) (*LockInfo, error) {
	var cur LockInfo
	err := sqlx.GetContext(ctx, q, &cur, rebind("SELECT "+lockCols+" FROM locks l LEFT JOIN runs r ON r.id = l.holder WHERE l.scope = ?"), scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", scope, mapError(err))
	}
	cur.AcquiredAt, cur.ExpiresAt = cur.AcquiredAt.UTC(), cur.ExpiresAt.UTC()
	return &cur, nil
}

func lockedError(cur *LockInfo, lease time.Duration) error {
	return schema.Errorf(schema.ELOCKED, "%s; try again when it has finished (if its process died, the lock frees within %s, or run tana unlock %s)",
		cur, lease, cur.Scope)
}

// Locks lists the locks held now, with their runs.
func (s *Store) Locks(ctx context.Context) ([]LockInfo, error) {
	var out []LockInfo
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind("SELECT "+lockCols+" FROM locks l LEFT JOIN runs r ON r.id = l.holder WHERE l.expires_at >= ? ORDER BY l.scope"),
		s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("load locks: %w", mapError(err))
	}
	for i := range out {
		out[i].AcquiredAt, out[i].ExpiresAt = out[i].AcquiredAt.UTC(), out[i].ExpiresAt.UTC()
	}
	return out, nil
}

// Unlock frees scope's lock whoever holds it — for a person, when a holder
// is stuck — and marks the holding run interrupted; a live holder notices
// at its next heartbeat and stops. It returns the lock it freed.
func (s *Store) Unlock(ctx context.Context, scope, by string) (*LockInfo, error) {
	var freed *LockInfo
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := lockOf(ctx, tx, tx.Rebind, scope)
		if err != nil {
			return err
		}
		if cur == nil {
			return schema.FieldErrorf(schema.ENOTFOUND, "scope", "%s is not locked", scope)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM locks WHERE scope = ?"), scope); err != nil {
			return fmt.Errorf("unlock %s: %w", scope, mapError(err))
		}
		freed = cur
		return interrupt(ctx, tx, tx.Rebind, cur.Holder, fmt.Sprintf("%s was unlocked by %s", scope, by))
	})
	return freed, err
}
