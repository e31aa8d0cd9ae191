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

// forEachPair runs fn on every dialect with two store handles on one fresh
// database, as two tana processes would have.
func forEachPair(t *testing.T, fn func(t *testing.T, a, b *inventory.Store)) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			reg, err := schema.NewRegistry(schema.Builtin()...)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, inventorytest.OpenWith(t, dsn, reg), inventorytest.OpenWith(t, dsn, reg))
		})
	}
}

// TestSamePlanAppliedOnce: two processes apply one plan at the same time.
// The fixes are made once; the second apply is refused, saying the plan is
// being applied, and later that it was applied; the plan ends applied.
func TestSamePlanAppliedOnce(t *testing.T) {
	forEachPair(t, func(t *testing.T, s1, s2 *inventory.Store) {
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
	forEachPair(t, func(t *testing.T, s1, s2 *inventory.Store) {
		ctx := context.Background()
		lease := 500 * time.Millisecond
		col := &fakeCollector{name: "vc1", snaps: []*collectors.Snapshot{vcSnap(true, vmObj("u1", "web1", nil))}}
		sc := reconcile.Schedule{Name: "often", Cron: "@every 1h", Collect: []collectors.Collector{col}}
		tick := time.Now().UTC().Truncate(time.Second)
		// The dead replica: its run of the tick was recorded and took the
		// lock, then its database handle went away, heartbeat and all.
		dead, err := s1.StartRun(ctx, "schedule", "often", inventory.RunOptions{Lease: lease, Tick: tick})
		if err != nil {
			t.Fatal(err)
		}
		if err := dead.Lock(ctx, "schedule:often"); err != nil {
			t.Fatal(err)
		}
		s1.Close()
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
	forEachPair(t, func(t *testing.T, s1, s2 *inventory.Store) {
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
