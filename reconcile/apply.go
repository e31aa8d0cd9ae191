package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// OverrideLimits applies a plan that trips max_deletes or
	// max_change_percent.
	OverrideLimits bool
	// PolicyOnly applies only fixes whose policy is apply (schedules).
	PolicyOnly bool
}

// ApplyResult says what an apply did.
type ApplyResult struct {
	Plan    string   `json:"plan"`
	Status  string   `json:"status"`
	Store   int      `json:"store"`   // store fixes applied
	Reality int      `json:"reality"` // reality fixes made
	Failed  []string `json:"failed,omitempty"`
}

// Apply applies a stored plan: reality fixes through the fixers of their
// scopes, then every store fix in one transaction, each write a version
// with source plan:<id>. The apply is a run: recorded when it starts, it
// claims the plan (a plan is applied once: an applied plan, or one another
// live run is applying, is refused with ECONFLICT) and locks the scopes
// the fixes touch (ELOCKED when another run holds one). It refuses a plan
// whose drift moved since it was made (ESTALE) and a plan beyond the
// safety limits unless overridden; such a refusal gives the plan back,
// proposed, so it can be run again. If the process dies mid-apply, the
// scopes free within the lease and the plan reads interrupted.
func (e *Engine) Apply(ctx context.Context, id string, o ApplyOptions) (*ApplyResult, error) {
	run, err := e.begin(ctx, "apply", "plan:"+id, time.Time{})
	if err != nil {
		return nil, err
	}
	defer e.guard(ctx, run)
	res, err := e.apply(run.Context(), run, id, o)
	changes := 0
	var failed []string
	if res != nil {
		changes, failed = res.Store+res.Reality, res.Failed
	}
	e.end(ctx, run, 0, changes, err, failed)
	if err != nil {
		return nil, err
	}
	e.log.Info("plan applied", "plan", id, "store", res.Store, "reality", res.Reality, "failed", len(res.Failed))
	return res, nil
}

func (e *Engine) apply(ctx context.Context, run *inventory.Run, id string, o ApplyOptions) (res *ApplyResult, err error) {
	p, err := e.Plan(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.store.ClaimPlan(ctx, id, run); err != nil {
		return nil, err
	}
	var touched bool // reality may have changed: the plan is not given back
	defer func() {
		switch {
		case err == nil:
		case touched && ctx.Err() != nil:
			err = errors.Join(err, e.store.EndPlan(ctx, id, run, inventory.PlanInterrupted, err.Error()))
		case touched:
			err = errors.Join(err, e.store.EndPlan(ctx, id, run, inventory.PlanFailed, err.Error()))
		default:
			err = errors.Join(err, e.store.ReleasePlan(ctx, id, run))
		}
	}()
	fixes := p.selected(o.PolicyOnly)
	cross, err := e.lockScopes(ctx, run, fixes)
	if err != nil {
		return nil, err
	}
	if cross {
		// The cross-source drift follows the store, which may have moved
		// since the last check (a VM re-IPed, a dns_name declared): check
		// it again under the lock, so that the pins compare with the truth.
		if err := e.crossCheck(ctx, run); err != nil {
			return nil, err
		}
	}
	if err := e.checkStale(ctx, p, fixes); err != nil {
		return nil, err
	}
	if !o.OverrideLimits {
		if err := e.checkLimits(p.ID, fixes, p.Counts); err != nil {
			return nil, err
		}
	}
	res = &ApplyResult{Plan: id, Status: inventory.PlanApplied}
	touched = true
	done := e.applyReality(ctx, fixes, res)
	mirrored, err := e.mirrorOf(ctx, fixes, done)
	if err != nil {
		return nil, err
	}
	meta := e.meta("plan:"+id, "apply plan "+id)
	err = e.store.InTx(ctx, func(tx *inventory.Tx) error {
		if err := run.Fence(ctx, tx); err != nil {
			return err
		}
		n, _, err := e.applyStore(ctx, tx, meta, fixes, p.Versions)
		if err != nil {
			return err
		}
		m, err := mirrored.apply(ctx, e, tx, meta)
		if err != nil {
			return err
		}
		res.Store = n + m
		if len(res.Failed) > 0 {
			res.Status = inventory.PlanPartial
		}
		if err := tx.ResolveDrift(ctx, resolvedDrift(fixes, done), "apply of plan "+id); err != nil {
			return err
		}
		return tx.SetPlanStatus(ctx, id, res.Status, strings.Join(res.Failed, "; "))
	})
	if err != nil {
		return nil, fmt.Errorf("apply plan %s: %w", id, err)
	}
	if cross {
		// Collections left the cross-source check to this run while it held
		// the cross scope; run it now on what the apply made.
		if err := e.crossCheck(ctx, run); err != nil {
			e.log.Warn("cross-source check after apply", "plan", id, "err", err)
		}
	}
	return res, nil
}

// selected returns the fixes an apply makes.
func (p *Plan) selected(policyOnly bool) []Fix {
	var out []Fix
	for _, f := range p.Fixes {
		if f.Direction == NoFix || policyOnly && f.Policy != "apply" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// lockScopes takes, for run, the apply lock of every scope the fixes
// touch, in a fixed order; it reports whether the cross scope is among
// them.
func (e *Engine) lockScopes(ctx context.Context, run *inventory.Run, fixes []Fix) (bool, error) {
	set := map[string]bool{}
	for _, f := range fixes {
		set[f.Scope] = true
		if f.Reality != nil {
			set[f.Reality.Scope] = true
		}
	}
	for _, s := range slices.Sorted(maps.Keys(set)) {
		if err := run.Lock(ctx, "apply:"+s); err != nil {
			return false, err
		}
	}
	return set[CrossScope], nil
}

// checkStale refuses a plan that no longer fixes what it says: a drift
// item it fixes was resolved since, or says something else now (its pin
// moved: a newer collection saw other values in reality, or the store
// changed), or an entry it writes changed since the plan was made.
func (e *Engine) checkStale(ctx context.Context, p *Plan, fixes []Fix) error {
	var driftIDs []string
	var ids []int64
	for _, f := range fixes {
		if f.DriftID != "" {
			driftIDs = append(driftIDs, f.DriftID)
		}
		if f.EntryID != 0 {
			ids = append(ids, f.EntryID)
		}
	}
	recs, err := e.store.DriftByIDs(ctx, driftIDs)
	if err != nil {
		return err
	}
	cur := make(map[string]inventory.DriftRecord, len(recs))
	for _, r := range recs {
		cur[r.ID] = r
	}
	for i := range fixes {
		if err := driftMoved(p.ID, &fixes[i], cur); err != nil {
			return err
		}
	}
	entries, err := e.store.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		want, en := p.Versions[id], entries[id]
		switch {
		case en == nil || en.Deleted():
			return schema.Errorf(schema.ESTALE, "plan %s is stale: entry %d was deleted since; run plan again", p.ID, id)
		case want != 0 && en.Version != want:
			return schema.Errorf(schema.ESTALE, "plan %s is stale: %s changed since it was made (version %d, now %d); run plan again",
				p.ID, en, want, en.Version)
		}
	}
	return nil
}

// driftMoved says how the drift item a fix closes changed since the plan
// was made, as an ESTALE error; nil when it is still open and the same.
func driftMoved(planID string, f *Fix, cur map[string]inventory.DriftRecord) error {
	if f.DriftID == "" {
		return nil
	}
	stale := func(format string, args ...any) error {
		return schema.Errorf(schema.ESTALE, "plan %s is stale: the drift of %s %s; run tana plan again",
			planID, f.subject(), fmt.Sprintf(format, args...))
	}
	r, ok := cur[f.DriftID]
	switch {
	case !ok:
		return stale("is gone")
	case r.ResolvedAt != nil:
		return stale("was resolved since the plan was made (%s at %s)", orUnknown(r.ResolvedBy), r.ResolvedAt.Format(time.RFC3339))
	case f.Pin == "":
		return stale("cannot be checked: the plan was made by an older tana")
	}
	it, err := fromRecord(r)
	if err != nil {
		return err
	}
	if it.Pin() == f.Pin {
		return nil
	}
	var what []string
	if show(it.Actual) != show(f.Actual) {
		what = append(what, fmt.Sprintf("reality now says %s (the plan saw %s)", show(it.Actual), show(f.Actual)))
	}
	if show(it.Store) != show(f.Store) {
		what = append(what, fmt.Sprintf("the store now holds %s (the plan saw %s)", show(it.Store), show(f.Store)))
	}
	if len(what) == 0 {
		what = append(what, "its fix is different now")
	}
	return stale("changed since the plan was made: %s", strings.Join(what, "; "))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown cause"
	}
	return s
}

// checkLimits stops a runaway apply: more deletes of a type than its
// max_deletes — in the store or in reality (an orphan record removed from
// DNS is a delete of a dns_record) — or more of its entries changed than
// max_change_percent (checked once a type has at least minForPercent
// entries).
func (e *Engine) checkLimits(planID string, fixes []Fix, counts map[string]int64) error {
	deletes := map[string]int{}
	changed := map[string]map[int64]bool{}
	for _, f := range fixes {
		if r := f.Reality; f.Direction == ToReality && r != nil && r.Op == collectors.OpDelete {
			deletes[r.Object.Type]++
		}
		if f.Direction != ToStore || f.EntryID == 0 {
			continue
		}
		if f.Action == ActDelete {
			deletes[f.Type]++
		}
		if changed[f.Type] == nil {
			changed[f.Type] = map[int64]bool{}
		}
		changed[f.Type][f.EntryID] = true
	}
	for _, t := range sortedKeys(deletes) {
		if p := e.policy(t); p.MaxDeletes > 0 && deletes[t] > p.MaxDeletes {
			return limitError(planID, fmt.Sprintf("it would delete %d %s entries, more than max_deletes %d", deletes[t], t, p.MaxDeletes))
		}
	}
	for _, t := range sortedKeys(changed) {
		n, p := counts[t], e.policy(t)
		if n < minForPercent || p.MaxChangePercent < 0 {
			continue
		}
		if pct := float64(len(changed[t])) * 100 / float64(n); pct > p.MaxChangePercent {
			return limitError(planID, fmt.Sprintf("it would change %d of %d %s entries (%.0f%%), more than max_change_percent %.0f%%",
				len(changed[t]), n, t, pct, p.MaxChangePercent))
		}
	}
	return nil
}

const minForPercent = 10

// LimitProblem says which safety limit applying p would trip ("" if
// none), for a review before the apply.
func (e *Engine) LimitProblem(p *Plan) string {
	if err := e.checkLimits(p.ID, p.selected(false), p.Counts); err != nil {
		return err.Error()
	}
	return ""
}

func limitError(planID, why string) error {
	return &schema.Error{Code: schema.ECONFLICT, Field: "limits",
		Message: fmt.Sprintf("safety limit: plan %s not applied: %s; review it and apply with --override-limits to go ahead", planID, why)}
}

// applyReality sends reality fixes to the fixers of their scopes and
// returns which fixes were made (by index in fixes).
func (e *Engine) applyReality(ctx context.Context, fixes []Fix, res *ApplyResult) map[int]bool {
	done := map[int]bool{}
	byScope := map[string][]int{}
	for i, f := range fixes {
		if f.Direction == ToReality && f.Reality != nil {
			byScope[f.Reality.Scope] = append(byScope[f.Reality.Scope], i)
		}
	}
	for _, scope := range sortedKeys(byScope) {
		idx := byScope[scope]
		fx := e.fixer(scope)
		if fx == nil {
			res.Failed = append(res.Failed, fmt.Sprintf("%s: no fixer handles this scope (%d fixes)", scope, len(idx)))
			continue
		}
		batch := make([]collectors.Fix, len(idx))
		for j, i := range idx {
			batch[j] = *fixes[i].Reality
		}
		e.log.Info("fixing reality", "scope", scope, "fixes", len(batch))
		errs := fx.Apply(ctx, batch)
		for j, i := range idx {
			var err error
			if j < len(errs) {
				err = errs[j]
			}
			if err != nil {
				res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", fixes[i].Reality, err))
				continue
			}
			done[i] = true
			res.Reality++
		}
	}
	return done
}

// resolvedDrift lists the drift items the applied fixes close.
func resolvedDrift(fixes []Fix, reality map[int]bool) []string {
	var ids []string
	for i, f := range fixes {
		if f.DriftID != "" && (f.Direction == ToStore || reality[i]) {
			ids = append(ids, f.DriftID)
		}
	}
	return ids
}

// applyStore makes the store fixes in tx: creates in one batch (references
// between new entries resolve inside it), then per entry one update
// carrying its renames and attributes, then deletes. versions, when set,
// are checked (optimistic concurrency). It returns the number of fixes
// made and the entries' new versions, and binds created entries to their
// objects.
func (e *Engine) applyStore(ctx context.Context, tx *inventory.Tx, meta inventory.Meta, fixes []Fix, versions map[int64]int64) (int, map[int64]int64, error) {
	n, newVersions := 0, map[int64]int64{}
	var creates []inventory.Item
	var createFix []Fix
	patches := map[int64]*inventory.Patch{}
	var order []int64
	var deletes []Fix
	for _, f := range fixes {
		if f.Direction != ToStore {
			continue
		}
		switch f.Action {
		case ActCreate:
			creates = append(creates, inventory.Item{Type: f.Type, Name: f.Name, Attrs: f.Attrs})
			createFix = append(createFix, f)
		case ActRename, ActUpdate:
			p := patches[f.EntryID]
			if p == nil {
				p = &inventory.Patch{Version: versions[f.EntryID], Attrs: map[string]any{}}
				patches[f.EntryID] = p
				order = append(order, f.EntryID)
			}
			if f.Action == ActRename {
				name := f.Name
				p.Name = &name
			}
			for k, v := range f.Attrs {
				p.Attrs[k] = v
			}
		case ActDelete:
			deletes = append(deletes, f)
		}
	}
	if len(creates) > 0 {
		rs, err := tx.Upsert(ctx, meta, creates)
		if err != nil {
			return 0, nil, fmt.Errorf("create entries: %w", err)
		}
		binds := map[string]map[string]int64{}
		var prov []inventory.Provenance
		for _, r := range rs {
			f := createFix[r.Index]
			prov = append(prov, e.observedProvenance(r.ID, f)...)
			if binds[f.Scope] == nil {
				binds[f.Scope] = map[string]int64{}
			}
			binds[f.Scope][f.ObjectID] = r.ID
			newVersions[r.ID] = r.Version
		}
		for scope, b := range binds {
			if err := tx.Bind(ctx, scope, b); err != nil {
				return 0, nil, err
			}
		}
		if err := tx.SetProvenance(ctx, prov); err != nil {
			return 0, nil, err
		}
		n += len(creates)
	}
	for _, id := range order {
		en, err := tx.Update(ctx, meta, id, *patches[id])
		if err != nil {
			return 0, nil, staleOr(err)
		}
		newVersions[id] = en.Version
		n++
	}
	for _, f := range deletes {
		m := meta
		m.Reason = f.Message
		en, err := tx.Delete(ctx, m, f.EntryID, versions[f.EntryID])
		if err != nil {
			return 0, nil, staleOr(err)
		}
		if err := tx.Unbind(ctx, f.Scope, []string{f.ObjectID}); err != nil {
			return 0, nil, err
		}
		newVersions[en.ID] = en.Version
		n++
	}
	return n, newVersions, nil
}

// staleOr maps a version conflict to ESTALE.
func staleOr(err error) error {
	var se *schema.Error
	if errors.As(err, &se) && se.Code == schema.ECONFLICT && strings.HasSuffix(se.Field, "version") {
		return &schema.Error{Code: schema.ESTALE, Field: se.Field, Message: se.Message + " (the plan is stale; run plan again)"}
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// observedProvenance records the observed values a created entry got.
func (e *Engine) observedProvenance(id int64, f Fix) []inventory.Provenance {
	t, err := e.reg.Type(f.Type)
	if err != nil {
		return nil
	}
	var out []inventory.Provenance
	for k, v := range f.Attrs {
		if a := t.Attr(k); a != nil && a.Authority == schema.Observed {
			out = append(out, inventory.Provenance{EntryID: id, Attr: k, Source: f.Scope, Value: v})
		}
	}
	return out
}
