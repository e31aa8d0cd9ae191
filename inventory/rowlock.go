package inventory

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// A write that carries no version from its caller (an import, a collect's
// create batch, a delete with version 0) merges into the entry as it is
// when the write runs, never as it was when the batch read it: it holds
// the entry's row lock from its read to its commit. On SQLite the
// transaction holds the database's one write lock from BEGIN IMMEDIATE
// on, so what it reads cannot change; on PostgreSQL (READ COMMITTED) the
// entries are locked with SELECT … FOR UPDATE.

// forUpdate is the clause that locks the rows a read in a transaction
// returns: " FOR UPDATE" on PostgreSQL, nothing on SQLite.
func (tx *Tx) forUpdate() string {
	if tx.s.dialect == migrations.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// maxRelock bounds the rounds of lockMatched: each needs a concurrent
// writer to have changed one of the batch's entries in the moment between
// its match and its lock.
const maxRelock = 5

// lockMatched locks the entries the writes matched (w.old), in id order
// so that two batches cannot deadlock on them, and matches again the
// writes whose entry changed between the match and the lock (a newer
// version, a rename, a delete). On return every w.old is locked and
// current.
func (tx *Tx) lockMatched(ctx context.Context, ws []*write) error {
	if tx.s.dialect != migrations.Postgres {
		return nil
	}
	locked := map[int64]bool{}
	for range maxRelock {
		stale, err := tx.lockRows(ctx, ws, locked)
		if err != nil || len(stale) == 0 {
			return err
		}
		if err := tx.matchExisting(ctx, stale); err != nil {
			return err
		}
		ws = stale
	}
	return schema.Errorf(schema.EBUSY, "the entries of this batch keep changing under it; retry")
}

// lockRows locks the entries of ws not locked yet and returns the writes
// whose entry has a newer version than the one they read.
func (tx *Tx) lockRows(ctx context.Context, ws []*write, locked map[int64]bool) ([]*write, error) {
	var ids []int64
	for _, w := range ws {
		if w.old != nil && !locked[w.old.ID] {
			ids = append(ids, w.old.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var rows []struct {
		ID      int64 `db:"id"`
		Version int64 `db:"version"`
	}
	err := sqlx.SelectContext(ctx, tx, &rows, "SELECT id, version FROM entries WHERE id = ANY($1) ORDER BY id FOR UPDATE", ids)
	if err != nil {
		return nil, fmt.Errorf("lock %d entries: %w", len(ids), mapError(err))
	}
	version := make(map[int64]int64, len(rows))
	for _, r := range rows {
		version[r.ID] = r.Version
	}
	var stale []*write
	for _, w := range ws {
		if w.old == nil || locked[w.old.ID] {
			continue
		}
		if version[w.old.ID] != w.old.Version {
			stale = append(stale, w)
		}
	}
	for _, id := range ids {
		locked[id] = true
	}
	return stale, nil
}
