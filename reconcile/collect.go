package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
)

// RunSummary is what one reconcile of a snapshot did.
type RunSummary struct {
	Scope      string `json:"scope"`
	SnapshotID string `json:"snapshot_id"`
	Complete   bool   `json:"complete"`
	Objects    int    `json:"objects"`
	Applied    int    `json:"applied"` // store fixes applied by policy
	Stale      int    `json:"stale"`
	Deleted    int    `json:"deleted"`
	Open       int    `json:"open"`  // drift items left for review
	Fixed      int    `json:"fixed"` // reality fixes made by a declared: apply policy
	Limited    string `json:"limited,omitempty"`
	// Errors say why an incomplete snapshot is incomplete.
	Errors []string `json:"errors,omitempty"`
	// Suspect is set for a complete snapshot with far fewer objects than
	// its scope had (Limited says why): it is not trusted to mark anything
	// gone or resolved.
	Suspect bool `json:"suspect,omitempty"`
}

// notes are the summary's problems, scope first, for run records.
func (s *RunSummary) notes() []string {
	var out []string
	for _, m := range s.Errors {
		out = append(out, s.Scope+": "+m)
	}
	if s.Limited != "" {
		out = append(out, s.Scope+": "+s.Limited)
	}
	return out
}

// Collect takes snapshots of every scope of c and reconciles each. A
// collector that fails before reading any scope is recorded as a failed
// run and returned as an error.
func (e *Engine) Collect(ctx context.Context, c collectors.Collector) ([]RunSummary, error) {
	run, err := e.begin(ctx, "collect", c.Name(), time.Time{})
	if err != nil {
		return nil, err
	}
	defer e.guard(ctx, run)
	ctx = run.Context()
	e.log.Info("collecting", "source", c.Name())
	snaps, err := c.Collect(ctx)
	if err != nil {
		err = fmt.Errorf("collect %s: %w", c.Name(), err)
		e.end(ctx, run, 0, 0, err, nil)
		return nil, err
	}
	var out []RunSummary
	var errs []error
	objects, changes := 0, 0
	for _, s := range snaps {
		sum, err := e.Reconcile(ctx, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile %s: %w", s.Scope, err))
			continue
		}
		objects, changes = objects+sum.Objects, changes+sum.Applied+sum.Deleted+sum.Fixed
		out = append(out, *sum)
	}
	err = errors.Join(errs...)
	e.end(ctx, run, objects, changes, err, snapErrors(snaps))
	return out, err
}

func snapErrors(snaps []*collectors.Snapshot) []string {
	var out []string
	for _, s := range snaps {
		for _, m := range s.Errors {
			out = append(out, s.Scope+": "+m)
		}
	}
	return out
}

// Reconcile stores a snapshot and reconciles its scope: observed drift
// whose policy is apply is written at once, in one change set with the
// scope as source; entries the complete snapshot no longer reports go
// stale and, after their window, are soft-deleted; the remaining drift
// stays open for plans. Cross-source rules are re-checked afterwards.
func (e *Engine) Reconcile(ctx context.Context, snap *collectors.Snapshot) (*RunSummary, error) {
	if snap == nil {
		return nil, fmt.Errorf("reconcile: no snapshot")
	}
	run, err := e.begin(ctx, "reconcile", snap.Scope, time.Time{})
	if err != nil {
		return nil, err
	}
	defer e.guard(ctx, run)
	sum, err := e.reconcile(run.Context(), run, snap)
	errs := slices.Clone(snap.Errors)
	changes := 0
	if sum != nil {
		changes = sum.Applied + sum.Deleted + sum.Fixed
	}
	e.end(ctx, run, len(snap.Objects), changes, err, append(errs, limited(sum)...))
	return sum, err
}

func limited(sum *RunSummary) []string {
	if sum == nil || sum.Limited == "" {
		return nil
	}
	return []string{sum.Limited}
}

func (e *Engine) reconcile(ctx context.Context, run *inventory.Run, snap *collectors.Snapshot) (*RunSummary, error) {
	if snap.Scope == "" {
		return nil, fmt.Errorf("snapshot without a scope")
	}
	if err := run.Lock(ctx, "apply:"+snap.Scope); err != nil {
		return nil, err
	}
	res, err := e.Diff(ctx, snap)
	if err != nil {
		return nil, err
	}
	sum := &RunSummary{Scope: snap.Scope, SnapshotID: uuid.Must(uuid.NewV7()).String(), Complete: snap.Complete,
		Objects: len(snap.Objects), Limited: res.Suspect, Suspect: res.Suspect != "", Errors: slices.Clone(snap.Errors)}
	auto, rest := e.split(res.Items)
	counts, err := e.counts(ctx, auto)
	if err != nil {
		return nil, err
	}
	if err := e.checkLimits("collect "+snap.Scope, auto, counts); err != nil {
		sum.Limited = joinMsg(sum.Limited, err.Error())
		auto, rest = nil, res.Items
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	err = e.commit(ctx, run, snap, res, sum, data, auto, rest)
	if err != nil && len(auto) > 0 && ctx.Err() == nil {
		// One bad write (a unique value taken meanwhile) must not lose the
		// collection: record it with everything left for review.
		e.log.Warn("auto-apply failed; keeping all drift for review", "scope", snap.Scope, "err", err)
		sum.Limited = joinMsg(sum.Limited, "auto-apply failed: "+err.Error())
		err = e.commit(ctx, run, snap, res, sum, data, nil, res.Items)
	}
	if err != nil {
		return nil, err
	}
	if err := e.store.PruneSnapshots(ctx, snap.Scope, e.opts.KeepSnapshots); err != nil {
		e.log.Warn("prune snapshots", "scope", snap.Scope, "err", err)
	}
	sum.Fixed = e.applyDeclared(ctx, snap.Scope, res.Items, sum)
	if err := e.crossCheck(ctx, run); err != nil {
		return sum, fmt.Errorf("cross-source check: %w", err)
	}
	e.log.Info("reconciled", "scope", snap.Scope, "complete", snap.Complete, "objects", sum.Objects,
		"applied", sum.Applied, "stale", sum.Stale, "deleted", sum.Deleted, "open", sum.Open, "limited", sum.Limited)
	return sum, nil
}

// applyDeclared makes the reality fixes of the scope whose type's policy
// says declared: apply, through the scope's fixer, within the safety
// limits. The next collection sees reality agree and resolves their drift.
func (e *Engine) applyDeclared(ctx context.Context, scope string, items []Item, sum *RunSummary) int {
	var fixes []Fix
	for i := range items {
		f := e.fixFor(&items[i])
		if f.Direction == ToReality && f.Policy == "apply" && f.Reality.Scope == scope {
			fixes = append(fixes, f)
		}
	}
	if len(fixes) == 0 {
		return 0
	}
	if err := e.checkLimits("collect "+scope, fixes, nil); err != nil {
		sum.Limited = joinMsg(sum.Limited, err.Error())
		return 0
	}
	res := &ApplyResult{}
	e.applyReality(ctx, fixes, res)
	for _, m := range res.Failed {
		e.log.Warn("declared fix failed", "scope", scope, "err", m)
	}
	return res.Reality
}

// commit stores the snapshot, applies auto fixes in one change set,
// binds and records provenance, handles staleness and keeps the rest as
// the scope's open drift, all in one transaction — if run still holds
// the scope's lock (Fence).
func (e *Engine) commit(ctx context.Context, run *inventory.Run, snap *collectors.Snapshot, res *Result, sum *RunSummary, data []byte, auto []Fix, rest []Item) error {
	return e.store.InTx(ctx, func(tx *inventory.Tx) error {
		if err := run.Fence(ctx, tx); err != nil {
			return err
		}
		if err := tx.SaveSnapshot(ctx, &inventory.SnapshotRecord{ID: sum.SnapshotID, Scope: snap.Scope, Source: snap.Source,
			Kind: snap.Kind, Complete: snap.Complete, Objects: len(snap.Objects), Errors: snap.Errors,
			StartedAt: snap.StartedAt, FinishedAt: snap.FinishedAt, Data: string(data)}); err != nil {
			return err
		}
		n, versions, err := e.applyStore(ctx, tx, e.meta(snap.Scope, "collect: observed drift applied by policy"), auto, nil)
		if err != nil {
			return err
		}
		sum.Applied = n
		if err := tx.Bind(ctx, snap.Scope, res.seen); err != nil {
			return err
		}
		if err := tx.SetProvenance(ctx, res.provenance(e.reg)); err != nil {
			return err
		}
		kept, err := e.staleness(ctx, tx, res, rest, sum)
		if err != nil {
			return err
		}
		for i := range kept {
			kept[i].SnapshotID = sum.SnapshotID
			if v, ok := versions[kept[i].EntryID]; ok {
				kept[i].Version = v
			}
		}
		sum.Open = len(kept)
		return syncDrift(ctx, tx, snap.Scope, kept, resolutionOf(res))
	})
}

// resolutionOf says which of the scope's open drift a snapshot may resolve.
// A complete, trusted snapshot saw everything: what it no longer reports
// is resolved. An incomplete or suspect one knows only what it saw: an
// attribute it reported again for an object it matched, or an object it
// found in the store; nothing else of the scope is resolved.
func resolutionOf(res *Result) inventory.Resolution {
	by := "collect " + res.Scope
	if res.snap.Complete && res.Suspect == "" {
		return inventory.Resolution{By: by}
	}
	reported := make(map[int64]map[string]any, len(res.seen))
	for i := range res.snap.Objects {
		o := &res.snap.Objects[i]
		if id, ok := res.seen[o.ID]; ok {
			reported[id] = o.Attrs
		}
	}
	return inventory.Resolution{By: by + " (incomplete: what it saw)", Only: func(r inventory.DriftRecord) bool {
		it, err := fromRecord(r)
		if err != nil {
			return false
		}
		switch it.Kind {
		case Changed:
			attrs, ok := reported[it.EntryID]
			_, has := attrs[it.Attr]
			return ok && (has || it.Attr == "name")
		case MissingInStore:
			_, ok := res.seen[it.ObjectID]
			return ok
		}
		return false
	}}
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// split separates the drift the policy applies at once (observed, to the
// store, never a delete) from the drift left for review.
func (e *Engine) split(items []Item) (auto []Fix, rest []Item) {
	for i := range items {
		f := e.fixFor(&items[i])
		if f.Direction == ToStore && f.Policy == "apply" && f.Action != ActDelete {
			auto = append(auto, f)
			continue
		}
		rest = append(rest, items[i])
	}
	return auto, rest
}

// counts returns the live entries per type the fixes touch.
func (e *Engine) counts(ctx context.Context, fixes []Fix) (map[string]int64, error) {
	out := map[string]int64{}
	for _, f := range fixes {
		if _, ok := out[f.Type]; ok {
			continue
		}
		n, err := e.store.Count(ctx, inventory.Query{Type: f.Type})
		if err != nil {
			return nil, err
		}
		out[f.Type] = n
	}
	return out, nil
}
