package dns

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func configFor(srv *dnstest.Server) Config {
	return Config{
		Name: "dns1", Server: srv.Addr, Zones: srv.Zones, Timeout: 3 * time.Second,
		TSIG: &TSIG{Name: srv.KeyName, Algorithm: srv.KeyAlgorithm, Secret: srv.KeySecret},
	}
}

func newTestCollector(t testing.TB, cfg Config) *Collector {
	t.Helper()
	c, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func collectAll(t testing.TB, c *Collector) map[string]*collectors.Snapshot {
	t.Helper()
	snaps, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]*collectors.Snapshot{}
	for _, s := range snaps {
		out[s.Scope] = s
	}
	return out
}

// zoneFileObjects is what the adapter makes of a zone file, parsed
// independently of any transfer.
func zoneFileObjects(t *testing.T, zone, data string) map[string]collectors.Object {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(data), zone, "")
	out := map[string]collectors.Object{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if obj, ok := RecordObject(zone, rr); ok {
			out[obj.ID] = obj
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func recordsOf(s *collectors.Snapshot) map[string]collectors.Object {
	out := map[string]collectors.Object{}
	for _, o := range s.Objects {
		if o.Type == TypeRecord {
			out[o.ID] = o
		}
	}
	return out
}

func TestCollectMatchesZoneFiles(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	c := newTestCollector(t, configFor(srv))
	snaps := collectAll(t, c)
	if len(snaps) != 2 {
		t.Fatalf("got %d snapshots, want 2", len(snaps))
	}
	for zone, data := range map[string]string{"example.com.": dnstest.ExampleZone, "2.0.192.in-addr.arpa.": dnstest.ReverseZone} {
		s := snaps["dns:"+zone]
		if s == nil || !s.Complete || len(s.Errors) > 0 {
			t.Fatalf("%s: snapshot %+v", zone, s)
		}
		if s.Source != "dns1" || s.Kind != "dns" || !cmp.Equal(s.Types, []string{TypeZone, TypeRecord}) {
			t.Errorf("%s: header %q %q %v", zone, s.Source, s.Kind, s.Types)
		}
		if d := cmp.Diff(zoneFileObjects(t, zone, data), recordsOf(s)); d != "" {
			t.Errorf("%s: records (-zone file +collected):\n%s", zone, d)
		}
		z := s.Objects[0]
		want := map[string]any{"zone": zone, "server": srv.Addr, "serial": int64(2024010101), "primary_ns": "ns1.example.com."}
		if z.Type != TypeZone || z.ID != zone || !cmp.Equal(z.Attrs, want) {
			t.Errorf("%s: zone object %+v", zone, z)
		}
	}
	// Spot checks in the terms the rest of tana uses.
	recs := recordsOf(snaps["dns:example.com."])
	for id, ttl := range map[string]int64{
		"www.example.com. A 192.0.2.10":                          3600,
		"www.example.com. AAAA 2001:db8::10":                     3600,
		"mail.example.com. A 192.0.2.20":                         300,
		"example.com. MX 10 mail.example.com.":                   3600,
		"_sip._tcp.example.com. SRV 10 60 5060 sip.example.com.": 3600,
		`example.com. CAA 0 issue "letsencrypt.org"`:             3600,
		`example.com. TXT "v=spf1 mx -all"`:                      3600,
		"ftp.example.com. CNAME www.example.com.":                3600,
	} {
		if o, ok := recs[id]; !ok || o.Attrs["ttl"] != ttl {
			t.Errorf("record %q: got %+v", id, o)
		}
	}
	if _, ok := recordsOf(snaps["dns:2.0.192.in-addr.arpa."])["10.2.0.192.in-addr.arpa. PTR www.example.com."]; !ok {
		t.Error("PTR record missing")
	}
	if st := c.Stats(); st.AXFR != 2 || st.IXFR != 0 || st.Unchanged != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCollectUnchangedSerialSkipsTransfer(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	c := newTestCollector(t, configFor(srv))
	first := collectAll(t, c)
	time.Sleep(10 * time.Millisecond)
	second := collectAll(t, c)
	st := c.Stats()
	if st.AXFR != 2 || st.IXFR != 0 || st.Unchanged != 2 || st.SOAQueries != 4 {
		t.Errorf("stats %+v: want 2 transfers then 2 zones unchanged", st)
	}
	for scope, s := range second {
		f := first[scope]
		if !s.Complete || !cmp.Equal(s.Objects, f.Objects) {
			t.Errorf("%s: cached snapshot differs", scope)
		}
		if !s.StartedAt.After(f.StartedAt) {
			t.Errorf("%s: cached snapshot kept the old timestamps", scope)
		}
	}
}

func TestCollectSeesNSUpdateByIXFR(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	c := newTestCollector(t, configFor(srv))
	collectAll(t, c)

	srv.NSUpdate(t, `zone example.com.
update add new.example.com. 600 IN A 192.0.2.77
update delete www.example.com. A 192.0.2.11
send
update add new.example.com. 600 IN AAAA 2001:db8::77
send`)
	snaps := collectAll(t, c)
	recs := recordsOf(snaps["dns:example.com."])
	if o, ok := recs["new.example.com. A 192.0.2.77"]; !ok || o.Attrs["ttl"] != int64(600) {
		t.Errorf("added A record: %+v", o)
	}
	if _, ok := recs["new.example.com. AAAA 2001:db8::77"]; !ok {
		t.Error("added AAAA record missing")
	}
	if _, ok := recs["www.example.com. A 192.0.2.11"]; ok {
		t.Error("deleted record still there")
	}
	if _, ok := recs["www.example.com. A 192.0.2.10"]; !ok {
		t.Error("the other www record went too")
	}
	st := c.Stats()
	if st.IXFR != 1 || st.AXFR != 2 || st.Unchanged != 1 {
		t.Errorf("stats %+v: want one IXFR for example.com., reverse zone unchanged", st)
	}
	// The incremental result equals a fresh full transfer.
	fresh := collectAll(t, newTestCollector(t, configFor(srv)))
	if d := cmp.Diff(fresh["dns:example.com."].Objects, snaps["dns:example.com."].Objects); d != "" {
		t.Errorf("IXFR result differs from AXFR (-axfr +ixfr):\n%s", d)
	}
	if serial := snaps["dns:example.com."].Objects[0].Attrs["serial"].(int64); serial <= 2024010101 {
		t.Errorf("serial %d did not move", serial)
	}
}

func TestCollectRefusedWithoutKey(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	cfg := configFor(srv)
	cfg.TSIG = nil
	snaps, err := newTestCollector(t, cfg).Collect(context.Background())
	if err == nil {
		t.Error("no error although no zone could be read")
	}
	if len(snaps) != 2 {
		t.Fatalf("got %d snapshots", len(snaps))
	}
	for _, s := range snaps {
		zone := strings.TrimPrefix(s.Scope, "dns:")
		want := "dns dns1: zone " + zone + " from " + srv.Addr + ": AXFR: transfer refused (REFUSED)"
		if s.Complete || len(s.Objects) != 0 || len(s.Errors) != 1 || s.Errors[0] != want {
			t.Errorf("%s: complete=%v objects=%d errors=%q, want %q", s.Scope, s.Complete, len(s.Objects), s.Errors, want)
		}
	}
}

func TestCollectWrongKey(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	cases := []struct {
		name string
		tsig TSIG
		want string
	}{
		{"wrong secret", TSIG{Name: srv.KeyName, Secret: "c2VjcmV0IHRoYXQgaXMgd3Jvbmc="}, "TSIG BADSIG"},
		{"unknown key", TSIG{Name: "other-key.", Secret: srv.KeySecret}, "TSIG BADKEY"},
		{"wrong algorithm", TSIG{Name: srv.KeyName, Algorithm: "hmac-sha512", Secret: srv.KeySecret}, "TSIG BADKEY"},
		{"clock off by an hour", TSIG{Name: srv.KeyName, Secret: srv.KeySecret}, "TSIG BADTIME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configFor(srv)
			cfg.TSIG = &tc.tsig
			if tc.want == "TSIG BADTIME" {
				cfg.Now = func() time.Time { return time.Now().Add(-time.Hour) }
			}
			snaps, err := newTestCollector(t, cfg).Collect(context.Background())
			if err == nil {
				t.Error("no error")
			}
			for _, s := range snaps {
				if s.Complete || len(s.Objects) != 0 || len(s.Errors) != 1 ||
					!strings.Contains(s.Errors[0], "NOTAUTH, "+tc.want) || !strings.Contains(s.Errors[0], srv.Addr) {
					t.Errorf("%s: complete=%v objects=%d errors=%q", s.Scope, s.Complete, len(s.Objects), s.Errors)
				}
			}
		})
	}
}

func TestCollectOtherZonesSurviveOneFailure(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	cfg := configFor(srv)
	cfg.Zones = append(cfg.Zones, "not-served.example.")
	snaps, err := newTestCollector(t, cfg).Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, s := range snaps {
		bad := s.Scope == "dns:not-served.example."
		if s.Complete == bad || (len(s.Errors) > 0) != bad {
			t.Errorf("%s: complete=%v errors=%q", s.Scope, s.Complete, s.Errors)
		}
	}
}

func TestCollectNamedKilled(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	c := newTestCollector(t, configFor(srv))
	collectAll(t, c)
	srv.Stop()
	snaps, err := c.Collect(context.Background())
	if err == nil {
		t.Error("no error with the server gone")
	}
	for _, s := range snaps {
		if s.Complete || len(s.Objects) != 0 || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "connect") {
			t.Errorf("%s: complete=%v objects=%d errors=%q", s.Scope, s.Complete, len(s.Objects), s.Errors)
		}
	}
}
