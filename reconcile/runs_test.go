package reconcile_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// TestSamePlanAppliedOnce: two processes apply one plan at the same time.
// The fixes are made once; the second apply is refused, saying the plan is
// being applied, and later that it was applied; the plan ends applied.
func TestSamePlanAppliedOnce(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		fx := &fakeFixer{scope: "vsphere:vc1", block: make(chan struct{}), entered: make(chan struct{}, 1)}
		e1 := seeded(t, s1, fx)
		e2 := reconcile.New(s2, reconcile.Options{Fixers: []collectors.Fixer{fx}, Policies: proposeAll()})
		p, err := e1.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var first error
		wg.Add(1)
		go func() { defer wg.Done(); _, first = e1.Apply(ctx, p.ID, reconcile.ApplyOptions{}) }()
		<-fx.entered // the first apply is making its fixes
		_, err = e2.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorCode(err) != schema.ECONFLICT || !strings.Contains(err.Error(), "is being applied by run") {
			t.Fatalf("second apply while the first runs: %v", err)
		}
		close(fx.block)
		wg.Wait()
		if first != nil {
			t.Fatal(first)
		}
		_, err = e2.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorCode(err) != schema.ECONFLICT || !strings.Contains(err.Error(), "already applied") {
			t.Fatalf("apply after it was applied: %v", err)
		}
		if len(fx.got) != 1 {
			t.Fatalf("the fixer was asked %d times: %v", len(fx.got), fx.got)
		}
		if got, err := e2.Plan(ctx, p.ID); err != nil || got.Status != inventory.PlanApplied {
			t.Fatalf("plan = %+v, %v", got, err)
		}
	})
}

// TestLastTick: the latest activation at or before now, for second,
// minute, daily and monthly schedules.
func TestLastTick(t *testing.T) {
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	now := time.Date(2026, 12, 4, 13, 37, 42, 500_000_000, time.UTC)
	for _, c := range []struct{ spec, want string }{
		{"*/5 * * * * *", "2026-12-04T13:37:40Z"},
		{"* * * * *", "2026-12-04T13:37:00Z"},
		{"0 3 * * *", "2026-12-04T03:00:00Z"},
		{"0 0 1 * *", "2026-12-01T00:00:00Z"},
		{"0 0 1 1 *", "2026-01-01T00:00:00Z"},
		{"@every 10m", "2026-12-04T13:30:00Z"},
		{"@every 1h", "2026-12-04T13:00:00Z"},
		{"@every 24h", "2026-12-04T00:00:00Z"},
	} {
		spec, err := parser.Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := reconcile.LastTick(spec, now).Format(time.RFC3339); got != c.want {
			t.Errorf("%s: %s, want %s", c.spec, got, c.want)
		}
	}
}

// TestSchedulerPicksUpAnInterruptedTick: a replica died running a tick
// (its run was recorded and its lease ran out); another replica's
// scheduler runs the tick again, once.
func TestSchedulerPicksUpAnInterruptedTick(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		lease := 500 * time.Millisecond
		col := &fakeCollector{name: "vc1", snaps: []*collectors.Snapshot{vcSnap(true, vmObj("u1", "web1", nil))}}
		sc := reconcile.Schedule{Name: "often", Cron: "@every 1h", Collect: []collectors.Collector{col}}
		tick := time.Now().UTC().Truncate(time.Second)
		// The dead replica, on another host: its run of the tick was recorded
		// and took the lock, then its process died.
		dead, err := s1.StartRun(ctx, "schedule", "often", inventory.RunOptions{Lease: lease, Tick: tick})
		if err != nil {
			t.Fatal(err)
		}
		if err := dead.Lock(ctx, "schedule:often"); err != nil {
			t.Fatal(err)
		}
		inventorytest.MustClose(t, s1) // no more heartbeats
		inventorytest.MoveRun(t, dsn, dead.ID)
		e := reconcile.New(s2, reconcile.Options{Lease: lease})
		// While its lease holds, the tick is taken.
		if err := e.RunTick(ctx, sc, tick); err != nil {
			t.Fatal(err)
		}
		if runs, _ := s2.TickRuns(ctx, "schedule", "often", tick); len(runs) != 1 {
			t.Fatalf("runs while the dead run's lease holds: %+v", runs)
		}
		time.Sleep(2 * lease)
		if ticks, err := s2.UnfinishedTicks(ctx, "schedule", "often", tick.Add(-time.Hour)); err != nil || len(ticks) != 1 || !ticks[0].Equal(tick) {
			t.Fatalf("unfinished ticks: %v, %v", ticks, err)
		}
		for range 2 { // the second attempt finds the tick done
			if err := e.RunTick(ctx, sc, tick); err != nil {
				t.Fatal(err)
			}
		}
		runs, err := s2.TickRuns(ctx, "schedule", "often", tick)
		if err != nil || len(runs) != 2 || runs[0].Status != inventory.RunOK || runs[1].Status != inventory.RunInterrupted {
			t.Fatalf("runs of the tick: %+v, %v", runs, err)
		}
		if ticks, err := s2.UnfinishedTicks(ctx, "schedule", "often", tick.Add(-time.Hour)); err != nil || len(ticks) != 0 {
			t.Fatalf("unfinished ticks after the rerun: %v, %v", ticks, err)
		}
	})
}

// TestTwoReplicasOneTick: two replicas fire the same ticks at once, on two
// store handles; every tick ends with exactly one finished run (neither
// replica may take the other's losing record for a run of the tick).
func TestTwoReplicasOneTick(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		col := &fakeCollector{name: "vc1", snaps: []*collectors.Snapshot{vcSnap(true, vmObj("u1", "web1", nil))}}
		sc := reconcile.Schedule{Name: "often", Cron: "@every 1s", Collect: []collectors.Collector{col}}
		engines := []*reconcile.Engine{reconcile.New(s1, reconcile.Options{}), reconcile.New(s2, reconcile.Options{})}
		start := time.Now().UTC().Truncate(time.Second)
		for i := range 20 {
			tick := start.Add(time.Duration(i) * time.Second)
			var wg sync.WaitGroup
			for _, e := range engines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := e.RunTick(ctx, sc, tick); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			runs, err := s1.TickRuns(ctx, "schedule", "often", tick)
			if err != nil || len(runs) != 1 || runs[0].Status != inventory.RunOK {
				t.Fatalf("tick %d: runs %+v, %v; want one finished run", i, runs, err)
			}
		}
	})
}

// TestPlanPinsTheVersionTheDriftSaw: the drift says "push owner alice to
// vCenter"; then a person sets the owner to carol. A plan made now must not
// push alice: the fix is left for review until a collection computes the
// drift again.
func TestPlanPinsTheVersionTheDriftSaw(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fx := &fakeFixer{scope: "vsphere:vc1"}
		e := seeded(t, s, fx)
		web1 := get(t, s, "vm", "web1")
		if _, err := s.Update(ctx, inventorytest.Meta("carol"), web1.ID, inventory.Patch{Attrs: map[string]any{"owner": "carol"}}); err != nil {
			t.Fatal(err)
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: "vsphere:vc1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Fixes {
			if f.Attr == "owner" && (f.Direction != reconcile.NoFix || !strings.Contains(f.Message, "changed since this drift was seen")) {
				t.Fatalf("owner fix after the store moved on: %+v", f)
			}
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, f := range fx.got {
			if f.Attr == "owner" {
				t.Fatalf("the fixer was asked to push %v", f.New)
			}
		}
	})
}

// TestPlanChecksCrossDriftAgain: web1 is re-addressed while another run
// holds the cross scope, so that collection's cross check is skipped. A
// plan made afterwards sees the new address (it checks the cross-source
// drift again) and the fixer gets it; the plan made before is refused.
func TestPlanChecksCrossDriftAgain(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fwd := &fakeFixer{scope: "dns:example.com."}
		e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fwd}, CrossWait: 300 * time.Millisecond})
		vm := func(ip string) *collectors.Snapshot {
			return vcSnap(true, vmObj("u1", "web1", map[string]any{"ip": ip, "guest_hostname": "web1.example.com"}))
		}
		reconcileOK(t, e, vm("192.0.2.11"))
		reconcileOK(t, e, &collectors.Snapshot{Source: "dns1", Kind: "dns", Scope: "dns:example.com.", Types: []string{"dns_zone", "dns_record"}, Complete: true,
			Objects: []collectors.Object{{Type: "dns_zone", ID: "example.com.", Name: "example.com.", Attrs: map[string]any{"zone": "example.com."}},
				{Type: "dns_record", ID: "web1.example.com. A 192.0.2.10", Name: "web1.example.com. A 192.0.2.10", Attrs: map[string]any{
					"zone": collectors.Ref{Type: "dns_zone", ID: "example.com."}, "fqdn": "web1.example.com.", "rtype": "A", "value": "192.0.2.10"}}}})
		before, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil || before.Actionable() != 1 {
			t.Fatalf("plan: %+v, %v", before, err)
		}
		holder, err := s.StartRun(ctx, "cross-check", "cross", inventory.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := holder.Lock(ctx, "apply:cross"); err != nil {
			t.Fatal(err)
		}
		reconcileOK(t, e, vm("192.0.2.12")) // its cross check waits, then is left to others
		if err := holder.Finish(ctx, inventory.RunResult{Status: inventory.RunOK}); err != nil {
			t.Fatal(err)
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 1 || !strings.Contains(lines[0], "192.0.2.10 → 192.0.2.12") {
			t.Fatalf("plan after the re-address: %v", lines)
		}
		if _, err := e.Apply(ctx, before.ID, reconcile.ApplyOptions{}); schema.ErrorCode(err) != schema.ESTALE {
			t.Fatalf("apply of the plan made before: %v", err)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(fwd.got) != 1 || fwd.got[0].New != "192.0.2.12" {
			t.Fatalf("the fixer got %v", fwd.got)
		}
	})
}

// TestStaleClaimantContestsItsName: of two VMs whose guests call
// themselves web41, the one the A record points at vanishes (stale). It
// may come back: the name stays contested, and no fix moves the record to
// the other VM until the stale one is deleted.
func TestStaleClaimantContestsItsName(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		fwd := &fakeFixer{scope: "dns:example.com."}
		e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fwd}})
		a := vmObj("ua", "web41a", map[string]any{"ip": "192.0.2.41", "guest_hostname": "web41.example.com"})
		b := vmObj("ub", "web41b", map[string]any{"ip": "192.0.2.48", "guest_hostname": "web41.example.com"})
		reconcileOK(t, e, vcSnap(true, a, b))
		reconcileOK(t, e, &collectors.Snapshot{Source: "dns1", Kind: "dns", Scope: "dns:example.com.", Types: []string{"dns_zone", "dns_record"}, Complete: true,
			Objects: []collectors.Object{{Type: "dns_zone", ID: "example.com.", Name: "example.com.", Attrs: map[string]any{"zone": "example.com."}},
				{Type: "dns_record", ID: "web41.example.com. A 192.0.2.41", Name: "web41.example.com. A 192.0.2.41", Attrs: map[string]any{
					"zone": collectors.Ref{Type: "dns_zone", ID: "example.com."}, "fqdn": "web41.example.com.", "rtype": "A", "value": "192.0.2.41"}}}})
		reconcileOK(t, e, vcSnap(true, b)) // web41a vanished
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 0 {
			t.Fatalf("fixes while a stale VM contests the name: %v", lines)
		}
		if open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope}); !anyContains(open, "web41a (192.0.2.41, guest host name, stale)") {
			t.Fatalf("the conflict does not name the stale candidate: %v", open)
		}
	})
}

// TestPartialSnapshotsResolveOnlyWhatTheySaw: an incomplete snapshot (a
// watch's change, a collection that died) resolves the drift of what it
// reported again — here web1's cpus, back to what the store holds — and
// nothing else; a complete snapshot too empty to be trusted resolves
// nothing it did not see either.
func TestPartialSnapshotsResolveOnlyWhatTheySaw(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{})
		vms := func(cpus int) []collectors.Object {
			var out []collectors.Object
			for _, n := range []string{"web1", "web2", "web3", "web4"} {
				out = append(out, vmObj("u-"+n, n, map[string]any{"cpus": cpus}))
			}
			return out
		}
		reconcileOK(t, e, vcSnap(true, vms(2)...))
		e = reconcile.New(s, reconcile.Options{Policies: proposeAll()})
		reconcileOK(t, e, vcSnap(true, vms(4)...)) // four cpus items open
		// A partial snapshot sees web1 back at 2 CPUs, and web2 without cpus.
		reconcileOK(t, e, vcSnap(false, vmObj("u-web1", "web1", map[string]any{"cpus": 2}), vmObj("u-web2", "web2", nil)))
		open := driftStrings(t, e, reconcile.Filter{Source: "vsphere"})
		if len(open) != 3 || anyContains(open, "web1") {
			t.Fatalf("open after a partial snapshot: %v", open)
		}
		done, err := e.Drift(ctx, reconcile.Filter{Source: "vsphere", Resolved: true})
		if err != nil || len(done) != 1 || done[0].EntryName != "web1" || !strings.Contains(done[0].ResolvedBy, "incomplete") {
			t.Fatalf("resolved: %+v, %v", done, err)
		}
		// A complete snapshot with no objects is suspect: nothing resolved.
		sum := reconcileOK(t, e, vcSnap(true))
		if !sum.Suspect {
			t.Fatalf("an empty complete snapshot is not suspect: %+v", sum)
		}
		if open := driftStrings(t, e, reconcile.Filter{Source: "vsphere"}); len(open) != 3 {
			t.Fatalf("open after a suspect snapshot: %v", open)
		}
	})
}

// TestIPv6AddressWantsAnAAAA: a VM whose address is IPv6, whose name has
// only an A record, lacks an AAAA record; its A record is not "fixed" to
// an IPv6 value.
func TestIPv6AddressWantsAnAAAA(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{})
		reconcileOK(t, e, vcSnap(true, vmObj("u5", "web5", map[string]any{"ip": "2001:db8::5", "guest_hostname": "web5.example.com"})))
		reconcileOK(t, e, &collectors.Snapshot{Source: "dns1", Kind: "dns", Scope: "dns:example.com.", Types: []string{"dns_zone", "dns_record"}, Complete: true,
			Objects: []collectors.Object{{Type: "dns_zone", ID: "example.com.", Name: "example.com.", Attrs: map[string]any{"zone": "example.com."}},
				{Type: "dns_record", ID: "web5.example.com. A 192.0.2.5", Name: "web5.example.com. A 192.0.2.5", Attrs: map[string]any{
					"zone": collectors.Ref{Type: "dns_zone", ID: "example.com."}, "fqdn": "web5.example.com.", "rtype": "A", "value": "192.0.2.5"}}}})
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 1 || !strings.Contains(lines[0], "create dns_record web5.example.com. AAAA 2001:db8::5") {
			t.Fatalf("plan: %v", lines)
		}
	})
}
