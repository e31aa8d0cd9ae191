package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// driftItem is one open difference between the store and reality.
type driftItem struct {
	ID         string
	Kind       string
	Type       string
	Scope      string
	Source     string
	EntryID    int64
	EntryName  string
	Attr       string
	Store      any
	Actual     any
	Authority  string
	Message    string
	FirstSeen  string
	LastSeen   string
	ResolvedAt string
	ObjectID   string
}

const driftFields = `id kind type scope source entryId entryName attr store actual authority message firstSeen lastSeen resolvedAt objectId`

// run is one collection, plan or apply.
type run struct {
	ID         string
	Kind       string
	Source     string
	Status     string
	StartedAt  string
	DurationNs float64
	Objects    int
	Changes    int
	Errors     []string
	Detail     string
}

// Seconds is the run's duration for people.
func (r run) Seconds() string {
	return strconv.FormatFloat(r.DurationNs/1e9, 'f', 2, 64)
}

const runFields = `id kind source status startedAt durationNs objects changes errors detail`

// pool is a pool's use.
type pool struct {
	Name        string
	Type        string
	Size        float64
	Granted     int
	Held        int
	Free        *float64 // nil: a pool with no end, or one with a problem
	Utilisation float64
	Problem     string
}

// FreeText is how many values a pool has left, for people.
func (p pool) FreeText() string {
	switch {
	case p.Free != nil:
		return strconv.FormatFloat(*p.Free, 'f', -1, 64)
	case p.Problem != "":
		return "unknown"
	default:
		return "no end"
	}
}

// loadPools reads every pool's use that the caller may see.
func (u *UI) loadPools(ctx context.Context) ([]pool, error) {
	var data struct{ Pools []pool }
	err := u.query(ctx, `{ pools { name type size granted held free utilisation problem } }`, nil, &data)
	return data.Pools, err
}

// groupBy splits items by key, keys in the order they first appear.
func groupBy[K comparable, T any](items []T, key func(T) K) ([]K, map[K][]T) {
	var keys []K
	groups := map[K][]T{}
	for _, it := range items {
		k := key(it)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	return keys, groups
}

// count is one line of a tally.
type count struct {
	Key string
	N   int
}

func tally(items []driftItem, key func(driftItem) string) []count {
	m := map[string]int{}
	for _, it := range items {
		m[key(it)]++
	}
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{k, n})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(b.N-a.N, strings.Compare(a.Key, b.Key)) })
	return out
}

// dashboardDriftBound is how much open drift the dashboard counts.
const dashboardDriftBound = 999

type dashboardView struct {
	ByKind, BySource []count
	DriftTotal       int
	DriftMore        bool
	Runs             []run
	Pools            []pool
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	var dv dashboardView
	if u.opts.Reconcile {
		var data struct {
			Drift []driftItem
			Runs  []run
		}
		err := u.query(r.Context(), `query($first: Int) { drift(first: $first) { kind source } runs(limit: 10) { `+runFields+` } }`,
			map[string]any{"first": u.bound(dashboardDriftBound + 1)}, &data)
		if err != nil {
			u.fail(w, r, statusOf(err), err)
			return
		}
		if bound := u.bound(dashboardDriftBound+1) - 1; len(data.Drift) > bound {
			data.Drift, dv.DriftMore = data.Drift[:bound], true
		}
		dv.DriftTotal, dv.Runs = len(data.Drift), data.Runs
		dv.ByKind = tally(data.Drift, func(d driftItem) string { return d.Kind })
		dv.BySource = tally(data.Drift, func(d driftItem) string { return d.Source })
	}
	if u.opts.Allocate {
		var err error
		if dv.Pools, err = u.loadPools(r.Context()); err != nil {
			u.fail(w, r, statusOf(err), err)
			return
		}
	}
	u.render(w, r, http.StatusOK, "dashboard", "Dashboard", dv)
}

// driftGroup is the drift of one kind in one scope.
type driftGroup struct {
	Kind, Scope string
	Items       []driftItem
}

type driftView struct {
	Kind, Source, Type string
	Resolved           bool
	Groups             []driftGroup
	Total              int
	More               bool
	Kinds              []string
	Types              []string
}

// driftPage is how many drift items the drift page lists.
const driftPage = 500

func (u *UI) drift(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	dv := driftView{Kind: qs.Get("kind"), Source: qs.Get("source"), Type: qs.Get("type"), Resolved: qs.Get("resolved") == "1",
		Kinds: []string{"missing_in_store", "missing_in_reality", "changed", "conflict"}}
	for _, t := range u.opts.Store.Registry().Types() {
		dv.Types = append(dv.Types, t.Name)
	}
	var data struct{ Drift []driftItem }
	err := u.query(r.Context(), `query($kind: String, $source: String, $type: String, $resolved: Boolean, $first: Int) {
		drift(kind: $kind, source: $source, type: $type, resolved: $resolved, first: $first) { `+driftFields+` } }`,
		map[string]any{"kind": dv.Kind, "source": dv.Source, "type": dv.Type, "resolved": dv.Resolved, "first": u.bound(driftPage + 1)}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	items := data.Drift
	if bound := u.bound(driftPage+1) - 1; len(items) > bound {
		items, dv.More = items[:bound], true
	}
	dv.Total = len(items)
	keys, groups := groupBy(items, func(it driftItem) [2]string { return [2]string{it.Kind, it.Scope} })
	for _, k := range keys {
		dv.Groups = append(dv.Groups, driftGroup{Kind: k[0], Scope: k[1], Items: groups[k]})
	}
	slices.SortFunc(dv.Groups, func(a, b driftGroup) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Scope, b.Scope))
	})
	u.render(w, r, http.StatusOK, "drift", "Drift", dv)
}

// planFix is one fix of a plan.
type planFix struct {
	Kind, Type, Scope, EntryName, Attr, Direction, Action, Authority, Policy, Message, Name string
	EntryID                                                                                 int64
	Store, Actual                                                                           any
	Attrs                                                                                   map[string]any
	Reality                                                                                 *realityOp
}

// realityOp is what a fix to reality does to one object of a source
// (create a DNS record, delete an orphan one).
type realityOp struct {
	Op     string
	Scope  string
	Object struct {
		Type, Name string
		Attrs      map[string]any
	}
}

// group is the action a fix is reviewed under: what it does to reality
// (create, update, delete) for a fix to reality, else its own action.
func (f planFix) group() string {
	if f.Reality != nil && f.Reality.Op != "" {
		return f.Reality.Op
	}
	return f.Action
}

type plan struct {
	ID        string
	Actor     string
	Status    string
	CreatedAt string
	AppliedAt string
	Error     string
	Limits    string
	Fixes     []planFix
}

// planGroup is the fixes of one action.
type planGroup struct {
	Action string
	Fixes  []planFix
}

func (u *UI) plans(w http.ResponseWriter, r *http.Request) {
	var data struct{ Plans []plan }
	if err := u.query(r.Context(), `{ plans(limit: 50) { id actor status createdAt appliedAt error fixes { action } } }`, nil, &data); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.render(w, r, http.StatusOK, "plans", "Plans", data.Plans)
}

type planView struct {
	Plan   plan
	Groups []planGroup
	Open   bool // may still be applied
}

func (u *UI) plan(w http.ResponseWriter, r *http.Request) {
	var data struct{ Plan *plan }
	err := u.query(r.Context(), `query($id: String!) { plan(id: $id) { id actor status createdAt appliedAt error limits
		fixes { kind type scope entryId entryName attr direction action authority policy message name store actual attrs reality } } }`,
		map[string]any{"id": r.PathValue("id")}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	if data.Plan == nil {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "no plan %q", r.PathValue("id")))
		return
	}
	pv := planView{Plan: *data.Plan, Open: data.Plan.Status == "proposed" || data.Plan.Status == "interrupted"}
	actions, fixes := groupBy(data.Plan.Fixes, planFix.group)
	for _, a := range actions {
		pv.Groups = append(pv.Groups, planGroup{Action: a, Fixes: fixes[a]})
	}
	order := map[string]int{"create": 0, "update": 1, "rename": 2, "fix": 3, "delete": 4}
	slices.SortFunc(pv.Groups, func(a, b planGroup) int { return order[a.Action] - order[b.Action] })
	u.render(w, r, http.StatusOK, "plan", "Plan "+pv.Plan.ID, pv)
}

func (u *UI) makePlan(w http.ResponseWriter, r *http.Request) {
	vars := map[string]any{}
	for _, k := range []string{"kind", "source", "type", "entry"} {
		if v := r.PostFormValue(k); v != "" {
			vars[k] = v
		}
	}
	var data struct{ Plan plan }
	err := u.query(r.Context(), `mutation($kind: String, $source: String, $type: String, $entry: String) {
		plan(kind: $kind, source: $source, type: $type, entry: $entry) { id fixes { action } } }`, vars, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	redirect(w, r, "/plans/"+url.PathEscape(data.Plan.ID), "planned "+strconv.Itoa(len(data.Plan.Fixes))+" fixes")
}

func (u *UI) applyPlan(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var data struct {
		ApplyPlan struct {
			Status         string
			Store, Reality int
			Failed         []string
		}
	}
	err := u.query(r.Context(), `mutation($id: String!, $override: Boolean) { applyPlan(id: $id, overrideLimits: $override) { status store reality failed } }`,
		map[string]any{"id": id, "override": r.PostFormValue("override") == "1"}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	a := data.ApplyPlan
	msg := "applied: " + a.Status + ", " + strconv.Itoa(a.Store) + " store fixes, " + strconv.Itoa(a.Reality) + " reality fixes"
	if len(a.Failed) > 0 {
		msg += "; failed: " + strings.Join(a.Failed, "; ")
	}
	redirect(w, r, "/plans/"+url.PathEscape(id), msg)
}

func (u *UI) runs(w http.ResponseWriter, r *http.Request) {
	var data struct{ Runs []run }
	if err := u.query(r.Context(), `{ runs(limit: 100) { `+runFields+` } }`, nil, &data); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.render(w, r, http.StatusOK, "runs", "Runs", data.Runs)
}
