package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// fakeFixer records the fixes it is asked to make; block, when set, holds
// Apply until it is closed.
type fakeFixer struct {
	scope   string
	mu      sync.Mutex
	got     []collectors.Fix
	block   chan struct{}
	entered chan struct{} // receives once Apply is called, when set
	fail    error
}

func (f *fakeFixer) Handles(scope string) bool { return scope == f.scope }

func (f *fakeFixer) Apply(ctx context.Context, fixes []collectors.Fix) []error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, fixes...)
	errs := make([]error, len(fixes))
	for i := range errs {
		errs[i] = f.fail
	}
	return errs
}

var _ collectors.Fixer = (*fakeFixer)(nil)

// fakeCollector returns the snapshots it holds.
type fakeCollector struct {
	name  string
	snaps []*collectors.Snapshot
	err   error
}

func (c *fakeCollector) Name() string { return c.name }
func (c *fakeCollector) Collect(context.Context) ([]*collectors.Snapshot, error) {
	return c.snaps, c.err
}

func vmObj(uuid, name string, attrs map[string]any) collectors.Object {
	a := map[string]any{"instance_uuid": uuid}
	for k, v := range attrs {
		a[k] = v
	}
	return collectors.Object{Type: "vm", ID: uuid, Name: name, Attrs: a}
}

func vcSnap(complete bool, objs ...collectors.Object) *collectors.Snapshot {
	now := time.Now()
	return &collectors.Snapshot{Source: "vc1", Kind: "vsphere", Scope: "vsphere:vc1", Types: []string{"vm"},
		Complete: complete, StartedAt: now, FinishedAt: now, Objects: objs}
}

func reconcileOK(t *testing.T, e *reconcile.Engine, snap *collectors.Snapshot) *reconcile.RunSummary {
	t.Helper()
	sum, err := e.Reconcile(context.Background(), snap)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return sum
}

func get(t *testing.T, s *inventory.Store, typ, name string) *inventory.Entry {
	t.Helper()
	en, err := s.GetByName(context.Background(), typ, name)
	if err != nil {
		t.Fatalf("get %s %s: %v", typ, name, err)
	}
	return en
}

func TestCollectFlow(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{})
		col := &fakeCollector{name: "vc1", snaps: []*collectors.Snapshot{vcSnap(true,
			vmObj("u1", "web1", map[string]any{"cpus": 2, "ip": "10.0.0.5", "owner": "ops"}),
			vmObj("u2", "web2", map[string]any{"cpus": 1}))}}
		if _, err := e.Collect(ctx, col); err != nil {
			t.Fatal(err)
		}
		web1 := get(t, s, "vm", "web1")
		if web1.Attrs["cpus"] != int64(2) || web1.Attrs["owner"] != "ops" {
			t.Fatalf("first collection: web1 = %v", web1.Attrs)
		}
		// A person declares an owner; reality changes CPUs and loses the guest IP.
		if _, err := s.Update(ctx, inventorytest.Meta("alice"), web1.ID, inventory.Patch{Attrs: map[string]any{"owner": "alice"}}); err != nil {
			t.Fatal(err)
		}
		col.snaps = []*collectors.Snapshot{vcSnap(true,
			vmObj("u1", "web1-renamed", map[string]any{"cpus": 4, "owner": "ops"}),
			vmObj("u2", "web2", map[string]any{"cpus": 1}))}
		if _, err := e.Collect(ctx, col); err != nil {
			t.Fatal(err)
		}
		web1 = get(t, s, "vm", "web1-renamed")
		if web1.Attrs["cpus"] != int64(4) || web1.Attrs["ip"] != "10.0.0.5" || web1.Attrs["owner"] != "alice" {
			t.Fatalf("after second collection web1 = %v (want cpus 4, ip kept, owner alice)", web1.Attrs)
		}
		hist, err := s.History(ctx, web1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if last := hist[len(hist)-1]; last.Source != "vsphere:vc1" || fmt.Sprint(last.Changes["cpus"].New) != "4" || last.Changes["name"].New != "web1-renamed" {
			t.Fatalf("last version = %+v", last)
		}
		open, err := e.Drift(ctx, reconcile.Filter{Source: "vsphere"})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].Attr != "owner" || open[0].Authority != schema.Declared || open[0].Fix == nil {
			t.Fatalf("open drift = %v", open)
		}
		first := open[0].FirstSeen
		// Unchanged re-run: no writes, the declared drift persists with its first-seen time.
		sum := reconcileOK(t, e, col.snaps[0])
		if sum.Applied != 0 || sum.Open != 1 {
			t.Fatalf("re-run summary = %+v", sum)
		}
		open, _ = e.Drift(ctx, reconcile.Filter{})
		if len(open) != 1 || !open[0].FirstSeen.Equal(first) {
			t.Fatalf("re-run drift = %v (first seen %v)", open, first)
		}
		ps, err := s.Provenance(ctx, web1.ID)
		if err != nil || len(ps) == 0 {
			t.Fatalf("provenance = %v, %v", ps, err)
		}
		runs, err := e.Runs(ctx, inventory.RunFilter{})
		if err != nil || len(runs) < 5 {
			t.Fatalf("runs = %d, %v", len(runs), err)
		}
	})
}

func TestStaleThenDeleted(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		now := time.Now()
		clock := func() time.Time { return now }
		e := reconcile.New(s, reconcile.Options{Now: func() time.Time { return clock() },
			Policies: map[string]reconcile.Policy{"vm": {DeleteAfter: 72 * time.Hour}}})
		a, b, c := vmObj("a", "a", nil), vmObj("b", "b", nil), vmObj("c", "c", nil)
		reconcileOK(t, e, vcSnap(true, a, b, c))
		// An incomplete snapshot without c: nothing happens.
		reconcileOK(t, e, vcSnap(false, a, b))
		if en := get(t, s, "vm", "c"); en.Status != inventory.StatusActive {
			t.Fatalf("incomplete snapshot made c %s", en.Status)
		}
		sum := reconcileOK(t, e, vcSnap(true, a, b))
		if en := get(t, s, "vm", "c"); en.Status != inventory.StatusStale || sum.Stale != 1 {
			t.Fatalf("c is %s, summary %+v; want stale", en.Status, sum)
		}
		items, _ := e.Drift(ctx, reconcile.Filter{Kind: reconcile.MissingInReality})
		if len(items) != 1 || items[0].EntryName != "c" {
			t.Fatalf("missing_in_reality = %v", items)
		}
		clock = func() time.Time { return now.Add(73 * time.Hour) }
		sum = reconcileOK(t, e, vcSnap(true, a, b))
		if sum.Deleted != 1 {
			t.Fatalf("summary %+v, want 1 deleted", sum)
		}
		del, err := s.GetDeleted(ctx, "vm", "c")
		if err != nil || !strings.Contains(del.DeletedReason, "not reported by vsphere:vc1") {
			t.Fatalf("deleted c = %+v, %v", del, err)
		}
		if items, _ := e.Drift(ctx, reconcile.Filter{Kind: reconcile.MissingInReality}); len(items) != 0 {
			t.Fatalf("drift after delete = %v", items)
		}
		// Seen again: a new entry is not needed for b; a stale b turns active.
		reconcileOK(t, e, vcSnap(true, a, b))
	})
}

func TestEmptyCollectionTripsSafetyLimit(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{})
		reconcileOK(t, e, vcSnap(true, vmObj("a", "a", nil), vmObj("b", "b", nil)))
		sum := reconcileOK(t, e, vcSnap(true))
		if !strings.Contains(sum.Limited, "safety limit") || sum.Stale != 0 {
			t.Fatalf("empty collection summary = %+v", sum)
		}
		if en := get(t, s, "vm", "a"); en.Status != inventory.StatusActive {
			t.Fatalf("a is %s after an empty collection", en.Status)
		}
		runs, _ := e.Runs(ctx, inventory.RunFilter{Kind: "reconcile", Limit: 1})
		if len(runs) != 1 || !strings.Contains(strings.Join(runs[0].Errors, " "), "safety limit") {
			t.Fatalf("last run = %+v", runs)
		}
	})
}

func TestCollectorFailureRecorded(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		e := reconcile.New(s, reconcile.Options{})
		_, err := e.Collect(context.Background(), &fakeCollector{name: "vc9", err: fmt.Errorf("bad credentials")})
		if err == nil {
			t.Fatal("no error")
		}
		runs, _ := e.Runs(context.Background(), inventory.RunFilter{Source: "vc9"})
		if len(runs) != 1 || runs[0].Status != "failed" {
			t.Fatalf("runs = %+v", runs)
		}
	})
}

func TestRankedSourcesTakeOver(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		now := time.Now()
		clock := now
		e := reconcile.New(s, reconcile.Options{Now: func() time.Time { return clock }})
		reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"ip": "10.0.0.1"})))
		// A lower-ranked source (vm.ip: [vsphere, dns]) reports another IP
		// while vSphere still reports it: vSphere keeps the attribute.
		dnsSnap := &collectors.Snapshot{Source: "dns1", Kind: "dns", Scope: "dns:example.com.", Types: nil, Complete: false,
			Objects: []collectors.Object{{Type: "vm", ID: "web1", Name: "web1", Attrs: map[string]any{"ip": "10.0.0.2", "cpus": int64(9)}}}}
		res, err := e.Diff(ctx, dnsSnap)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 0 {
			t.Fatalf("dns overrode vsphere (or wrote cpus, which it may not): %v", res.Items)
		}
		// vSphere stops reporting: after a day the next source takes over.
		clock = now.Add(25 * time.Hour)
		res, err = e.Diff(ctx, dnsSnap)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 1 || res.Items[0].Attr != "ip" || res.Items[0].Actual != "10.0.0.2" {
			t.Fatalf("after vSphere went quiet: %v", res.Items)
		}
	})
}

func TestExpireStale(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		now := time.Now()
		clock := now
		e := reconcile.New(s, reconcile.Options{Now: func() time.Time { return clock }})
		objs := []collectors.Object{vmObj("a", "a", nil), vmObj("b", "b", nil), vmObj("c", "c", nil)}
		reconcileOK(t, e, vcSnap(true, objs...))
		reconcileOK(t, e, vcSnap(true, objs[:2]...))
		if r, err := e.ExpireStale(ctx); err != nil || r.Deleted != 0 {
			t.Fatalf("expire before the window: %+v, %v", r, err)
		}
		clock = now.Add(reconcile.DefaultDeleteAfter + time.Hour)
		if r, err := e.ExpireStale(ctx); err != nil || r.Deleted != 1 {
			t.Fatalf("expire after the window: %+v, %v", r, err)
		}
		if _, err := s.GetDeleted(ctx, "vm", "c"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeclaredApplyPolicy(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fx := &fakeFixer{scope: "vsphere:vc1"}
		e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fx}, Policies: map[string]reconcile.Policy{"vm": {Declared: "apply"}}})
		reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", nil)))
		web1 := get(t, s, "vm", "web1")
		if _, err := s.Update(ctx, inventorytest.Meta("alice"), web1.ID, inventory.Patch{Attrs: map[string]any{"role": "db"}}); err != nil {
			t.Fatal(err)
		}
		sum := reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"role": "web"})))
		if sum.Fixed != 1 || len(fx.got) != 1 || fx.got[0].New != "db" {
			t.Fatalf("summary %+v, fixer got %v", sum, fx.got)
		}
	})
}

func TestAutoApplyFailureKeepsCollection(t *testing.T) {
	types, err := schema.ParseTypes("svc.yaml", []byte(`types:
  - name: svc
    attributes:
      - {name: serial, type: string, unique: true, authority: observed}
    identity:
      - [name]
`))
	if err != nil {
		t.Fatal(err)
	}
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		if _, err := s.Create(ctx, inventorytest.Meta("t"), "svc", "b", map[string]any{"serial": "S1"}); err != nil {
			t.Fatal(err)
		}
		e := reconcile.New(s, reconcile.Options{})
		snap := &collectors.Snapshot{Source: "t1", Kind: "test", Scope: "test:t1", Types: []string{"svc"}, Complete: false,
			Objects: []collectors.Object{{Type: "svc", ID: "a", Name: "a", Attrs: map[string]any{"serial": "S1"}}}}
		sum := reconcileOK(t, e, snap)
		if sum.Applied != 0 || sum.Open != 1 || !strings.Contains(sum.Limited, "auto-apply failed") {
			t.Fatalf("summary = %+v", sum)
		}
		if _, err := s.LastSnapshot(ctx, "test:t1", false); err != nil {
			t.Fatalf("snapshot not stored: %v", err)
		}
	}, types...)
}
