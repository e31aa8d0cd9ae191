package dnsserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/demo/dnsserver"
)

const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="

var zones = map[string]string{
	"example.com.": `$TTL 300
@   IN SOA ns1.example.com. admin.example.com. 1 3600 600 86400 300
@   IN NS  ns1.example.com.
ns1 IN A   192.0.2.53
web IN A   192.0.2.10
`,
	"2.0.192.in-addr.arpa.": `$TTL 300
@   IN SOA ns1.example.com. admin.example.com. 1 3600 600 86400 300
@   IN NS  ns1.example.com.
10  IN PTR web.example.com.
`,
}

// The demo server must speak to tana's real DNS collector and fixer the way
// BIND does: signed AXFR in, signed UPDATE with prerequisites out.
func TestCollectorAndFixerAgainstDemoServer(t *testing.T) {
	srv, err := dnsserver.Start("127.0.0.1:0", "tana-key.", secret, zones, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := dns.Config{Name: "demo", Server: srv.Addr, Zones: []string{"example.com.", "2.0.192.in-addr.arpa."},
		TSIG: &dns.TSIG{Name: "tana-key.", Algorithm: "hmac-sha256", Secret: secret}}
	col, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := col.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range snaps {
		if !s.Complete {
			t.Fatalf("%s incomplete: %v", s.Scope, s.Errors)
		}
		for _, o := range s.Objects {
			names = append(names, o.ID)
		}
	}
	got := strings.Join(names, "\n")
	for _, want := range []string{"web.example.com. A 192.0.2.10", "10.2.0.192.in-addr.arpa. PTR web.example.com."} {
		if !strings.Contains(got, want) {
			t.Errorf("collection lacks %q:\n%s", want, got)
		}
	}
	fix, err := dns.NewFixer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(fqdn, value string) collectors.Object {
		return collectors.Object{Type: "dns_record", Attrs: map[string]any{"fqdn": fqdn, "rtype": "A", "value": value, "ttl": int64(300)}}
	}
	errs := fix.Apply(context.Background(), []collectors.Fix{
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: rec("db.example.com.", "192.0.2.20")},
		{Scope: "dns:example.com.", Op: collectors.OpDelete, Object: rec("web.example.com.", "192.0.2.10")},
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs := strings.Join(srv.Records("example.com."), "\n")
	if !strings.Contains(recs, "db.example.com.\t300\tIN\tA\t192.0.2.20") || strings.Contains(recs, "192.0.2.10") {
		t.Fatalf("after fix:\n%s", recs)
	}
	// A delete whose record is already gone is refused, nothing changes.
	errs = fix.Apply(context.Background(), []collectors.Fix{{Scope: "dns:example.com.", Op: collectors.OpDelete, Object: rec("web.example.com.", "192.0.2.10")}})
	if errs[0] == nil {
		t.Fatal("stale delete accepted")
	}
	// Unsigned transfers are refused.
	bad := cfg
	bad.TSIG = nil
	c2, _ := dns.New(bad, nil)
	snaps, _ = c2.Collect(context.Background())
	if len(snaps) == 0 || snaps[0].Complete {
		t.Fatal("unsigned transfer allowed")
	}
}
