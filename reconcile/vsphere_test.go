package reconcile_test

import (
	"context"
	"crypto/tls"
	"net/url"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/vsphere"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// TestVSphereSimulator collects a simulated vCenter (every entity type,
// references between them), re-collects with zero drift, renames a VM in
// vCenter (one change, applied by policy), and pushes a declared
// annotation back to vCenter through a plan.
func TestVSphereSimulator(t *testing.T) {
	m := simulator.VPX()
	m.Machine = 1
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.Listen = &url.URL{User: url.UserPassword("tana", "pw")}
	srv := m.Service.NewServer()
	defer func() { srv.Close(); m.Remove() }()
	ca, err := srv.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	u := *srv.URL
	u.User = nil
	cfg := vsphere.Config{Name: "vc1", URL: u.String(), Username: "tana", Password: "pw", CAFile: ca, Timeout: 10 * time.Second}
	col, err := vsphere.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixer, err := vsphere.NewFixer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := inventorytest.Open(t, "sqlite")
	e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fixer}})
	sums, err := e.Collect(ctx, col)
	if err != nil || len(sums) != 1 || sums[0].Applied == 0 {
		t.Fatalf("first collection: %+v, %v", sums, err)
	}
	open, _ := e.Drift(ctx, reconcile.Filter{Source: "vsphere:vc1"})
	if len(open) != 0 {
		t.Fatalf("drift after the first collection: %v", open)
	}
	sums, err = e.Collect(ctx, col)
	if err != nil || sums[0].Applied != 0 || sums[0].Open != 0 {
		t.Fatalf("unchanged re-collection: %+v, %v", sums, err)
	}

	admin, err := govmomi.NewClient(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	vms, err := find.NewFinder(admin.Client).VirtualMachineList(ctx, "*")
	if err != nil || len(vms) == 0 {
		t.Fatalf("find vms: %v", err)
	}
	oldName := vms[0].Name()
	task, err := vms[0].Rename(ctx, "renamed-vm")
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	before := get(t, s, "vm", oldName)
	sums, err = e.Collect(ctx, col)
	if err != nil || sums[0].Applied != 1 {
		t.Fatalf("after rename: %+v, %v", sums, err)
	}
	if after := get(t, s, "vm", "renamed-vm"); after.ID != before.ID {
		t.Fatalf("rename made a new entry %d (was %d)", after.ID, before.ID)
	}

	if _, err := s.Update(ctx, inventorytest.Meta("alice"), before.ID, inventory.Patch{Attrs: map[string]any{"annotation": "owned by the web team"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Collect(ctx, col); err != nil {
		t.Fatal(err)
	}
	p, err := e.MakePlan(ctx, reconcile.Filter{Source: "vsphere:vc1"})
	if err != nil || p.Actionable() != 1 || p.Fixes[0].Reality == nil {
		t.Fatalf("plan: %+v, %v", p, err)
	}
	res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
	if err != nil || res.Reality != 1 {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	sums, err = e.Collect(ctx, col)
	if err != nil || sums[0].Open != 0 {
		t.Fatalf("after pushing the annotation: %+v, %v", sums, err)
	}
}
