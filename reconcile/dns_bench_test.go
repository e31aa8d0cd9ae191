package reconcile_test

import (
	"context"
	"testing"

	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// BenchmarkCollectStoreLargeZone collects a 50,000-record zone from a real
// named and stores it: transfer, identify, diff, and the first
// collection's creates, bindings and provenance in one change set.
func BenchmarkCollectStoreLargeZone(b *testing.B) {
	const records = 50_000
	srv := dnstest.StartBIND(b, dnstest.Options{Zones: []dnstest.Zone{{Name: "large.test.", Data: dnstest.LargeZone("large.test.", records)}}})
	cfg := dns.Config{Name: "dns1", Server: srv.Addr, Zones: []string{"large.test."},
		TSIG: &dns.TSIG{Name: srv.KeyName, Algorithm: srv.KeyAlgorithm, Secret: srv.KeySecret}}
	for _, d := range inventorytest.Dialects {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := inventorytest.Open(b, d)
				col, err := dns.New(cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				e := reconcile.New(s, reconcile.Options{})
				b.StartTimer()
				sums, err := e.Collect(ctx, col)
				if err != nil || len(sums) != 1 || sums[0].Applied < records {
					b.Fatalf("collect: %+v %v", sums, err)
				}
			}
			b.ReportMetric(records, "records")
		})
	}
}
