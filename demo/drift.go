package demo

import (
	"context"
	"fmt"

	"github.com/tana-cmdb/tana/inventory"
)

// The scripted change: what someone did by hand in vCenter and DNS.
const (
	ResizedVM    = "web02"
	RenamedTo    = "web02-big"
	ResizedCPUs  = 4
	ResizedMemMB = 8192
	NewVM        = "web09"
	NewVMIP      = "192.0.2.99"
	OrphanRecord = "old-mail." + Zone + " 3600 IN A 192.0.2.250"
)

// The lab's pools, for tana allocate: names svc01, svc02… and addresses
// 192.0.2.100–199 in the lab's zones.
const (
	NamePool = "lab-names"
	IPPool   = "lab-ips"
)

// Declared returns what people keep in the CMDB about the lab: the VMs'
// owner and role, the kind of data tana is the source of truth for, and
// the pools new VMs get their names and addresses from.
func (e *Env) Declared() []inventory.Item {
	items := make([]inventory.Item, 0, len(e.VMs)+2)
	for _, vm := range e.VMs {
		items = append(items, inventory.Item{Type: "vm", Name: vm.Name, Attrs: map[string]any{"owner": vm.Owner, "role": vm.Role}})
	}
	return append(items,
		inventory.Item{Type: "name_pool", Name: NamePool, Attrs: map[string]any{"template": "svc{seq:02}"}},
		inventory.Item{Type: "ip_pool", Name: IPPool, Attrs: map[string]any{"cidr": "192.0.2.0/24",
			"ranges": []any{"192.0.2.100-192.0.2.199"}, "gateway": "192.0.2.1", "zone": Zone}})
}

// Drift changes reality behind tana's back: a VM resized and renamed in
// vCenter, a VM created with no DNS records, and an A record added by hand
// that points at no VM.
func (e *Env) Drift(ctx context.Context) error {
	vm, err := e.VC.VM(ctx, ResizedVM)
	if err != nil {
		return fmt.Errorf("find %s: %w", ResizedVM, err)
	}
	if err := e.VC.Resize(ctx, vm, ResizedCPUs, ResizedMemMB); err != nil {
		return fmt.Errorf("resize %s: %w", ResizedVM, err)
	}
	if err := e.VC.Rename(ctx, vm, RenamedTo); err != nil {
		return fmt.Errorf("rename %s: %w", ResizedVM, err)
	}
	if _, err := e.VC.CreateVM(ctx, NewVM, NewVMIP, NewVM+"."+Zone); err != nil {
		return err
	}
	return e.DNS.Add(OrphanRecord)
}
