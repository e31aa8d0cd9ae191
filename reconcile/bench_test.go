package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

func benchVM(i int) map[string]any {
	return map[string]any{
		"instance_uuid": fmt.Sprintf("5000%08x-0000-0000-0000-000000000000", i),
		"bios_uuid":     fmt.Sprintf("4200%08x-0000-0000-0000-000000000000", i),
		"macs":          []any{fmt.Sprintf("00:50:56:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff)},
		"cpus":          int64(2 + i%4),
		"memory_mb":     int64(4096),
		"power_state":   "poweredOn",
		"ip":            fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff),
		"guest_os":      "Ubuntu Linux (64-bit)",
		"vcenter":       "vc1",
		"moref":         fmt.Sprintf("vm-%d", i),
	}
}

// BenchmarkDiff diffs a snapshot of 100,000 VMs, 1% of them drifted (CPU
// count), against a store of the same 100,000 entries, bound to the scope:
// loading the entries and bindings, identification and diff.
// TANA_BENCH_DIALECT=postgres runs it on PostgreSQL.
func BenchmarkDiff(b *testing.B) {
	const n, drifted = 100_000, 1_000
	ctx := context.Background()
	dialect := os.Getenv("TANA_BENCH_DIALECT") // sqlite (default) or postgres
	if dialect == "" {
		dialect = "sqlite"
	}
	s := inventorytest.Open(b, dialect)
	items := make([]inventory.Item, n)
	snap := &collectors.Snapshot{Source: "vc1", Kind: "vsphere", Scope: "vsphere:vc1", Types: []string{"vm"}, Complete: true}
	for i := range items {
		attrs := benchVM(i)
		items[i] = inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%06d", i), Attrs: attrs}
		obj := collectors.Object{Type: "vm", ID: attrs["instance_uuid"].(string), Name: items[i].Name, Attrs: benchVM(i)}
		if i%(n/drifted) == 0 {
			obj.Attrs["cpus"] = int64(16)
		}
		snap.Objects = append(snap.Objects, obj)
	}
	start := time.Now()
	rs, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{})
	if err != nil {
		b.Fatal(err)
	}
	binds := make(map[string]int64, n)
	for _, r := range rs {
		binds[snap.Objects[r.Index].ID] = r.ID
	}
	if err := s.InTx(ctx, func(tx *inventory.Tx) error { return tx.Bind(ctx, "vsphere:vc1", binds) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("store loaded with %d entries in %s", n, time.Since(start).Round(time.Millisecond))
	e := reconcile.New(s, reconcile.Options{})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go samplePeak(&peak, stop)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := e.Diff(ctx, snap)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Items) != drifted {
			b.Fatalf("%d drift items, want %d", len(res.Items), drifted)
		}
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MB")
}

// samplePeak records the largest heap in use until stop is closed.
func samplePeak(peak *atomic.Uint64, stop chan struct{}) {
	var m runtime.MemStats
	for {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
}
