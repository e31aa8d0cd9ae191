package inventory_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

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

// BenchmarkUpdateImportEvents measures what the outbox costs an import:
// the import of BenchmarkUpdateImport with its entry events and without
// (as before issue 24), in pairs on one store, the order swapped every
// pair (ABBA) so a machine getting busier or the tables growing favour
// neither. It reports the median of each and the median of the pairs'
// ratios as overhead-% (the target is at most 10 %). TANA_BENCH_PAIRS
// sets how many pairs one op runs (default 7).
func BenchmarkUpdateImportEvents(b *testing.B) {
	const n = 10_000
	pairs := 7
	if v, err := strconv.Atoi(os.Getenv("TANA_BENCH_PAIRS")); err == nil && v > 0 {
		pairs = v
	}
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			s := inventorytest.Open(b, d)
			items := benchItems(n)
			if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
				b.Fatal(err)
			}
			round := 0
			// run imports once, every entry changed, with events or not.
			run := func(events bool) time.Duration {
				round++
				for j := range items {
					if items[j].Type == "vm" {
						items[j].Attrs = map[string]any{"cpus": (round+j)%16 + 1 + 16*(round%2), "memory_mb": 1024 * (round + 2)}
					} else {
						items[j].Attrs = map[string]any{"cpu_cores": 32 + round}
					}
				}
				inventory.WithoutEntryEvents(s, !events)
				defer inventory.WithoutEntryEvents(s, false)
				start := time.Now()
				if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			run(true) // warm both paths once
			run(false)
			var with, without, ratio []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for p := 0; p < pairs; p++ {
					var w, wo time.Duration
					if p%2 == 0 {
						w, wo = run(true), run(false)
					} else {
						wo, w = run(false), run(true)
					}
					with, without = append(with, w.Seconds()), append(without, wo.Seconds())
					ratio = append(ratio, w.Seconds()/wo.Seconds())
				}
			}
			b.ReportMetric(median(with)*1000, "ms-with-events")
			b.ReportMetric(median(without)*1000, "ms-without")
			b.ReportMetric((median(ratio)-1)*100, "overhead-%")
		})
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 0 {
		return (xs[m-1] + xs[m]) / 2
	}
	return xs[m]
}
