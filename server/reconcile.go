package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// SourceInfo names a configured source for the sources query.
type SourceInfo struct {
	Name string
	Type string // vsphere | dns
}

// field is one GraphQL field read from a JSON-shaped map under key.
type field struct {
	key string
	typ graphql.Output
}

// jsonObject builds an object type whose fields read a map decoded from the
// JSON form of reconcile's types, so the GraphQL view cannot drift from
// the CLI's --json output.
func jsonObject(name, desc string, fields map[string]field) *graphql.Object {
	fs := graphql.Fields{}
	for gql, f := range fields {
		key := f.key
		fs[gql] = &graphql.Field{Type: f.typ, Resolve: func(p graphql.ResolveParams) (any, error) {
			m, _ := p.Source.(map[string]any)
			return m[key], nil
		}}
	}
	return graphql.NewObject(graphql.ObjectConfig{Name: name, Description: desc, Fields: fs})
}

// asJSON turns v into maps and slices as encoding/json sees it.
func asJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return numbers(out), nil
}

// numbers turns json.Number into int64 or float64 for GraphQL's scalars.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

func (b *builder) reconcileTypes() (drift, plan, run, report, source, apply, collect *graphql.Object) {
	s, i, j := graphql.String, graphql.Int, b.json
	drift = jsonObject("DriftItem", "One difference between the store and reality.", map[string]field{
		"id": {"id", s}, "kind": {"kind", s}, "type": {"type", s}, "scope": {"scope", s}, "source": {"source", s},
		"entryId": {"entry_id", i}, "entryName": {"entry_name", s}, "attr": {"attr", s}, "store": {"store", j},
		"actual": {"actual", j}, "authority": {"authority", s}, "message": {"message", s}, "fix": {"fix", j},
		"firstSeen": {"first_seen", s}, "lastSeen": {"last_seen", s}, "resolvedAt": {"resolved_at", s},
		"objectId": {"object_id", s}, "object": {"object", j},
	})
	fix := jsonObject("PlanFix", "One fix of a plan: to the store (observed) or to reality (declared).", map[string]field{
		"kind": {"kind", s}, "type": {"type", s}, "scope": {"scope", s}, "entryId": {"entry_id", i},
		"entryName": {"entry_name", s}, "attr": {"attr", s}, "direction": {"direction", s}, "action": {"action", s},
		"authority": {"authority", s}, "policy": {"policy", s}, "message": {"message", s}, "attrs": {"attrs", j},
		"reality": {"reality", j}, "name": {"name", s}, "store": {"store", j}, "actual": {"actual", j},
	})
	plan = jsonObject("Plan", "Fixes for the drift of one moment, with the versions they were computed from.", map[string]field{
		"id": {"id", s}, "actor": {"actor", s}, "status": {"status", s}, "createdAt": {"created_at", s},
		"appliedAt": {"applied_at", s}, "error": {"error", s}, "fixes": {"fixes", graphql.NewList(fix)},
		"runId": {"run_id", s}, "limits": {"limits", s},
	})
	run = jsonObject("Run", "A collection, reconcile, apply, plan or schedule run: running, ok, partial, failed or interrupted (its process died).", map[string]field{
		"id": {"id", s}, "kind": {"kind", s}, "source": {"source", s}, "status": {"status", s},
		"startedAt": {"started_at", s}, "durationNs": {"duration", graphql.Float}, "objects": {"objects", i},
		"changes": {"changes", i}, "errors": {"errors", graphql.NewList(s)}, "detail": {"detail", s},
		"holder": {"holder", s}, "tick": {"tick", s},
	})
	report = jsonObject("Report", "A stored drift report.", map[string]field{
		"id": {"id", s}, "schedule": {"schedule", s}, "createdAt": {"created_at", s}, "summary": {"summary", j},
	})
	source = jsonObject("Source", "A configured source and its last collection.", map[string]field{
		"name": {"name", s}, "type": {"type", s}, "lastRun": {"last_run", run},
	})
	apply = jsonObject("ApplyResult", "What applying a plan did.", map[string]field{
		"plan": {"plan", s}, "status": {"status", s}, "store": {"store", i}, "reality": {"reality", i},
		"failed": {"failed", graphql.NewList(s)},
	})
	collect = jsonObject("CollectResult", "What one scope's collection did.", map[string]field{
		"scope": {"scope", s}, "snapshotId": {"snapshot_id", s}, "complete": {"complete", graphql.Boolean},
		"objects": {"objects", i}, "applied": {"applied", i}, "stale": {"stale", i}, "deleted": {"deleted", i},
		"open": {"open", i}, "fixed": {"fixed", i}, "limited": {"limited", s},
		"suspect": {"suspect", graphql.Boolean}, "errors": {"errors", graphql.NewList(s)},
	})
	return
}

// filterArgs are the scope arguments shared by drift and plan.
var filterArgs = graphql.FieldConfigArgument{
	"source": {Type: graphql.String, Description: "scope (vsphere:vc1), source kind (vsphere, dns, cross) or source name (vc1)"},
	"type":   {Type: graphql.String}, "entry": {Type: graphql.String},
	"kind": {Type: graphql.String, Description: "missing_in_store, missing_in_reality, changed or conflict"},
}

func driftFilter(args map[string]any) reconcile.Filter {
	str := func(k string) string { v, _ := args[k].(string); return v }
	res, _ := args["resolved"].(bool)
	return reconcile.Filter{Source: str("source"), Type: str("type"), Entry: str("entry"), Kind: reconcile.Kind(str("kind")), Resolved: res}
}

func limitArg(args map[string]any, def int) int {
	if n, ok := args["limit"].(int); ok && n > 0 {
		return min(n, 500)
	}
	return def
}

// argsFunc resolves a field from its arguments.
type argsFunc func(ctx context.Context, args map[string]any) (any, error)

// jsonResolver resolves a field with fn, its value as encoding/json sees
// it (for jsonObject types), its error with its code.
func jsonResolver(fn argsFunc) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		v, err := fn(p.Context, p.Args)
		if err != nil {
			return nil, CodedError(err)
		}
		return asJSON(v)
	}
}

// needRole runs fn only for a caller of at least role.
func needRole(role string, fn argsFunc) argsFunc {
	return func(ctx context.Context, a map[string]any) (any, error) {
		if err := requireRole(ctx, role); err != nil {
			return nil, err
		}
		return fn(ctx, a)
	}
}

// planWithLimits is a plan with the safety limit its apply would trip.
type planWithLimits struct {
	*reconcile.Plan
	Limits string `json:"limits,omitempty"`
}

// reconcileFields are the root fields over the reconcile engine.
func (b *builder) reconcileFields(opts Options) (graphql.Fields, graphql.Fields) {
	e := opts.Reconcile
	drift, plan, run, report, source, apply, collect := b.reconcileTypes()
	// operator wraps what acts on the whole store and reality, beyond
	// any one entry a grant names: it needs the writer role.
	operator := func(fn argsFunc) graphql.FieldResolveFn { return jsonResolver(needRole(inventory.RoleWriter, fn)) }
	driftArgs := graphql.FieldConfigArgument{
		"resolved": {Type: graphql.Boolean},
		"first":    {Type: graphql.Int, Description: fmt.Sprintf("at most this many; without it, more than %d is an error", listBound)},
	}
	for k, v := range filterArgs {
		driftArgs[k] = v
	}
	queries := graphql.Fields{
		"drift": {Type: graphql.NewList(drift), Args: driftArgs, Description: "Open drift (or resolved, with resolved: true).",
			Resolve: jsonResolver(func(ctx context.Context, a map[string]any) (any, error) {
				recs, err := e.Drift(ctx, driftFilter(a))
				if err != nil {
					return nil, err
				}
				if recs, err = visibleItems(ctx, b.store, recs); err != nil {
					return nil, err
				}
				if first, ok := a["first"].(int); ok {
					return recs[:min(len(recs), max(first, 0))], nil
				}
				return recs, overBound(len(recs), fmt.Sprintf("there are more than %d drift records", listBound), b.lim.maxPage)
			})},
		"plans": {Type: graphql.NewList(plan), Args: graphql.FieldConfigArgument{"limit": {Type: graphql.Int}},
			Resolve: jsonResolver(func(ctx context.Context, a map[string]any) (any, error) {
				recs, err := e.Plans(ctx, limitArg(a, 20))
				if err != nil {
					return nil, err
				}
				out := make([]*reconcile.Plan, 0, len(recs))
				for _, r := range recs {
					p, err := e.Plan(ctx, r.ID)
					if err == nil {
						p, err = visiblePlan(ctx, b.store, p)
					}
					switch {
					case schema.ErrorCode(err) == schema.ENOTFOUND:
						continue // none of its fixes is the caller's to see
					case err != nil:
						return nil, err
					}
					out = append(out, p)
				}
				return out, nil
			})},
		"plan": {Type: plan, Args: graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.String)}},
			Resolve: jsonResolver(func(ctx context.Context, a map[string]any) (any, error) {
				p, err := e.Plan(ctx, a["id"].(string))
				if err != nil {
					return nil, err
				}
				limits := "" // of the whole plan, as apply checks it; its counts only for admins
				if p.Status == inventory.PlanProposed || p.Status == inventory.PlanInterrupted {
					limits = e.LimitProblem(p)
				}
				if limits != "" && requireRole(ctx, inventory.RoleAdmin) != nil {
					limits = "applying it would trip a safety limit: an admin may review it and apply past the limit"
				}
				if p, err = visiblePlan(ctx, b.store, p); err != nil {
					return nil, err
				}
				return planWithLimits{p, limits}, nil
			})},
		"runs": {Type: graphql.NewList(run), Args: graphql.FieldConfigArgument{"kind": {Type: graphql.String}, "source": {Type: graphql.String}, "limit": {Type: graphql.Int}},
			Resolve: jsonResolver(func(ctx context.Context, a map[string]any) (any, error) {
				k, _ := a["kind"].(string)
				src, _ := a["source"].(string)
				return e.Runs(ctx, inventory.RunFilter{Kind: k, Source: src, Limit: limitArg(a, 50)})
			})},
		"reports": {Type: graphql.NewList(report), Args: graphql.FieldConfigArgument{"limit": {Type: graphql.Int}},
			Resolve: jsonResolver(func(ctx context.Context, a map[string]any) (any, error) {
				recs, err := e.Reports(ctx, limitArg(a, 20))
				if err != nil {
					return nil, err
				}
				// Each summary is counted from the report's items the
				// caller may see.
				out := make([]map[string]any, 0, len(recs))
				for _, r := range recs {
					rep, err := e.StoredReport(ctx, r.ID)
					if err == nil {
						rep, err = visibleReport(ctx, b.store, rep)
					}
					if err != nil {
						return nil, err
					}
					out = append(out, map[string]any{"id": r.ID, "schedule": r.Schedule, "created_at": r.CreatedAt, "summary": rep.Summary})
				}
				return out, nil
			})},
		"sources": {Type: graphql.NewList(source), Description: "Configured sources with their last collection.",
			Resolve: jsonResolver(func(ctx context.Context, _ map[string]any) (any, error) { return sources(ctx, e, opts.Sources) })},
	}
	mutations := graphql.Fields{
		"collect": {Type: graphql.NewList(collect), Args: graphql.FieldConfigArgument{"source": {Type: graphql.NewNonNull(graphql.String)}},
			Description: "Collect one configured source and reconcile it now.",
			Resolve: operator(func(ctx context.Context, a map[string]any) (any, error) {
				if opts.Collect == nil {
					return nil, schema.Errorf(schema.EINVALID, "no sources are configured")
				}
				return opts.Collect(ctx, a["source"].(string))
			})},
		"plan": {Type: plan, Args: filterArgs, Description: "Compute and store a plan for the current drift.",
			Resolve: operator(func(ctx context.Context, a map[string]any) (any, error) { return e.MakePlan(ctx, driftFilter(a)) })},
		"applyPlan": {Type: apply, Args: graphql.FieldConfigArgument{
			"id": {Type: graphql.NewNonNull(graphql.String)}, "overrideLimits": {Type: graphql.Boolean, Description: "apply past the safety limits (admins only)"}},
			Resolve: operator(func(ctx context.Context, a map[string]any) (any, error) {
				override, _ := a["overrideLimits"].(bool)
				if override {
					// Past a safety limit is an admin's call, as the limits are theirs.
					if err := requireRole(ctx, inventory.RoleAdmin); err != nil {
						return nil, schema.FieldErrorf(schema.EFORBIDDEN, "overrideLimits", "only an admin may apply past the safety limits: %v", err)
					}
				}
				return e.Apply(ctx, a["id"].(string), reconcile.ApplyOptions{OverrideLimits: override})
			})},
	}
	return queries, mutations
}

// sources pairs each configured source with its newest collection run.
func sources(ctx context.Context, e *reconcile.Engine, infos []SourceInfo) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(infos))
	for _, si := range infos {
		m := map[string]any{"name": si.Name, "type": si.Type}
		runs, err := e.Runs(ctx, inventory.RunFilter{Kind: "collect", Source: si.Name, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			m["last_run"] = runs[0]
		}
		out = append(out, m)
	}
	return out, nil
}

// reports serves /reports: the current drift report rendered as
// ?format=md|json|html (default html), or a stored one with ?id=.
func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	e := s.opts.Reconcile
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	var rep *reconcile.Report
	var err error
	if id := r.URL.Query().Get("id"); id != "" {
		rep, err = e.StoredReport(r.Context(), id)
	} else {
		since := 24 * time.Hour
		if d, perr := time.ParseDuration(r.URL.Query().Get("since")); perr == nil {
			since = d
		}
		rep, err = e.Report(r.Context(), time.Now().Add(-since))
	}
	if err == nil {
		rep, err = visibleReport(r.Context(), s.store, rep)
	}
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	ctype := map[string]string{"md": "text/markdown; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8"}[format]
	if ctype == "" {
		writeError(w, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "format", "want md, json or html, got %q", format))
		return
	}
	w.Header().Set("Content-Type", ctype)
	if err := reconcile.Render(w, rep, format); err != nil {
		s.log.Warn("render report", "err", err)
	}
}

// refreshMetrics keeps the drift, run and pool metrics current: open
// drift by kind, the day's runs by kind and status, the duration and
// object count of each finished collection run, and each pool's values by
// state, read from the store every interval.
func (s *Server) refreshMetrics(ctx context.Context, every time.Duration) {
	seen := map[string]bool{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := s.updateMetrics(ctx, seen); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Server) updateMetrics(ctx context.Context, seen map[string]bool) error {
	return errors.Join(s.updateDriftMetrics(ctx, seen), s.updatePoolMetrics(ctx))
}

func (s *Server) updateDriftMetrics(ctx context.Context, seen map[string]bool) error {
	e := s.opts.Reconcile
	if e == nil {
		return nil
	}
	items, err := e.Drift(ctx, reconcile.Filter{})
	if err != nil {
		return err
	}
	counts := map[string]float64{"missing_in_store": 0, "missing_in_reality": 0, "changed": 0, "conflict": 0}
	for _, it := range items {
		counts[string(it.Kind)]++
	}
	for k, n := range counts {
		s.metrics.DriftOpen.WithLabelValues(k).Set(n)
	}
	runs, err := e.Runs(ctx, inventory.RunFilter{Since: time.Now().Add(-24 * time.Hour), Limit: 10000})
	if err != nil {
		return err
	}
	s.metrics.Runs.Reset()
	for _, r := range runs {
		s.metrics.Runs.WithLabelValues(r.Kind, r.Status).Inc()
		if r.Kind != "collect" || !r.Finished() || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		s.metrics.CollectionDuration.WithLabelValues(r.Source).Observe(r.Duration.Seconds())
		s.metrics.CollectionObjects.WithLabelValues(r.Source, "all").Set(float64(r.Objects))
	}
	return nil
}

func statusOf(err error) int {
	switch schema.ErrorCode(err) {
	case schema.ENOTFOUND:
		return http.StatusNotFound
	case schema.EINVALID:
		return http.StatusBadRequest
	case schema.EBUSY:
		return http.StatusServiceUnavailable
	case schema.EFORBIDDEN:
		return http.StatusForbidden
	case schema.EUNAUTHORIZED:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}
