package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// TestBINDEndToEnd collects real zones from named, finds that a VM's
// declared dns_name has no A and no PTR record, applies the plan through
// the RFC 2136 fixer, and sees the drift resolved by the next collection.
func TestBINDEndToEnd(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	cfg := dns.Config{Name: "dns1", Server: srv.Addr, Zones: srv.Zones,
		TSIG: &dns.TSIG{Name: srv.KeyName, Algorithm: srv.KeyAlgorithm, Secret: srv.KeySecret}}
	col, err := dns.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixer, err := dns.NewFixer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := inventorytest.Open(t, "sqlite")
	e := reconcile.New(s, reconcile.Options{Fixers: []collectors.Fixer{fixer}})
	if _, err := e.Collect(ctx, col); err != nil {
		t.Fatal(err)
	}
	get(t, s, "dns_record", "www.example.com. A 192.0.2.10")
	reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"ip": "192.0.2.50"})))
	web1 := get(t, s, "vm", "web1")
	if _, err := s.Update(ctx, inventorytest.Meta("alice"), web1.ID, inventory.Patch{Attrs: map[string]any{"dns_name": "web1.example.com."}}); err != nil {
		t.Fatal(err)
	}
	if err := e.CrossCheck(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope, Entry: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Actionable() != 2 {
		t.Fatalf("plan: %v", p.Fixes)
	}
	res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
	if err != nil || res.Reality != 2 {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if _, err := e.Collect(ctx, col); err != nil {
		t.Fatal(err)
	}
	get(t, s, "dns_record", "web1.example.com. A 192.0.2.50")
	get(t, s, "dns_record", "50.2.0.192.in-addr.arpa. PTR web1.example.com.")
	open, err := e.Drift(ctx, reconcile.Filter{Source: reconcile.CrossScope, Entry: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range open {
		if strings.Contains(it.Message, "web1") {
			t.Errorf("still open after the fix: %s", it.String())
		}
	}
}
