package reconcile

import (
	"context"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
)

// Watch follows a source's change feed until ctx ends: each full snapshot
// is reconciled as a collection; each change is reconciled as an
// incomplete snapshot of what changed, so it updates and creates but never
// deletes; an object the source reports destroyed marks its entry stale at
// once, and the next complete snapshot carries on from there (drift, then
// soft delete after the type's window). report, if set, gets every run.
func (e *Engine) Watch(ctx context.Context, source string, w collectors.Watcher, report func(RunSummary)) error {
	done := func(sum *RunSummary, err error) error {
		if err == nil && report != nil {
			report(*sum)
		}
		return err
	}
	full := func(s *collectors.Snapshot) error { return done(e.Reconcile(ctx, s)) }
	change := func(ch collectors.Change) error {
		now := e.now()
		snap := &collectors.Snapshot{Source: source, Scope: ch.Scope, Types: ch.Types, Objects: ch.Upserts, StartedAt: now, FinishedAt: now}
		snap.Kind, _, _ = strings.Cut(ch.Scope, ":")
		if len(snap.Objects) > 0 {
			if err := done(e.Reconcile(ctx, snap)); err != nil {
				return err
			}
		}
		return e.markGone(ctx, ch.Scope, ch.Deletes)
	}
	return w.Watch(ctx, full, change)
}

// markGone marks the entries bound to objects a source reported destroyed
// as stale. Only a complete snapshot may go further.
func (e *Engine) markGone(ctx context.Context, scope string, gone []collectors.Ref) error {
	if len(gone) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, r := range gone {
		want[r.ID] = true
	}
	var ids []int64
	err := e.store.EachBinding(ctx, scope, func(objectID string, entryID int64) {
		if want[objectID] {
			ids = append(ids, entryID)
		}
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	e.log.Info("objects reported destroyed: entries marked stale", "scope", scope, "entries", len(ids))
	return e.store.InTx(ctx, func(tx *inventory.Tx) error { return tx.SetStatus(ctx, inventory.StatusStale, ids) })
}
