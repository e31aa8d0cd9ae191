package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/tana-cmdb/tana/inventory"
)

// staleness handles the entries a complete snapshot no longer reports:
// they turn stale, and once unseen for longer than their type's
// delete_after they are soft-deleted with the reason (never hard-deleted)
// — unless that is more of a type than its max_deletes: then none of that
// type is deleted and they stay stale, waiting for a person. Entries seen
// again turn active. It returns the drift still open.
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
	var expired, kept []Item
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
		stale = append(stale, it.EntryID)
		kept = append(kept, it)
	}
	deleted, held, limited := e.withinLimits(expired)
	for _, it := range held {
		it.Message += "; held back: " + limited[it.Type]
		stale = append(stale, it.EntryID)
		kept = append(kept, it)
	}
	for _, t := range sortedKeys(limited) {
		sum.Limited = joinMsg(sum.Limited, limited[t])
	}
	stale = e.notYet(res, stale)
	if err := tx.SetStatus(ctx, inventory.StatusStale, stale); err != nil {
		return nil, err
	}
	sum.Stale = len(stale)
	for _, it := range deleted {
		if err := e.expire(ctx, tx, it.EntryID, 0, it.Message, []inventory.Binding{{Scope: it.Scope, ObjectID: it.ObjectID}}); err != nil {
			return nil, fmt.Errorf("delete stale %s %q: %w", it.Type, it.EntryName, err)
		}
	}
	sum.Deleted = len(deleted)
	return kept, nil
}

// notYet keeps the entries of ids that are not stale already.
func (e *Engine) notYet(res *Result, ids []int64) []int64 {
	out := ids[:0]
	for _, id := range ids {
		if en := res.view.byID[id]; en != nil && en.Status != inventory.StatusStale {
			out = append(out, id)
		}
	}
	return out
}

// withinLimits splits expired entries by type: the types with no more than
// their max_deletes go ahead; the others are held back whole, with the
// reason per type.
func (e *Engine) withinLimits(items []Item) (ok, held []Item, limited map[string]string) {
	byType := map[string]int{}
	for _, it := range items {
		byType[it.Type]++
	}
	limited = map[string]string{}
	for t, n := range byType {
		if p := e.policy(t); p.MaxDeletes > 0 && n > p.MaxDeletes {
			limited[t] = fmt.Sprintf("safety limit: %d stale %s entries are past delete_after, more than max_deletes %d; none deleted", n, t, p.MaxDeletes)
		}
	}
	for _, it := range items {
		if limited[it.Type] != "" {
			held = append(held, it)
		} else {
			ok = append(ok, it)
		}
	}
	return ok, held, limited
}

// expire soft-deletes one entry whose window is over and drops its
// bindings; version, when not 0, must still be the entry's.
func (e *Engine) expire(ctx context.Context, tx *inventory.Tx, id, version int64, reason string, bs []inventory.Binding) error {
	scope := ""
	if len(bs) > 0 {
		scope = bs[0].Scope
	}
	if _, err := tx.Delete(ctx, e.meta(scope, reason), id, version); err != nil {
		return err
	}
	for _, b := range bs {
		if err := tx.Unbind(ctx, b.Scope, []string{b.ObjectID}); err != nil {
			return err
		}
	}
	return nil
}

// ExpireResult is what ExpireStale did.
type ExpireResult struct {
	Deleted int
	Limited []string // safety limits that held entries back, one per type
}

// ExpireStale soft-deletes stale entries unseen for longer than their
// type's delete_after, without a new collection (schedules call it). A
// type with more of them than its max_deletes deletes none: they stay
// stale for a person to review, and Limited says so.
func (e *Engine) ExpireStale(ctx context.Context) (ExpireResult, error) {
	var out ExpireResult
	for _, t := range e.reg.Types() {
		due, err := e.dueForDelete(ctx, t.Name)
		if err != nil {
			return out, err
		}
		if p := e.policy(t.Name); p.MaxDeletes > 0 && len(due) > p.MaxDeletes {
			out.Limited = append(out.Limited, fmt.Sprintf("safety limit: %d stale %s entries are past delete_after, more than max_deletes %d; none deleted",
				len(due), t.Name, p.MaxDeletes))
			continue
		}
		for _, d := range due {
			err := e.store.InTx(ctx, func(tx *inventory.Tx) error {
				return e.expire(ctx, tx, d.entry.ID, d.entry.Version, d.reason, d.bindings)
			})
			if err != nil {
				return out, fmt.Errorf("expire %s: %w", d.entry, err)
			}
			out.Deleted++
		}
	}
	return out, nil
}

// due is a stale entry whose delete_after is over.
type due struct {
	entry    *inventory.Entry
	bindings []inventory.Binding
	reason   string
}

// dueForDelete lists the stale entries of typ past their delete_after.
func (e *Engine) dueForDelete(ctx context.Context, typ string) ([]due, error) {
	now, p := e.now(), e.policy(typ)
	var out []due
	q := inventory.Query{Type: typ, Status: inventory.StatusStale, Limit: inventory.MaxLimit}
	for {
		page, err := e.store.Find(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, en := range page.Entries {
			bs, err := e.store.EntryBindings(ctx, en.ID)
			if err != nil {
				return nil, err
			}
			last := latest(bs)
			if len(bs) == 0 || now.Sub(last) < p.DeleteAfter {
				continue
			}
			out = append(out, due{entry: en, bindings: bs,
				reason: fmt.Sprintf("stale: not reported since %s (delete_after %s)", last.UTC().Format(time.RFC3339), p.DeleteAfter)})
		}
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}

// lastSeen is when any source last reported the entry.
func (e *Engine) lastSeen(ctx context.Context, entryID int64) (time.Time, error) {
	bs, err := e.store.EntryBindings(ctx, entryID)
	return latest(bs), err
}

func latest(bs []inventory.Binding) time.Time {
	var last time.Time
	for _, b := range bs {
		if b.LastSeen.After(last) {
			last = b.LastSeen
		}
	}
	return last
}
