package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Result is the outcome of diffing one snapshot against the store.
type Result struct {
	Scope   string `json:"scope"`
	Objects int    `json:"objects"`
	Items   []Item `json:"items"`
	// Suspect explains why the snapshot is not trusted to mark entries
	// gone (a safety limit tripped); empty when it is.
	Suspect string `json:"suspect,omitempty"`

	snap  *collectors.Snapshot
	view  *view
	ident *identity
	seen  map[string]int64 // object id → entry id, matched objects
}

// Diff identifies the snapshot's objects and diffs them against the store.
// It writes nothing.
func (e *Engine) Diff(ctx context.Context, snap *collectors.Snapshot) (*Result, error) {
	v, err := e.load(ctx, snap)
	if err != nil {
		return nil, err
	}
	return e.diff(ctx, snap, v)
}

func (e *Engine) diff(ctx context.Context, snap *collectors.Snapshot, v *view) (*Result, error) {
	id := identify(e.reg, snap, v)
	r := &Result{Scope: snap.Scope, Objects: len(snap.Objects), snap: snap, view: v, ident: id,
		seen: make(map[string]int64, len(snap.Objects))}
	changed, err := e.diffMatched(ctx, r)
	if err != nil {
		return nil, err
	}
	r.Items = append(r.Items, id.conflicts...)
	for i := range snap.Objects {
		if id.blocked[i] {
			continue
		}
		o := &snap.Objects[i]
		if en := id.entry[i]; en != nil {
			r.seen[o.ID] = en.ID
			r.Items = append(r.Items, changed[i]...)
			continue
		}
		t, _ := e.reg.Type(o.Type)
		r.Items = append(r.Items, e.missingInStore(r, t, o))
	}
	r.Suspect = e.suspect(ctx, snap, v)
	if snap.Complete && r.Suspect == "" {
		r.Items = append(r.Items, missingInReality(snap, v, r.seen)...)
	}
	for i := range r.Items {
		r.Items[i].Source = snap.Source
	}
	sortItems(r.Items)
	return r, nil
}

// ranked is a change to an observed attribute reported by a source below
// the attribute's top one: it stands only if no better source still
// reports the value.
type ranked struct {
	obj  int // object index
	item Item
	attr *schema.Attribute
	rank int
}

// keepUnowned adds the ranked changes no better-ranked source owns.
func (e *Engine) keepUnowned(ctx context.Context, out map[int][]Item, pending []ranked) error {
	for _, p := range pending {
		owned, err := e.higherSourceReports(ctx, p.item.EntryID, p.attr, p.rank)
		if err != nil {
			return err
		}
		if !owned {
			out[p.obj] = append(out[p.obj], p.item)
		}
	}
	return nil
}

// diffEntry compares object i with the entry it was identified as. Changes
// that hold only if no better-ranked source owns the value come back apart.
func (e *Engine) diffEntry(r *Result, t *schema.EntityType, i int, en *inventory.Entry) ([]Item, []ranked) {
	o := &r.snap.Objects[i]
	var out []Item
	var checks []ranked
	base := Item{Type: t.Name, Scope: r.Scope, EntryID: en.ID, EntryName: en.Name, Version: en.Version, ObjectID: o.ID}
	if o.Name != "" && o.Name != en.Name {
		it := base
		if other := r.view.byName[t.Name][o.Name]; other != nil || r.ident.dupName[[2]string{t.Name, o.Name}] {
			it.Kind, it.Attr, it.Message = Conflict, "name", fmt.Sprintf("renamed to %q in %s, a name another %s has", o.Name, r.Scope, t.Name)
		} else {
			it.Kind, it.Attr, it.Store, it.Actual, it.Authority = Changed, "name", en.Name, o.Name, schema.Observed
		}
		out = append(out, it)
	}
	policy := e.policy(t.Name)
	kind := sourceKind(r.snap)
	for attr, raw := range o.Attrs {
		a := t.Attr(attr)
		if a == nil || a.Authority == schema.Manual || raw == nil {
			continue
		}
		stored, has := en.Attrs[attr]
		if has && a.Type.Kind != schema.KindRef && fastEqual(stored, raw) {
			continue // the common case: identical, nothing to normalise
		}
		actual, ok := r.actual(a, raw)
		if !ok {
			continue // absence of data is not data
		}
		switch a.Authority {
		case schema.Observed:
			rank := sourceRank(a, kind)
			if rank < 0 || has && equal(a, stored, actual) {
				continue
			}
			it := base
			it.Kind, it.Attr, it.Store, it.Actual, it.Authority = Changed, attr, stored, actual, schema.Observed
			if rank > 0 {
				checks = append(checks, ranked{obj: i, item: it, attr: a, rank: rank})
				continue
			}
			out = append(out, it)
		case schema.Declared:
			if !has || policy.Declared == "ignore" || equal(a, stored, actual) {
				continue // nothing declared, or reality agrees
			}
			it := base
			it.Kind, it.Attr, it.Store, it.Actual, it.Authority = Changed, attr, stored, actual, schema.Declared
			it.Fix = &collectors.Fix{Scope: r.Scope, Op: collectors.OpUpdate, Object: *o, Attr: attr, Old: actual, New: stored}
			out = append(out, it)
		}
	}
	if policy.Declared != "ignore" {
		out = append(out, declaredAbsent(r, t, o, en, base, kind)...)
	}
	return out, checks
}

// declaredIn names the source kind that holds declared attributes in
// reality when the schema gives none (Attribute.Sources): the vSphere
// fixer pushes these.
var declaredIn = map[string]map[string]string{
	"vm": {"annotation": "vsphere", "owner": "vsphere", "role": "vsphere", "tags": "vsphere"},
}

// declaredAbsent reports declared values that reality lacks, for the
// attributes the snapshot's source kind holds: there, absence means
// "not set" (an empty vCenter note), and the fix is to set it.
func declaredAbsent(r *Result, t *schema.EntityType, o *collectors.Object, en *inventory.Entry, base Item, kind string) []Item {
	var out []Item
	for _, a := range t.Attributes {
		if a.Authority != schema.Declared || !holds(t, a, kind) {
			continue
		}
		stored, has := en.Attrs[a.Name]
		if _, reported := o.Attrs[a.Name]; reported || !has || stored == nil {
			continue
		}
		it := base
		it.Kind, it.Attr, it.Store, it.Authority = Changed, a.Name, stored, schema.Declared
		it.Fix = &collectors.Fix{Scope: r.Scope, Op: collectors.OpUpdate, Object: *o, Attr: a.Name, New: stored}
		out = append(out, it)
	}
	return out
}

func holds(t *schema.EntityType, a *schema.Attribute, kind string) bool {
	if len(a.Sources) > 0 {
		return sourceRank(a, kind) >= 0
	}
	return declaredIn[t.Name][a.Name] == kind
}

// provenance lists every observed value the snapshot reported for the
// entries it matched, for the store to record with the time it was seen.
func (r *Result) provenance(reg *schema.Registry) []inventory.Provenance {
	var out []inventory.Provenance
	kind := sourceKind(r.snap)
	for i := range r.snap.Objects {
		en := r.ident.entry[i]
		if en == nil || r.ident.blocked[i] {
			continue
		}
		o := &r.snap.Objects[i]
		t, err := reg.Type(o.Type)
		if err != nil {
			continue
		}
		for attr, raw := range o.Attrs {
			a := t.Attr(attr)
			if a == nil || a.Authority != schema.Observed || sourceRank(a, kind) < 0 {
				continue
			}
			if v, ok := r.actual(a, raw); ok {
				out = append(out, inventory.Provenance{EntryID: en.ID, Attr: attr, Source: r.Scope, Value: v})
			}
		}
	}
	return out
}

// actual is an object's value in stored form: references resolved to
// entry names, then normalised. ok is false for a reference that cannot
// be resolved.
func (r *Result) actual(a *schema.Attribute, raw any) (any, bool) {
	if a.Type.Kind == schema.KindRef {
		v, ok := r.ident.resolveRef(raw)
		if !ok {
			return nil, false
		}
		raw = v
	}
	v := normalize(a, raw)
	if l, ok := v.([]any); ok && len(l) == 0 {
		return nil, false
	}
	return v, v != nil && v != ""
}

// missingInStore describes an object no entry stands for; its Object has
// references resolved to names, ready to create. An object whose name a
// different entry holds is a conflict (two VMs, one name), not a create.
func (e *Engine) missingInStore(r *Result, t *schema.EntityType, o *collectors.Object) Item {
	it := Item{Kind: MissingInStore, Type: t.Name, Scope: r.Scope, ObjectID: o.ID}
	if other := r.view.byName[t.Name][o.Name]; other != nil {
		it.Kind, it.EntryName = Conflict, o.Name
		it.Message = fmt.Sprintf("%s %s is named %q, like %s %d which identifies differently", t.Name, o.ID, o.Name, t.Name, other.ID)
		return it
	}
	if r.ident.dupName[[2]string{t.Name, o.Name}] {
		it.Kind, it.EntryName = Conflict, o.Name
		it.Message = fmt.Sprintf("%s %s is named %q, like another object of %s", t.Name, o.ID, o.Name, r.Scope)
		return it
	}
	obj := collectors.Object{Type: o.Type, ID: o.ID, Name: o.Name, Attrs: make(map[string]any, len(o.Attrs))}
	for attr, raw := range o.Attrs {
		a := t.Attr(attr)
		if a == nil || a.Authority == schema.Manual || sourceRank(a, sourceKind(r.snap)) < 0 && a.Authority == schema.Observed {
			continue
		}
		if v, ok := r.actual(a, raw); ok {
			obj.Attrs[attr] = v
		}
	}
	it.Object = &obj
	return it
}

// missingInReality lists the entries bound to the scope, of the types the
// snapshot covers, that no object of the complete snapshot is.
func missingInReality(snap *collectors.Snapshot, v *view, seen map[string]int64) []Item {
	covered := map[string]bool{}
	for _, t := range snap.Types {
		covered[t] = true
	}
	seenIDs := make(map[int64]bool, len(seen))
	for _, id := range seen {
		seenIDs[id] = true
	}
	var out []Item
	for oid, eid := range v.bound {
		if _, ok := seen[oid]; ok {
			continue
		}
		en := v.byID[eid]
		if en == nil || !covered[en.Type] || seenIDs[eid] {
			continue
		}
		out = append(out, Item{Kind: MissingInReality, Type: en.Type, Scope: snap.Scope, EntryID: en.ID, EntryName: en.Name,
			Version: en.Version, ObjectID: oid, Message: fmt.Sprintf("%s no longer reports %s", snap.Scope, oid)})
	}
	return out
}

// suspect trips the safety limit for a complete snapshot that reports
// nothing, or far fewer objects than its scope's entries: a broken
// permission or an empty view must not look like a mass deletion.
func (e *Engine) suspect(ctx context.Context, snap *collectors.Snapshot, v *view) string {
	if !snap.Complete {
		return ""
	}
	bound := len(v.bound)
	if last, err := e.store.LastSnapshot(ctx, snap.Scope, true); err == nil && last.Objects > bound {
		bound = last.Objects
	}
	if bound == 0 {
		return ""
	}
	n := len(snap.Objects)
	if n == 0 {
		return fmt.Sprintf("safety limit: %s returned no objects but last reported %d; nothing is marked stale or deleted (check the source's permissions and view)", snap.Scope, bound)
	}
	if float64(n) < float64(bound)*e.opts.SuspectRatio {
		return fmt.Sprintf("safety limit: %s returned %d objects, fewer than %.0f%% of the %d it last reported; nothing is marked stale or deleted",
			snap.Scope, n, e.opts.SuspectRatio*100, bound)
	}
	return ""
}

// sourceKind is the snapshot's source kind ("vsphere"), from Kind or the
// scope's prefix.
func sourceKind(s *collectors.Snapshot) string {
	if s.Kind != "" {
		return s.Kind
	}
	k, _, _ := strings.Cut(s.Scope, ":")
	return k
}

// sourceRank is the kind's place in an attribute's ranked sources: 0 is
// the top; -1 means the kind may not write it. No list means any source.
func sourceRank(a *schema.Attribute, kind string) int {
	if len(a.Sources) == 0 {
		return 0
	}
	for i, s := range a.Sources {
		if s == kind {
			return i
		}
	}
	return -1
}

// freshFor is how recently a better-ranked source must have reported an
// attribute to keep owning it.
const freshFor = 24 * time.Hour

// higherSourceReports tells whether a source ranked above rank still
// reports the attribute (provenance seen recently): then it owns the
// value and a lower source only takes over once it stops.
func (e *Engine) higherSourceReports(ctx context.Context, entryID int64, a *schema.Attribute, rank int) (bool, error) {
	ps, err := e.store.Provenance(ctx, entryID)
	if err != nil {
		return false, err
	}
	limit := e.now().Add(-freshFor)
	if p := e.policy(""); p.StaleAfter > 0 {
		limit = e.now().Add(-p.StaleAfter)
	}
	for _, p := range ps {
		if p.Attr != a.Name {
			continue
		}
		k, _, _ := strings.Cut(p.Source, ":")
		if r := sourceRank(a, k); r >= 0 && r < rank && p.SeenAt.After(limit) {
			return true, nil
		}
	}
	return false, nil
}
