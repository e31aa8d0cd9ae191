package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// Allocation against the real peers: the simulator's VMs and a real named.

// TestAllocationSkipsWhatRealityHolds: an address only DNS has (a record
// added by hand with nsupdate) and one only a VM's guest NIC has are never
// handed out, and the reasons name the collections that saw them; an
// address only open drift knows of (a record the store has not taken in)
// neither.
func TestAllocationSkipsWhatRealityHolds(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		l := newLab(t, s, []labVM{web01, {"app07", "192.0.2.7", ""}}, web01Fwd, web01Rev)
		l.nsupdate("update add hand.example.test. 300 A 192.0.2.5\nsend")
		l.collect(l.engine(reconcile.Options{}))
		if _, err := s.Create(ctx, inventorytest.Meta("admin"), "ip_pool", "lab", map[string]any{
			"cidr": "192.0.2.0/24", "ranges": []any{"192.0.2.5-192.0.2.10"}, "zone": "example.test."}); err != nil {
			t.Fatal(err)
		}
		a := allocate.New(s, allocate.Options{})
		g, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.Values, []string{"192.0.2.6", "192.0.2.8"}) || len(g.Skipped) != 2 {
			t.Fatalf("grant: %+v", g)
		}
		why := map[string]string{}
		for _, sk := range g.Skipped {
			why[sk.Value] = sk.Reason
		}
		if r := why["192.0.2.5"]; !strings.Contains(r, "hand.example.test. A 192.0.2.5 has it (value)") || !strings.Contains(r, "seen by dns:example.test.") || !strings.Contains(r, "snapshot 0") {
			t.Errorf("why not .5: %q", r)
		}
		if r := why["192.0.2.7"]; !strings.Contains(r, "vm app07 has it (ip)") || !strings.Contains(r, "seen by vsphere:vc1") {
			t.Errorf("why not .7: %q", r)
		}
		// Records are proposed, not stored: the next one is only in drift.
		e := l.engine(reconcile.Options{Policies: map[string]reconcile.Policy{"dns_record": {Observed: "propose"}}})
		l.nsupdate("update add late.example.test. 300 A 192.0.2.9\nsend")
		l.collect(e)
		g, err = a.Allocate(ctx, allocate.Request{Pool: "lab"})
		if err != nil || g.Values[0] != "192.0.2.10" || len(g.Skipped) != 1 || !strings.Contains(g.Skipped[0].Reason, "open missing_in_store drift") {
			t.Fatalf("past an address only drift has: %+v, %v", g, err)
		}
	})
}

// TestProvisioningAVM is the README's walk-through: a name and an address
// for a new VM, its DNS records declared and created on the real named by
// a plan, then the VM made in vCenter and collected: it matches the entry
// the allocation made. An address granted to it that another VM then
// shows is a conflict.
func TestProvisioningAVM(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		l := newLab(t, s, []labVM{web01, {"rogue", "192.0.2.99", ""}}, web01Fwd, web01Rev)
		e := l.engine(reconcile.Options{})
		l.collect(e)
		for typ, attrs := range map[string]map[string]any{
			"name_pool": {"template": "app{seq:02}"},
			"ip_pool":   {"cidr": "192.0.2.0/24", "ranges": []any{"192.0.2.50-192.0.2.59"}, "zone": "example.test."},
		} {
			if _, err := s.Create(ctx, inventorytest.Meta("admin"), typ, "lab-"+strings.TrimSuffix(typ, "_pool"), attrs); err != nil {
				t.Fatal(err)
			}
		}
		a := allocate.New(s, allocate.Options{})
		name, err := a.Allocate(ctx, allocate.Request{Pool: "lab-name", For: "vm", Key: "ticket-42"})
		if err != nil || !slices.Equal(name.Values, []string{"app01"}) {
			t.Fatalf("name: %+v, %v", name, err)
		}
		ip, err := a.Allocate(ctx, allocate.Request{Pool: "lab-ip", For: "vm/app01", DNS: true, Key: "ticket-42"})
		if err != nil || !slices.Equal(ip.Values, []string{"192.0.2.50"}) || ip.DNSName != "app01.example.test." {
			t.Fatalf("address: %+v, %v", ip, err)
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		lines := planLines(p)
		if len(lines) != 2 || !anyContains(lines, "create dns_record app01.example.test. A 192.0.2.50") || !anyContains(lines, "create dns_record 50.2.0.192.in-addr.arpa. PTR app01.example.test.") {
			t.Fatalf("plan: %v", lines)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		entry := get(t, s, "vm", "app01")
		vm, err := l.vc.CreateVM(ctx, "app01", "192.0.2.50", "app01.example.test")
		if err != nil {
			t.Fatal(err)
		}
		l.vms["app01"] = vm
		l.collect(e)
		get(t, s, "dns_record", "app01.example.test. A 192.0.2.50")
		if got := get(t, s, "vm", "app01"); got.ID != entry.ID || got.Attrs["instance_uuid"] == nil {
			t.Fatalf("the VM did not match the allocated entry: %d %v (was %d)", got.ID, got.Attrs, entry.ID)
		}
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("drift after provisioning: %v", open)
		}
		// Someone gives another VM the same address by hand.
		if err := l.vc.SetGuest(ctx, l.vms["rogue"], "192.0.2.50", ""); err != nil {
			t.Fatal(err)
		}
		l.collect(e)
		if open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope}); !anyContains(open, "192.0.2.50 was granted from lab-ip to vm app01", "vm rogue has it") {
			t.Fatalf("no conflict for an address granted to app01 on rogue: %v", open)
		}
	})
}
