package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/tana-cmdb/tana/inventory"
)

// allocationItems check what pools handed out against reality: an address
// granted to an entry that another VM has, or that a DNS A record of
// another name points at, is a conflict — never silently reassigned. A
// person settles it (release the grant, or change the other side).
// Addresses granted to no entry have no owner to contradict.
func (e *Engine) allocationItems(ctx context.Context, d *dnsView) ([]Item, error) {
	allocs, err := e.store.Allocations(ctx, inventory.AllocationFilter{Live: true})
	if err != nil || len(allocs) == 0 {
		return nil, err
	}
	poolIDs := map[int64]bool{}
	for _, a := range allocs {
		poolIDs[a.PoolID] = true
	}
	ids := make([]int64, 0, len(poolIDs))
	for id := range poolIDs {
		ids = append(ids, id)
	}
	pools, err := e.store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	owned := map[string]inventory.Allocation{} // address → its grant to an entry
	var owners []int64
	for _, a := range allocs {
		if p := pools[a.PoolID]; p != nil && p.Type == "ip_pool" && a.EntryID != nil {
			owned[a.Value] = a
			owners = append(owners, *a.EntryID)
		}
	}
	if len(owned) == 0 {
		return nil, nil
	}
	bound, err := e.store.GetMany(ctx, owners)
	if err != nil {
		return nil, err
	}
	conflict := func(a inventory.Allocation, other string) Item {
		owner := fmt.Sprintf("entry %d", *a.EntryID)
		if en := bound[*a.EntryID]; en != nil {
			owner = en.Type + " " + en.Name
		}
		pool := pools[a.PoolID]
		return Item{Kind: Conflict, Type: pool.Type, Scope: CrossScope, EntryID: pool.ID, EntryName: pool.Name, ObjectID: "allocation:" + a.Value,
			Attr: "allocation", Message: fmt.Sprintf("%s was granted from %s to %s (key %q), but %s; release the grant or change the other side",
				a.Value, pool.Name, owner, a.Key, other)}
	}
	var out []Item
	err = e.store.Each(ctx, "vm", func(vm *inventory.Entry) error {
		for _, ip := range vmAddresses(vm) {
			if a, ok := owned[ip]; ok && *a.EntryID != vm.ID {
				out = append(out, conflict(a, "vm "+vm.Name+" has it"))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range d.all {
		value, _ := r.Attrs["value"].(string)
		fqdn, _ := r.Attrs["fqdn"].(string)
		a, ok := owned[value]
		if !ok || r.Attrs["rtype"] == "PTR" {
			continue
		}
		if en := bound[*a.EntryID]; en == nil || en.Attrs["dns_name"] != fqdn {
			out = append(out, conflict(a, fmt.Sprintf("the A record %s points at it", fqdn)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out, nil
}

// vmAddresses are a VM's addresses: ip and ips.
func vmAddresses(vm *inventory.Entry) []string {
	var out []string
	if ip, _ := vm.Attrs["ip"].(string); ip != "" {
		out = append(out, ip)
	}
	if l, ok := vm.Attrs["ips"].([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
