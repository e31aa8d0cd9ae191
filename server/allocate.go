package server

import (
	"context"
	"fmt"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// The GraphQL face of the allocator (Options.Allocator): the pools and
// allocations queries; allocate, confirmAllocation and releaseAllocation.

// allocateTypes are the objects the allocation fields return.
type allocateTypes struct {
	grant, pool, allocation *graphql.Object
}

func (b *builder) allocateTypes() allocateTypes {
	s, nns := graphql.String, graphql.NewNonNull(graphql.String)
	strs := graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String)))
	skip := graphql.NewObject(graphql.ObjectConfig{Name: "SkippedValue", Description: "A value the pool would have handed out but reality holds, and why.", Fields: graphql.Fields{
		"value":  {Type: nns, Resolve: prop(func(k allocate.Skip) any { return k.Value })},
		"reason": {Type: nns, Resolve: prop(func(k allocate.Skip) any { return k.Reason })},
	}})
	grant := graphql.NewObject(graphql.ObjectConfig{Name: "Grant", Description: "Values handed out by one request (or confirmed, or released).", Fields: graphql.Fields{
		"pool":      {Type: nns, Resolve: prop(func(g *allocate.Grant) any { return g.Pool })},
		"values":    {Type: strs, Resolve: prop(func(g *allocate.Grant) any { return nonNil(g.Values) })},
		"key":       {Type: s, Description: "the idempotency key", Resolve: prop(func(g *allocate.Grant) any { return optional(g.Key) })},
		"status":    {Type: nns, Description: "held (until expiresAt, unless confirmed), granted or released", Resolve: prop(func(g *allocate.Grant) any { return g.Status })},
		"expiresAt": {Type: s, Resolve: prop(func(g *allocate.Grant) any { return timePtr(g.ExpiresAt) })},
		"for":       {Type: strs, Description: "the entries the values went to, TYPE/NAME", Resolve: prop(func(g *allocate.Grant) any { return nonNil(g.For) })},
		"dnsName":   {Type: s, Description: "the dns_name declared (dns: true)", Resolve: prop(func(g *allocate.Grant) any { return optional(g.DNSName) })},
		"replayed": {Type: graphql.NewNonNull(graphql.Boolean), Description: "the key's grant was made before: this is it again",
			Resolve: prop(func(g *allocate.Grant) any { return g.Replayed })},
		"skipped": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(skip))),
			Resolve: prop(func(g *allocate.Grant) any { return nonNil(g.Skipped) })},
	}})
	// Sizes are Float: GraphQL's Int has 32 bits, an IPv6 pool more.
	pool := graphql.NewObject(graphql.ObjectConfig{Name: "PoolUsage", Description: "An ip_pool or name_pool and how much of it is handed out.", Fields: graphql.Fields{
		"name":    {Type: nns, Resolve: prop(func(u allocate.PoolUsage) any { return u.Name })},
		"type":    {Type: nns, Description: "ip_pool or name_pool", Resolve: prop(func(u allocate.PoolUsage) any { return u.Type })},
		"size":    {Type: graphql.Float, Description: "values the pool holds; null: no end, or a problem", Resolve: prop(func(u allocate.PoolUsage) any { return poolCount(u, u.Size) })},
		"granted": {Type: graphql.NewNonNull(graphql.Int), Resolve: prop(func(u allocate.PoolUsage) any { return u.Granted })},
		"held":    {Type: graphql.NewNonNull(graphql.Int), Description: "held and not yet expired", Resolve: prop(func(u allocate.PoolUsage) any { return u.Held })},
		"free":    {Type: graphql.Float, Description: "size − granted − held; null: no end, or a problem", Resolve: prop(func(u allocate.PoolUsage) any { return poolCount(u, u.Free) })},
		"utilisation": {Type: graphql.Float, Description: "the part handed out, 0 to 1; null: no end, or a problem",
			Resolve: prop(func(u allocate.PoolUsage) any {
				if f, ok := u.Utilisation(); ok {
					return f
				}
				return nil
			})},
		"problem": {Type: s, Description: "why the pool cannot hand out anything", Resolve: prop(func(u allocate.PoolUsage) any { return optional(u.Problem) })},
	}})
	allocation := graphql.NewObject(graphql.ObjectConfig{Name: "Allocation", Description: "One value handed out from a pool.", Fields: graphql.Fields{
		"id":        {Type: nns, Resolve: prop(func(a inventory.Allocation) any { return a.ID })},
		"value":     {Type: nns, Resolve: prop(func(a inventory.Allocation) any { return a.Value })},
		"variant":   {Type: s, Description: "a name template's variables, filled", Resolve: prop(func(a inventory.Allocation) any { return optional(a.Variant) })},
		"seq":       {Type: graphql.NewNonNull(graphql.Float), Description: "the value's place in the pool", Resolve: prop(func(a inventory.Allocation) any { return a.Seq })},
		"key":       {Type: s, Resolve: prop(func(a inventory.Allocation) any { return optional(a.Key) })},
		"status":    {Type: nns, Description: "held, granted, released or expired", Resolve: prop(func(a inventory.Allocation) any { return a.Status })},
		"entry":     {Type: b.entry, Description: "the entry the value went to", Resolve: b.allocationEntry},
		"actor":     {Type: nns, Resolve: prop(func(a inventory.Allocation) any { return a.Actor })},
		"reason":    {Type: s, Resolve: prop(func(a inventory.Allocation) any { return optional(a.Reason) })},
		"createdAt": {Type: nns, Resolve: prop(func(a inventory.Allocation) any { return timeString(a.CreatedAt) })},
		"expiresAt": {Type: s, Resolve: prop(func(a inventory.Allocation) any { return timePtr(a.ExpiresAt) })},
		"endedAt":   {Type: s, Description: "when it was released or expired", Resolve: prop(func(a inventory.Allocation) any { return timePtr(a.EndedAt) })},
	}})
	return allocateTypes{grant: grant, pool: pool, allocation: allocation}
}

// poolCount is a pool's size or free count, or null for a pool with no end
// or a problem.
func poolCount(u allocate.PoolUsage, n int64) any {
	if u.Problem != "" || n < 0 {
		return nil
	}
	return float64(n)
}

// optional is null for "": a grant without a key, a pool without a
// problem.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// allocationEntry loads the entry an allocation is bound to, batched with
// the other allocations of the answer.
func (b *builder) allocationEntry(p graphql.ResolveParams) (any, error) {
	a, ok := p.Source.(inventory.Allocation)
	if !ok || a.EntryID == nil {
		return nil, nil
	}
	return b.thunk(b.visibleThunk(p.Context, loaderFrom(p.Context, b.store).ref(*a.EntryID))), nil
}

// allocateFields are the root fields over the allocator.
func (b *builder) allocateFields(al *allocate.Allocator) (queries, mutations graphql.Fields) {
	t := b.allocateTypes()
	str, nns := graphql.String, graphql.NewNonNull(graphql.String)
	reason := &graphql.ArgumentConfig{Type: str, Description: "recorded in the history"}
	queries = graphql.Fields{
		"pools": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(t.pool))), Description: "Every pool and how much of it is handed out.",
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
				us, err := al.Pools(p.Context)
				if err != nil {
					return nil, err
				}
				return visiblePools(p.Context, b.store, us)
			})},
		"allocations": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(t.allocation))), Description: "A pool's allocations, newest first.",
			Args: graphql.FieldConfigArgument{
				"pool":  {Type: nns},
				"live":  {Type: graphql.Boolean, Description: "held (not expired) and granted ones only"},
				"first": {Type: graphql.Int, Description: fmt.Sprintf("at most this many; without it, more than %d is an error", listBound)},
			},
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) { return b.allocations(p.Context, al, p.Args) })},
	}
	mutations = graphql.Fields{
		"allocate": {Type: t.grant, Description: "Hand out values from a pool, each at most once however many ask at the same time.",
			Args: graphql.FieldConfigArgument{
				"pool":   {Type: nns},
				"count":  {Type: graphql.Int, Description: "how many values (default 1)"},
				"key":    {Type: str, Description: "idempotency key: a retry with it gets the same grant back"},
				"hold":   {Type: str, Description: `reserve for this long (a Go duration, "10m"); the values return to the pool unless confirmed`},
				"for":    {Type: str, Description: "the entry the value is for, TYPE/NAME (or TYPE: new entries named by a name pool)"},
				"dns":    {Type: graphql.Boolean, Description: "declare the entry's dns_name in the pool's zone: the next plan creates its A and PTR records"},
				"vars":   {Type: b.json, Description: `a name template's variables, {"env": "prod"}`},
				"reason": reason,
			},
			Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
				r, err := allocateRequest(p.Context, p.Args)
				if err != nil {
					return nil, err
				}
				if err := poolAccess(p.Context, b.store, r.Pool, access.Write); err != nil {
					return nil, err
				}
				return al.Allocate(p.Context, r)
			})},
		"confirmAllocation": {Type: t.grant, Description: "Make a held grant permanent.",
			Args: graphql.FieldConfigArgument{"pool": {Type: nns}, "key": {Type: nns}},
			Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
				pool, _ := p.Args["pool"].(string)
				key, _ := p.Args["key"].(string)
				if err := poolAccess(p.Context, b.store, pool, access.Write); err != nil {
					return nil, err
				}
				return al.Confirm(p.Context, pool, key)
			})},
		"releaseAllocation": {Type: t.grant, Description: "Give values back to their pool: a key's grant, or the values named.",
			Args: graphql.FieldConfigArgument{
				"pool": {Type: nns}, "key": {Type: str},
				"values": {Type: graphql.NewList(graphql.NewNonNull(graphql.String))}, "reason": reason,
			},
			Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
				pool, _ := p.Args["pool"].(string)
				key, _ := p.Args["key"].(string)
				reason, _ := p.Args["reason"].(string)
				var values []string
				for _, v := range asList(p.Args["values"]) {
					s, _ := v.(string)
					values = append(values, s)
				}
				if err := poolAccess(p.Context, b.store, pool, access.Write); err != nil {
					return nil, err
				}
				return al.Release(p.Context, pool, key, values, reason)
			})},
	}
	return queries, mutations
}

func asList(v any) []any { l, _ := v.([]any); return l }

// allocateRequest reads the allocate mutation's arguments; errors name
// the argument at fault.
func allocateRequest(ctx context.Context, args map[string]any) (allocate.Request, error) {
	str := func(k string) string { v, _ := args[k].(string); return v }
	r := allocate.Request{Pool: str("pool"), Key: str("key"), For: str("for"), Reason: str("reason"), Actor: principalFrom(ctx).Name}
	r.DNS, _ = args["dns"].(bool)
	if n, ok := args["count"].(int); ok {
		if n == 0 { // the allocator reads 0 as "not given"
			return r, schema.FieldErrorf(schema.EINVALID, "count", "want at least 1 value, got 0")
		}
		r.Count = n
	}
	if h := str("hold"); h != "" {
		d, err := time.ParseDuration(h)
		if err != nil {
			return r, schema.FieldErrorf(schema.EINVALID, "hold", "%q is not a duration such as 10m or 1h30m", h)
		}
		r.Hold = d
	}
	if v, ok := args["vars"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return r, schema.FieldErrorf(schema.EINVALID, "vars", `vars must be an object of strings, such as {"env": "prod"}`)
		}
		r.Vars = make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return r, schema.FieldErrorf(schema.EINVALID, "vars."+k, "want a string, got %v", x)
			}
			r.Vars[k] = s
		}
	}
	return r, nil
}

// allocations answers the allocations query: at most first, or an error
// beyond listBound without it.
func (b *builder) allocations(ctx context.Context, al *allocate.Allocator, args map[string]any) ([]inventory.Allocation, error) {
	pool, _ := args["pool"].(string)
	if err := poolAccess(ctx, b.store, pool, access.Read); err != nil {
		return nil, err
	}
	live, _ := args["live"].(bool)
	first, given := args["first"].(int)
	if given && (first < 0 || first > b.lim.maxPage) {
		return nil, schema.FieldErrorf(schema.EINVALID, "first", "first must be between 0 and %d", b.lim.maxPage)
	}
	limit := listBound + 1
	if given {
		if first == 0 {
			return []inventory.Allocation{}, nil
		}
		limit = first
	}
	as, err := al.Allocations(ctx, pool, live, limit)
	if err != nil {
		return nil, err
	}
	if !given {
		return as, overBound(len(as), fmt.Sprintf("pool %s has more than %d allocations", pool, listBound), b.lim.maxPage)
	}
	return as, nil
}

// updatePoolMetrics sets tana_pool_values from the allocator's pools: a
// pool with no end has no free series, one with a problem only what it
// handed out.
func (s *Server) updatePoolMetrics(ctx context.Context) error {
	if s.opts.Allocator == nil {
		return nil
	}
	pools, err := s.opts.Allocator.Pools(ctx)
	if err != nil {
		return err
	}
	g := s.metrics.PoolValues
	g.Reset() // pools deleted since go
	seen := map[string]bool{}
	for _, u := range pools {
		if seen[u.Name] { // a name_pool an ip_pool shadows (Pools says so)
			continue
		}
		seen[u.Name] = true
		g.WithLabelValues(u.Name, "granted").Set(float64(u.Granted))
		g.WithLabelValues(u.Name, "held").Set(float64(u.Held))
		if u.Problem == "" && u.Free >= 0 {
			g.WithLabelValues(u.Name, "free").Set(float64(u.Free))
		}
	}
	return nil
}
