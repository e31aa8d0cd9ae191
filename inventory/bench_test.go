package inventory_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// benchN is the entry count of the store benchmarks (TANA_BENCH_ENTRIES,
// default 100,000).
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("TANA_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func benchItems(n int) []inventory.Item {
	items := []inventory.Item{{Type: "cluster", Name: "c1"}}
	hosts := n / 100
	for h := 0; h < hosts; h++ {
		items = append(items, inventory.Item{Type: "host", Name: fmt.Sprintf("esx%04d", h), Attrs: map[string]any{"cluster": "c1", "cpu_cores": 64}})
	}
	for i := 0; len(items) < n; i++ {
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%06d", i), Attrs: map[string]any{
			"instance_uuid": fmt.Sprintf("4210%08d-aaaa-bbbb-cccc-000000000000", i),
			"ip":            fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"cpus":          i%8 + 1, "memory_mb": 4096, "power_state": "poweredOn",
			"guest_os": "debian12_64Guest", "host": fmt.Sprintf("esx%04d", i%hosts), "cluster": "c1",
		}})
	}
	return items
}

// BenchmarkImport measures a bulk import of benchN entries (one transaction).
func BenchmarkImport(b *testing.B) {
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			items := benchItems(benchN())
			b.ResetTimer() // the import alone, not the making of its items
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := inventorytest.Open(b, d)
				b.StartTimer()
				if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(items)), "entries")
		})
	}
}

// BenchmarkLookup measures lookups among benchN entries: by attribute value
// and by back-reference.
func BenchmarkLookup(b *testing.B) {
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			s := inventorytest.Open(b, d)
			items := benchItems(benchN())
			if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
				b.Fatal(err)
			}
			// The import's garbage is collected now, not by the lookups'
			// allocations as they are timed.
			runtime.GC()
			host, err := s.GetByName(ctx, "host", "esx0042")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("attr", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					p, err := s.Find(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "ip", Op: inventory.OpEq, Values: []any{fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255)}}}})
					if err != nil || len(p.Entries) != 1 {
						b.Fatalf("lookup: %v %v", p, err)
					}
				}
			})
			b.Run("backref", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					m, err := s.Referrers(ctx, "vm", "host", []int64{host.ID})
					if err != nil || len(m[host.ID]) != 99 {
						b.Fatalf("back-references: %d %v", len(m[host.ID]), err)
					}
				}
			})
		})
	}
}
