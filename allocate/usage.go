package allocate

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/tana-cmdb/tana/inventory"
)

// PoolUsage is how much of a pool is handed out. Values reality holds but
// the pool never handed out (an address a VM took by hand) count as free:
// a grant skips them, saying why.
type PoolUsage struct {
	Name, Type string
	// Size is how many values the pool holds: -1 for a name pool with no
	// end. A template with variables ({env}-db{seq}) numbers each variant
	// on its own: Size is one variant's.
	Size int64
	// Granted and Held count the pool's live values (holds not yet
	// expired), over every variant.
	Granted, Held int
	// Free is Size − Granted − Held (of the fullest variant, for a
	// template with variables); -1 with no end.
	Free int64
	// Problem says why the pool cannot hand out anything — its attributes
	// are invalid, its addresses overlap another pool's, or an ip_pool
	// has its name — and is "" for a sound pool. Size and Free are then 0.
	Problem string
}

// Utilisation is the part of the pool handed out, 0 to 1; ok is false
// for a pool with no end or a problem.
func (u PoolUsage) Utilisation() (float64, bool) {
	if u.Size <= 0 || u.Problem != "" {
		return 0, false
	}
	return float64(u.Size-u.Free) / float64(u.Size), true
}

// Pools returns the size and use of every ip_pool and name_pool, by name.
func (a *Allocator) Pools(ctx context.Context) ([]PoolUsage, error) {
	counts, err := a.store.AllocationCounts(ctx)
	if err != nil {
		return nil, err
	}
	pools, problems, err := a.readPools(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PoolUsage, 0, len(pools))
	for _, p := range pools {
		c := counts[p.Entry.ID]
		u := PoolUsage{Name: p.Name, Type: p.Type, Granted: c.Granted, Held: c.Held, Problem: problems[p.Entry.ID]}
		if u.Problem == "" {
			if err := a.size(ctx, p, &u); err != nil {
				return nil, err
			}
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y PoolUsage) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Type, y.Type)) })
	return out, nil
}

// readPools reads every pool entry, and why those that cannot hand out
// anything cannot: a pool whose entry does not read is returned with
// only its entry, name and type.
func (a *Allocator) readPools(ctx context.Context) ([]*Pool, map[int64]string, error) {
	var pools []*Pool
	problems := map[int64]string{}
	for _, typ := range []string{IPPool, NamePool} {
		err := a.store.Each(ctx, typ, func(en *inventory.Entry) error {
			p, err := poolOf(a.store.Registry(), en)
			if err != nil {
				p, problems[en.ID] = &Pool{Entry: en, Name: en.Name, Type: en.Type}, err.Error()
			}
			pools = append(pools, p)
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read %s entries: %w", typ, err)
		}
	}
	ipNames := map[string]bool{}
	for _, p := range pools {
		if p.Type == IPPool {
			ipNames[p.Name] = true
		} else if ipNames[p.Name] {
			problems[p.Entry.ID] = fmt.Sprintf("an ip_pool is named %s too: allocate reaches that one", p.Name)
		}
	}
	for _, p := range pools {
		for _, q := range pools {
			if p != q && p.space != nil && q.space != nil && problems[p.Entry.ID] == "" && p.space.prefix.Overlaps(q.space.prefix) {
				problems[p.Entry.ID] = fmt.Sprintf("cidr: %s overlaps pool %s (%s): an address would have two pools", p.space.prefix, q.Name, q.space.prefix)
			}
		}
	}
	return pools, problems, nil
}

// size fills in a sound pool's size and what is free of it.
func (a *Allocator) size(ctx context.Context, p *Pool, u *PoolUsage) error {
	u.Size = p.Size()
	if u.Size == 1<<63-1 {
		u.Size, u.Free = -1, -1
		return nil
	}
	used := int64(u.Granted + u.Held)
	if hasVars(p.tmpl) {
		var err error
		if used, err = a.fullestVariant(ctx, p); err != nil {
			return err
		}
	}
	u.Free = max(u.Size-used, 0)
	return nil
}

// fullestVariant is the most live values one variant of a pool has.
func (a *Allocator) fullestVariant(ctx context.Context, p *Pool) (int64, error) {
	live, err := a.store.Allocations(ctx, inventory.AllocationFilter{PoolID: p.Entry.ID, Live: true})
	if err != nil {
		return 0, err
	}
	per := map[string]int64{}
	for _, x := range live {
		per[x.Variant]++
	}
	var most int64
	for _, n := range per {
		most = max(most, n)
	}
	return most, nil
}

// hasVars reports a name template with variables, whose variants number
// on their own.
func hasVars(t *template) bool {
	if t == nil {
		return false
	}
	return slices.ContainsFunc(t.parts, func(x part) bool { return x.name != "" })
}

// Allocations returns the allocations of the pool named pool, newest
// first: only live ones (held and not expired, or granted) when live is
// set; at most limit of them (0: all). A pool whose attributes are
// invalid still lists what it handed out.
func (a *Allocator) Allocations(ctx context.Context, pool string, live bool, limit int) ([]inventory.Allocation, error) {
	en, err := poolEntry(ctx, a.store, pool)
	if err != nil {
		return nil, err
	}
	return a.store.Allocations(ctx, inventory.AllocationFilter{PoolID: en.ID, Live: live, Limit: limit})
}
