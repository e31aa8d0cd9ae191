package vsphere

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
)

// BenchmarkCollect measures a full collection of a simulated vCenter with
// TANA_BENCH_VMS VMs (default 1000) and the watch latency (change →
// callback) on the same model, which is built once per run.
func BenchmarkCollect(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("TANA_BENCH_VMS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	s := newSim(b, (n+1)/2)
	b.Logf("simulator with %d VMs built in %v", n, time.Since(start).Round(time.Second))

	var cnt counter
	cfg := s.config()
	// vcsim re-evaluates the whole filter for every update it sees (tasks
	// included), so at thousands of VMs one WaitForUpdatesEx answer can
	// take longer than the 10 s the tests use.
	cfg.Timeout = 10 * time.Minute
	c := newCollector(b, cfg, &cnt)
	collectOne(b, c) // log in first: measure collections, not logins

	b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
		before := cnt.n.Load()
		var objs int
		for b.Loop() {
			snap := collectOne(b, c)
			if !snap.Complete {
				b.Fatal(snap.Errors)
			}
			objs = len(snap.Objects)
		}
		b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(objs), "objects")
	})

	b.Run(fmt.Sprintf("watch/vms=%d", n), func(b *testing.B) {
		benchWatch(b, s, c)
	})
}

// benchWatch renames a VM per iteration and reports the time until the
// watcher's callback has the new name.
func benchWatch(b *testing.B, s *sim, c *Collector) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fulls := make(chan *collectors.Snapshot, 4)
	changes := make(chan collectors.Change, 64)
	go func() {
		_ = c.Watch(ctx, func(s *collectors.Snapshot) error { fulls <- s; return nil },
			func(ch collectors.Change) error { changes <- ch; return nil })
	}()
	select {
	case <-fulls:
	case <-time.After(5 * time.Minute):
		b.Fatal("watch did not sync")
	}
	admin := s.client(b)
	f := find.NewFinder(admin.Client)
	dc, err := f.DefaultDatacenter(ctx)
	must(b, err)
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, "DC0_H0_VM0")
	must(b, err)

	var total time.Duration
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		rename(b, vm, name)
		waitName(b, changes, fulls, name)
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/change")
}

func rename(b *testing.B, vm *object.VirtualMachine, name string) {
	task, err := vm.Rename(context.Background(), name)
	must(b, err)
	must(b, task.Wait(context.Background()))
}

// waitName waits for an upsert with the name; a full snapshot after a
// reconnect counts too (and is logged, as it is not incremental).
func waitName(b *testing.B, changes chan collectors.Change, fulls chan *collectors.Snapshot, name string) {
	deadline := time.After(10 * time.Minute)
	for {
		select {
		case s := <-fulls:
			b.Logf("watch restarted with a full snapshot")
			if _, ok := byName(s, "vm", name); ok {
				return
			}
		case ch := <-changes:
			for _, o := range ch.Upserts {
				if o.Name == name {
					return
				}
			}
		case <-deadline:
			b.Fatalf("rename to %s not seen", name)
		}
	}
}
