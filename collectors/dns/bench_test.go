package dns

import (
	"context"
	"testing"

	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
)

const largeZoneRecords = 50_000

// BenchmarkCollectLargeZone times a full AXFR of a 50,000-record zone from
// named and its adaptation into snapshot objects (no cache: a fresh
// Collector per iteration).
func BenchmarkCollectLargeZone(b *testing.B) {
	srv := dnstest.StartBIND(b, dnstest.Options{
		Zones: []dnstest.Zone{{Name: "large.test.", Data: dnstest.LargeZone("large.test.", largeZoneRecords)}},
	})
	cfg := configFor(srv)
	var records int
	b.ReportAllocs()
	for b.Loop() {
		c, err := New(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		snaps, err := c.Collect(context.Background())
		if err != nil || !snaps[0].Complete {
			b.Fatalf("collect: %v %v", err, snaps[0].Errors)
		}
		records = len(snaps[0].Objects) - 1
	}
	if records < largeZoneRecords {
		b.Fatalf("got %d records, want at least %d", records, largeZoneRecords)
	}
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(records), "ns/record")
}

// BenchmarkCollectLargeZoneUnchanged is the same zone when its serial has
// not moved: one SOA query, the cached objects.
func BenchmarkCollectLargeZoneUnchanged(b *testing.B) {
	srv := dnstest.StartBIND(b, dnstest.Options{
		Zones: []dnstest.Zone{{Name: "large.test.", Data: dnstest.LargeZone("large.test.", largeZoneRecords)}},
	})
	c, err := New(configFor(srv), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Collect(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		snaps, err := c.Collect(context.Background())
		if err != nil || !snaps[0].Complete {
			b.Fatalf("collect: %v", err)
		}
	}
	if st := c.Stats(); st.AXFR != 1 {
		b.Errorf("stats %+v: want a single transfer", st)
	}
}
