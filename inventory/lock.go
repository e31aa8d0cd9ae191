package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// LockInfo names who holds a scope's lock.
type LockInfo struct {
	Scope      string    `db:"scope"`
	Holder     string    `db:"holder"`
	AcquiredAt time.Time `db:"acquired_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

// Lock takes the exclusive lock of scope ("apply:vsphere:vc1",
// "schedule:nightly") for holder, or fails with ELOCKED naming the holder.
// On PostgreSQL a session advisory lock on a dedicated connection is the
// lock, so a crashed holder releases it with its connection; the row only
// names the holder. On SQLite the row is the lock, and ttl lets a crashed
// holder's row expire. Call release when done.
func (s *Store) Lock(ctx context.Context, scope, holder string, ttl time.Duration) (release func(), err error) {
	if s.dialect == migrations.Postgres {
		return s.lockPostgres(ctx, scope, holder, ttl)
	}
	return s.lockRow(ctx, scope, holder, ttl)
}

func (s *Store) lockPostgres(ctx context.Context, scope, holder string, ttl time.Duration) (func(), error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", scope, mapError(err))
	}
	var ok bool
	if err := conn.GetContext(ctx, &ok, "SELECT pg_try_advisory_lock(hashtext($1))", "tana:"+scope); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %s: %w", scope, mapError(err))
	}
	if !ok {
		conn.Close()
		return nil, s.lockedError(ctx, scope)
	}
	now := s.Now()
	_, err = conn.ExecContext(ctx, `INSERT INTO locks (scope, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
		scope, holder, now, now.Add(ttl))
	release := func() {
		bg := context.WithoutCancel(ctx)
		conn.ExecContext(bg, "DELETE FROM locks WHERE scope = $1 AND holder = $2", scope, holder)
		conn.ExecContext(bg, "SELECT pg_advisory_unlock(hashtext($1))", "tana:"+scope)
		conn.Close()
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("lock %s: %w", scope, mapError(err))
	}
	return release, nil
}

func (s *Store) lockRow(ctx context.Context, scope, holder string, ttl time.Duration) (func(), error) {
	err := s.InTx(ctx, func(tx *Tx) error {
		var cur LockInfo
		err := sqlx.GetContext(ctx, tx, &cur, tx.Rebind("SELECT scope, holder, acquired_at, expires_at FROM locks WHERE scope = ?"), scope)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("lock %s: %w", scope, mapError(err))
		}
		if err == nil && cur.Holder != holder && cur.ExpiresAt.After(tx.now) {
			return lockedBy(scope, &cur)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO locks (scope, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`),
			scope, holder, tx.now, tx.now.Add(ttl))
		if err != nil {
			return fmt.Errorf("lock %s: %w", scope, mapError(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() {
		s.db.ExecContext(context.WithoutCancel(ctx), s.db.Rebind("DELETE FROM locks WHERE scope = ? AND holder = ?"), scope, holder)
	}, nil
}

// lockedError reads who holds scope for the message.
func (s *Store) lockedError(ctx context.Context, scope string) error {
	var cur LockInfo
	err := sqlx.GetContext(ctx, s.db, &cur, s.db.Rebind("SELECT scope, holder, acquired_at, expires_at FROM locks WHERE scope = ?"), scope)
	if err != nil {
		return schema.Errorf(schema.ELOCKED, "%s is locked by another apply; try again when it has finished", scope)
	}
	return lockedBy(scope, &cur)
}

func lockedBy(scope string, cur *LockInfo) error {
	return schema.Errorf(schema.ELOCKED, "%s is locked by %s since %s; try again when it has finished",
		scope, cur.Holder, cur.AcquiredAt.UTC().Format(time.RFC3339))
}
