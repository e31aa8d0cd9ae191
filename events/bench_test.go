package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// BenchmarkDeliver measures delivery to a local receiver: 10,000 entries
// created in one import (10,000 events in the outbox), then routed,
// signed and sent by one worker until the receiver has them all. The
// target is at least 1,000 events/s.
func BenchmarkDeliver(b *testing.B) {
	n := int64(10_000)
	if v, err := strconv.Atoi(os.Getenv("TANA_BENCH_EVENTS")); err == nil && v > 0 {
		n = int64(v)
	}
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			b.Setenv("TANA_BENCH_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
			var got atomic.Int64
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := inventorytest.Open(b, d)
				items := make([]inventory.Item, n)
				for j := range items {
					items[j] = inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%05d", j), Attrs: map[string]any{"cpus": j%8 + 1}}
				}
				if _, err := s.Upsert(context.Background(), inventorytest.Meta("bench"), items, inventory.UpsertOptions{}); err != nil {
					b.Fatal(err)
				}
				w, err := events.New(events.Options{Store: s, Poll: 10 * time.Millisecond,
					Subscriptions: []events.Subscription{{Name: "local", URL: rc.URL, SecretEnv: "TANA_BENCH_SECRET", Concurrency: 16}}})
				if err != nil {
					b.Fatal(err)
				}
				got.Store(0)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() { done <- w.Run(ctx) }()
				for got.Load() < n {
					if time.Since(start) > 5*time.Minute {
						b.Fatalf("%d of %d events delivered in 5 minutes", got.Load(), n)
					}
					time.Sleep(time.Millisecond)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*int64(b.N))/elapsed.Seconds(), "events/s")
		})
	}
}
