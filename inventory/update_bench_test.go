package inventory_test

import (
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// BenchmarkUpdateImport measures an import that updates 10,000 entries in
// one transaction: every entry's cpus and memory change, so each writes a
// version (and, since issue 24, its event into the outbox). Compare runs
// of it before and after a change to the write path.
func BenchmarkUpdateImport(b *testing.B) {
	const n = 10_000
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			s := inventorytest.Open(b, d)
			items := benchItems(n)
			if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j := range items {
					if items[j].Type == "vm" {
						items[j].Attrs = map[string]any{"cpus": (i+j)%16 + 1 + 16*(i%2), "memory_mb": 1024 * (i + 2)}
					} else {
						items[j].Attrs = map[string]any{"cpu_cores": 32 + i}
					}
				}
				b.StartTimer()
				if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "updates/op")
		})
	}
}
