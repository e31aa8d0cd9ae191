package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/tana-cmdb/tana/inventory"
)

// staleness handles the entries a complete snapshot no longer reports:
// they turn stale, and once unseen for longer than their type's
// delete_after they are soft-deleted with the reason (never hard-deleted);
// entries seen again turn active. It returns the drift still open.
func (e *Engine) staleness(ctx context.Context, tx *inventory.Tx, res *Result, items []Item, sum *RunSummary) ([]Item, error) {
	var active []int64
	for _, eid := range res.seen {
		if en := res.view.byID[eid]; en != nil && en.Status == inventory.StatusStale {
			active = append(active, eid)
		}
	}
	if err := tx.SetStatus(ctx, inventory.StatusActive, active); err != nil {
		return nil, err
	}
	now := e.now()
	var stale []int64
	var expired []Item
	var kept []Item
	for _, it := range items {
		if it.Kind != MissingInReality {
			kept = append(kept, it)
			continue
		}
		p := e.policy(it.Type)
		last, err := e.lastSeen(ctx, it.EntryID)
		if err != nil {
			return nil, err
		}
		unseen := now.Sub(last)
		if p.StaleAfter > 0 && unseen < p.StaleAfter {
			continue // not yet: a VM being moved or re-registered
		}
		if unseen >= p.DeleteAfter {
			it.Message = fmt.Sprintf("not reported by %s since %s (delete_after %s)", it.Scope, last.UTC().Format(time.RFC3339), p.DeleteAfter)
			expired = append(expired, it)
			continue
		}
		if en := res.view.byID[it.EntryID]; en != nil && en.Status != inventory.StatusStale {
			stale = append(stale, it.EntryID)
		}
		kept = append(kept, it)
	}
	if err := tx.SetStatus(ctx, inventory.StatusStale, stale); err != nil {
		return nil, err
	}
	sum.Stale = len(stale)
	n, err := e.expire(ctx, tx, expired, sum)
	if err != nil {
		return nil, err
	}
	sum.Deleted = n
	if n == 0 {
		kept = append(kept, expired...) // held back by the limit: still open
	}
	return kept, nil
}

// expire soft-deletes expired entries, unless there are more than the
// type's max_deletes (then none, with the reason in the run).
func (e *Engine) expire(ctx context.Context, tx *inventory.Tx, expired []Item, sum *RunSummary) (int, error) {
	if len(expired) == 0 {
		return 0, nil
	}
	byType := map[string]int{}
	for _, it := range expired {
		byType[it.Type]++
	}
	for _, t := range sortedKeys(byType) {
		if p := e.policy(t); p.MaxDeletes > 0 && byType[t] > p.MaxDeletes {
			sum.Limited = fmt.Sprintf("safety limit: %d stale %s entries are past delete_after, more than max_deletes %d; none deleted", byType[t], t, p.MaxDeletes)
			return 0, nil
		}
	}
	n := 0
	for _, it := range expired {
		m := e.meta(it.Scope, it.Message)
		if _, err := tx.Delete(ctx, m, it.EntryID, 0); err != nil {
			return 0, fmt.Errorf("delete stale %s %q: %w", it.Type, it.EntryName, err)
		}
		if err := tx.Unbind(ctx, it.Scope, []string{it.ObjectID}); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// ExpireStale soft-deletes stale entries unseen for longer than their
// type's delete_after, without a new collection (schedules call it).
func (e *Engine) ExpireStale(ctx context.Context) (int, error) {
	now, total := e.now(), 0
	for _, t := range e.reg.Types() {
		p := e.policy(t.Name)
		page, err := e.store.Find(ctx, inventory.Query{Type: t.Name, Status: inventory.StatusStale, Limit: inventory.MaxLimit})
		if err != nil {
			return total, err
		}
		for _, en := range page.Entries {
			bs, err := e.store.EntryBindings(ctx, en.ID)
			if err != nil {
				return total, err
			}
			var last time.Time
			for _, b := range bs {
				if b.LastSeen.After(last) {
					last = b.LastSeen
				}
			}
			if len(bs) == 0 || now.Sub(last) < p.DeleteAfter {
				continue
			}
			reason := fmt.Sprintf("stale: not reported since %s (delete_after %s)", last.UTC().Format(time.RFC3339), p.DeleteAfter)
			err = e.store.InTx(ctx, func(tx *inventory.Tx) error {
				if _, err := tx.Delete(ctx, e.meta(bs[0].Scope, reason), en.ID, en.Version); err != nil {
					return err
				}
				for _, b := range bs {
					if err := tx.Unbind(ctx, b.Scope, []string{b.ObjectID}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("expire %s: %w", en, err)
			}
			total++
		}
	}
	return total, nil
}

// lastSeen is when any source last reported the entry.
func (e *Engine) lastSeen(ctx context.Context, entryID int64) (time.Time, error) {
	bs, err := e.store.EntryBindings(ctx, entryID)
	var last time.Time
	for _, b := range bs {
		if b.LastSeen.After(last) {
			last = b.LastSeen
		}
	}
	return last, err
}
