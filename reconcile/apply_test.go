package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

func proposeAll() map[string]reconcile.Policy {
	return map[string]reconcile.Policy{"vm": {Observed: "propose"}, "dns_record": {Observed: "propose"}, "dns_zone": {Observed: "propose"}}
}

// seeded returns an engine with two VMs in the store, web1 declaring owner
// alice, and open drift: web1's cpus (observed) and owner (declared).
func seeded(t *testing.T, s *inventory.Store, fx ...collectors.Fixer) *reconcile.Engine {
	t.Helper()
	e := reconcile.New(s, reconcile.Options{Fixers: fx})
	reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"cpus": 2}), vmObj("u2", "web2", nil)))
	web1 := get(t, s, "vm", "web1")
	if _, err := s.Update(context.Background(), inventorytest.Meta("alice"), web1.ID, inventory.Patch{Attrs: map[string]any{"owner": "alice"}}); err != nil {
		t.Fatal(err)
	}
	e = reconcile.New(s, reconcile.Options{Fixers: fx, Policies: proposeAll()})
	reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"cpus": 4, "owner": "bob"}), vmObj("u2", "web2", nil)))
	return e
}

func TestPlanApply(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fx := &fakeFixer{scope: "vsphere:vc1"}
		e := seeded(t, s, fx)
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: "vsphere:vc1"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Actionable() != 2 {
			t.Fatalf("plan fixes = %v", p.Fixes)
		}
		res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Store != 1 || res.Reality != 1 || res.Status != inventory.PlanApplied {
			t.Fatalf("apply = %+v", res)
		}
		if len(fx.got) != 1 || fx.got[0].Op != collectors.OpUpdate || fx.got[0].Attr != "owner" || fx.got[0].New != "alice" || fx.got[0].Old != "bob" {
			t.Fatalf("fixer got %v", fx.got)
		}
		web1 := get(t, s, "vm", "web1")
		if web1.Attrs["cpus"] != int64(4) || web1.Attrs["owner"] != "alice" {
			t.Fatalf("web1 = %v", web1.Attrs)
		}
		hist, _ := s.History(ctx, web1.ID)
		if src := hist[len(hist)-1].Source; src != "plan:"+p.ID {
			t.Fatalf("last version source = %s", src)
		}
		if open, _ := e.Drift(ctx, reconcile.Filter{Source: "vsphere"}); len(open) != 0 {
			t.Fatalf("open drift after apply = %v", open)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("second apply: %v", err)
		}
		got, err := e.Plan(ctx, p.ID)
		if err != nil || got.Status != inventory.PlanApplied {
			t.Fatalf("stored plan = %+v, %v", got, err)
		}
	})
}

func TestStalePlanRefused(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := seeded(t, s, &fakeFixer{scope: "vsphere:vc1"})
		p, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		web1 := get(t, s, "vm", "web1")
		if _, err := s.Update(ctx, inventorytest.Meta("bob"), web1.ID, inventory.Patch{Attrs: map[string]any{"role": "db"}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorCode(err) != schema.ESTALE || !strings.Contains(err.Error(), "stale") {
			t.Fatalf("apply of a stale plan: %v", err)
		}
		if got := get(t, s, "vm", "web1"); got.Attrs["cpus"] != int64(2) {
			t.Fatalf("stale plan changed the store: %v", got.Attrs)
		}
	})
}

func TestConcurrentApplies(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fx := &fakeFixer{scope: "vsphere:vc1", block: make(chan struct{}), entered: make(chan struct{}, 1)}
		e := seeded(t, s, fx)
		p1, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := e.Apply(ctx, p1.ID, reconcile.ApplyOptions{})
			done <- err
		}()
		<-fx.entered // the first apply holds the lock and waits in the fixer
		_, err2 := e.Apply(ctx, p2.ID, reconcile.ApplyOptions{})
		close(fx.block)
		if err := <-done; err != nil {
			t.Fatalf("first apply: %v", err)
		}
		if schema.ErrorCode(err2) != schema.ELOCKED || !strings.Contains(err2.Error(), "(apply plan:"+p1.ID) {
			t.Fatalf("second apply: %v, want locked by the run applying plan %s", err2, p1.ID)
		}
		// The refused plan is still proposed, and now stale.
		if _, err := e.Apply(ctx, p2.ID, reconcile.ApplyOptions{}); schema.ErrorCode(err) != schema.ESTALE {
			t.Fatalf("re-run of the refused plan: %v", err)
		}
	})
}

func TestSafetyLimits(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {MaxDeletes: 1}}})
		var objs []collectors.Object
		for i := 0; i < 12; i++ {
			objs = append(objs, vmObj(fmt.Sprint("u", i), fmt.Sprint("vm", i), nil))
		}
		reconcileOK(t, e, vcSnap(true, objs...))
		reconcileOK(t, e, vcSnap(true, objs[2:]...))
		p, err := e.MakePlan(ctx, reconcile.Filter{Kind: reconcile.MissingInReality})
		if err != nil || p.Actionable() != 2 {
			t.Fatalf("plan = %+v, %v", p, err)
		}
		_, err = e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorField(err) != "limits" || !strings.Contains(err.Error(), "max_deletes 1") {
			t.Fatalf("apply past max_deletes: %v", err)
		}
		res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{OverrideLimits: true})
		if err != nil || res.Store != 2 {
			t.Fatalf("override: %+v, %v", res, err)
		}
		if _, err := s.GetDeleted(ctx, "vm", "vm0"); err != nil {
			t.Fatalf("vm0 not deleted: %v", err)
		}
		// More than max_change_percent of 12 VMs changed by one collection:
		// nothing auto-applied, everything left for review.
		e = reconcile.New(s, reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {MaxChangePercent: 20}}})
		for i := range objs {
			objs[i].Attrs["cpus"] = int64(8)
		}
		sum := reconcileOK(t, e, vcSnap(true, objs[2:]...))
		if sum.Applied != 0 || !strings.Contains(sum.Limited, "max_change_percent") {
			t.Fatalf("summary = %+v", sum)
		}
	})
}

func TestCrossSourceRules(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fwd, rev := &fakeFixer{scope: "dns:example.com."}, &fakeFixer{scope: "dns:2.0.192.in-addr.arpa."}
		e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fwd, rev}})
		reconcileOK(t, e, vcSnap(true,
			vmObj("u1", "web1", map[string]any{"ip": "192.0.2.10"}),
			vmObj("u2", "web2", map[string]any{"ip": "192.0.2.20"}),
			// No dns_name declared: the guest's own FQDN is the name it must have.
			vmObj("u3", "web3", map[string]any{"ip": "192.0.2.30", "guest_hostname": "WEB3.example.com"}),
			// A short or out-of-zone guest host name expects nothing.
			vmObj("u4", "web4", map[string]any{"ip": "192.0.2.40", "guest_hostname": "localhost"}),
			vmObj("u5", "web5", map[string]any{"ip": "192.0.2.50", "guest_hostname": "web5.elsewhere.org"}),
			// Its reverse zone is not collected: no PTR can be judged.
			vmObj("u6", "web6", map[string]any{"ip": "198.51.100.6", "guest_hostname": "web6.example.com"})))
		for name, dns := range map[string]string{"web1": "web1.example.com.", "web2": "web2.example.com."} {
			en := get(t, s, "vm", name)
			if _, err := s.Update(ctx, inventorytest.Meta("alice"), en.ID, inventory.Patch{Attrs: map[string]any{"dns_name": dns}}); err != nil {
				t.Fatal(err)
			}
		}
		rec := func(zone, fqdn, rtype, value string) collectors.Object {
			id := fqdn + " " + rtype + " " + value
			return collectors.Object{Type: "dns_record", ID: id, Name: id, Attrs: map[string]any{
				"zone": collectors.Ref{Type: "dns_zone", ID: zone}, "fqdn": fqdn, "rtype": rtype, "value": value, "ttl": int64(300)}}
		}
		zone := func(z string) collectors.Object {
			return collectors.Object{Type: "dns_zone", ID: z, Name: z, Attrs: map[string]any{"zone": z}}
		}
		for _, snap := range []*collectors.Snapshot{
			{Source: "dns1", Kind: "dns", Scope: "dns:example.com.", Types: []string{"dns_zone", "dns_record"}, Complete: true, Objects: []collectors.Object{
				zone("example.com."),
				rec("example.com.", "web2.example.com.", "A", "192.0.2.99"),
				rec("example.com.", "old.example.com.", "A", "192.0.2.51"),
				// The zone's own name server and mail exchanger are no orphans.
				rec("example.com.", "example.com.", "NS", "ns1.example.com."),
				rec("example.com.", "ns1.example.com.", "A", "192.0.2.2"),
				rec("example.com.", "example.com.", "MX", "10 mx.example.com."),
				rec("example.com.", "mx.example.com.", "A", "192.0.2.3"),
			}},
			{Source: "dns1", Kind: "dns", Scope: "dns:2.0.192.in-addr.arpa.", Types: []string{"dns_zone", "dns_record"}, Complete: true, Objects: []collectors.Object{
				zone("2.0.192.in-addr.arpa."),
				rec("2.0.192.in-addr.arpa.", "20.2.0.192.in-addr.arpa.", "PTR", "web2.example.com."),
				rec("2.0.192.in-addr.arpa.", "77.2.0.192.in-addr.arpa.", "PTR", "ghost.example.com."),
			}},
		} {
			reconcileOK(t, e, snap)
		}
		items, err := e.Drift(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, fmt.Sprintf("%s %s %s", it.Kind, it.EntryName, it.Message))
		}
		want := []string{
			"missing_in_reality web1 no A record for web1.example.com.",
			"missing_in_reality web3 no A record for web3.example.com.",
			"missing_in_reality web6 no A record for web6.example.com.",
			"conflict web1 missing PTR 10.2.0.192.in-addr.arpa. → web1.example.com.",
			"conflict web2 VM web2 has 192.0.2.20 but the A record of web2.example.com. says 192.0.2.99",
			"conflict old.example.com. A 192.0.2.51 orphan A record: old.example.com. → 192.0.2.51 points at no VM",
			// A PTR in a VM zone of no VM's address, naming no VM and no record:
			// an orphan, proposed for removal.
			"conflict 77.2.0.192.in-addr.arpa. PTR ghost.example.com. orphan PTR record: 77.2.0.192.in-addr.arpa. → ghost.example.com. names no VM",
		}
		for _, w := range want {
			if !contains(got, w) {
				t.Errorf("missing drift %q in\n%s", w, strings.Join(got, "\n"))
			}
		}
		for _, g := range got {
			if strings.Contains(g, "web4") || strings.Contains(g, "web5") || strings.Contains(g, "ns1.") || strings.Contains(g, "mx.") || strings.Contains(g, "100.51.198") {
				t.Errorf("drift for a VM without a name in a collected zone: %s", g)
			}
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		var creates []string
		for _, f := range append(fwd.got, rev.got...) {
			creates = append(creates, fmt.Sprintf("%s %s %s %v %v %v %v", f.Op, f.Scope, f.Object.Type, f.Object.Attrs["fqdn"], f.Object.Attrs["rtype"], f.Object.Attrs["value"], f.Object.Attrs["ttl"]))
		}
		// The orphan A record was removed from reality, and so from the
		// store, without waiting for the next collection.
		if _, err := s.GetByName(ctx, "dns_record", "old.example.com. A 192.0.2.51"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Errorf("orphan record still live in the store: %v", err)
		}
		for _, w := range []string{
			"delete dns:example.com. dns_record old.example.com. A 192.0.2.51 300",
			"create dns:example.com. dns_record web3.example.com. A 192.0.2.30 3600",
			"create dns:example.com. dns_record web1.example.com. A 192.0.2.10 3600",
			"create dns:2.0.192.in-addr.arpa. dns_record 10.2.0.192.in-addr.arpa. PTR web1.example.com. 3600",
		} {
			if !contains(creates, w) {
				t.Errorf("fixers did not get %q: %v", w, creates)
			}
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// cancellingFixer makes its fixes, then the process "dies" before the
// store side commits (its context is cancelled).
type cancellingFixer struct {
	fakeFixer
	cancel context.CancelFunc
}

func (f *cancellingFixer) Apply(ctx context.Context, fixes []collectors.Fix) []error {
	errs := f.fakeFixer.Apply(ctx, fixes)
	if f.cancel != nil {
		f.cancel()
	}
	return errs
}

func TestCrashMidApplyLeavesPlanRerunnable(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		fx := &cancellingFixer{fakeFixer: fakeFixer{scope: "vsphere:vc1"}}
		e := seeded(t, s, fx)
		p, err := e.MakePlan(context.Background(), reconcile.Filter{Source: "vc1"})
		if err != nil || p.Actionable() != 2 {
			t.Fatalf("plan: %+v, %v", p, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		fx.cancel = cancel
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err == nil {
			t.Fatal("apply with a dying context succeeded")
		}
		if web1 := get(t, s, "vm", "web1"); web1.Attrs["cpus"] != int64(2) {
			t.Fatalf("half-applied store: %v", web1.Attrs)
		}
		fx.cancel = nil
		res, err := e.Apply(context.Background(), p.ID, reconcile.ApplyOptions{})
		if err != nil || res.Store != 1 {
			t.Fatalf("re-run: %+v, %v", res, err)
		}
		if web1 := get(t, s, "vm", "web1"); web1.Attrs["cpus"] != int64(4) {
			t.Fatalf("after re-run: %v", web1.Attrs)
		}
	})
}

func TestPlanStaleAfterNewerSnapshot(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := seeded(t, s, &fakeFixer{scope: "vsphere:vc1"})
		p, err := e.MakePlan(ctx, reconcile.Filter{Type: "vm"})
		if err != nil {
			t.Fatal(err)
		}
		// Reality went back to what the store says: the drift resolves.
		reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"cpus": 2, "owner": "alice"}), vmObj("u2", "web2", nil)))
		_, err = e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorCode(err) != schema.ESTALE || !strings.Contains(err.Error(), "resolved since") {
			t.Fatalf("apply after a newer snapshot: %v", err)
		}
	})
}
