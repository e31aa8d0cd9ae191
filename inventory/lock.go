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
	RunStatus  string    `json:"-" db:"run_status"`
	process
}

func (l *LockInfo) String() string {
	what := "run " + l.Holder
	if l.RunKind != "" {
		what = fmt.Sprintf("run %s (%s %s, %s)", l.Holder, l.RunKind, l.RunSource, l.Process)
	}
	return fmt.Sprintf("%s is locked by %s since %s", l.Scope, what, l.AcquiredAt.UTC().Format(time.RFC3339))
}

const lockCols = `l.scope, l.holder, l.acquired_at, l.expires_at, COALESCE(r.kind, '') AS kind, COALESCE(r.source, '') AS source,
	COALESCE(r.holder, '') AS process, COALESCE(r.status, '') AS run_status, COALESCE(r.host, '') AS host, COALESCE(r.pid, 0) AS pid,
	COALESCE(r.pid_start, 0) AS pid_start`

// Lock takes the exclusive lock of scope ("apply:vsphere:vc1",
// "schedule:nightly") for the run, on the run's lease; the heartbeat
// renews it and Finish frees it. Taking a lock the run holds already
// succeeds. A lock held by another run is taken over when that run is
// over: its process is gone (told at once on the same host), its run
// ended without freeing it, or — for a holder on another host — its lease
// ran out; the run that held it is marked interrupted. A live process's
// lock on this host is never taken, even with its heartbeat late (a long
// SQLite write of another process). Otherwise Lock fails at once with
// ELOCKED naming the holding run. The same row lock serves SQLite and
// PostgreSQL (no session state: a connection pooler breaks nothing).
func (r *Run) Lock(ctx context.Context, scope string) error {
	err := r.s.InTx(ctx, func(tx *Tx) error {
		cur, err := lockOf(ctx, tx, tx.Rebind, scope)
		if err != nil {
			return err
		}
		over := ""
		if cur != nil && cur.Holder != r.ID {
			if !cur.over(r.s.proc, tx.now) {
				return lockedError(cur, r.lease)
			}
			over = cur.Holder
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO locks (scope, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at ELSE excluded.acquired_at END
			WHERE locks.holder = excluded.holder OR locks.holder = ?`),
			scope, r.ID, tx.now.UTC(), tx.now.Add(r.lease).UTC(), over)
		if err != nil {
			return fmt.Errorf("lock %s: %w", scope, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 { // another run took it between our read and write
			if cur, err = lockOf(ctx, tx, tx.Rebind, scope); err == nil && cur != nil {
				return lockedError(cur, r.lease)
			}
			return schema.Errorf(schema.ELOCKED, "%s is locked by another run; try again when it has finished", scope)
		}
		if over != "" {
			return interrupt(ctx, tx, tx.Rebind, over, fmt.Sprintf("its process is gone or its lease on %s ran out (taken over by %s run %s)", scope, r.Kind, r.ID))
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

// over tells whether the run holding a lock is over, as seen from self at
// now: its run ended, its process on this host is gone, or — when that
// cannot be told — its lease ran out.
func (l *LockInfo) over(self process, now time.Time) bool {
	if l.RunStatus != RunRunning {
		return true // ended (or unknown) without freeing it
	}
	if alive, known := l.alive(self); known {
		return !alive
	}
	return l.ExpiresAt.Before(now)
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
	return schema.Errorf(schema.ELOCKED, "%s; try again when it has finished (a dead holder frees it by itself: at once on its host, within %s elsewhere; a hung one: tana unlock %s)",
		cur, lease, cur.Scope)
}

// Locks lists the locks held now, with their runs.
func (s *Store) Locks(ctx context.Context) ([]LockInfo, error) {
	var out []LockInfo
	err := sqlx.SelectContext(ctx, s.db, &out, "SELECT "+lockCols+" FROM locks l LEFT JOIN runs r ON r.id = l.holder ORDER BY l.scope")
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
