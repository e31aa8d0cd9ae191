package dns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
)

func newTestFixer(t *testing.T, cfg Config) *Fixer {
	t.Helper()
	f, err := NewFixer(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func record(fqdn, rtype, value string, ttl any) collectors.Object {
	id := RecordID(fqdn, rtype, value)
	attrs := map[string]any{"fqdn": fqdn, "rtype": rtype, "value": value}
	if ttl != nil {
		attrs["ttl"] = ttl
	}
	return collectors.Object{Type: TypeRecord, ID: id, Name: id, Attrs: attrs}
}

// lookup asks the server directly, as any client would.
func lookup(t *testing.T, srv *dnstest.Server, name string, qtype uint16) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, err := dns.Exchange(m, srv.Addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, Value(rr)+" ttl="+itoa(int(rr.Header().Ttl)))
		}
	}
	slices.Sort(out)
	return out
}

func TestFixerHandles(t *testing.T) {
	f := newTestFixer(t, Config{Name: "dns1", Server: "127.0.0.1:53", Zones: []string{"Example.COM"}})
	for scope, want := range map[string]bool{
		"dns:example.com.": true, "dns:EXAMPLE.com": true, "dns:other.com.": false,
		"vsphere:vc1": false, "example.com.": false,
	} {
		if got := f.Handles(scope); got != want {
			t.Errorf("Handles(%q) = %v, want %v", scope, got, want)
		}
	}
}

func TestFixerAppliesCreateUpdateDelete(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	f := newTestFixer(t, configFor(srv))
	const scope = "dns:example.com."
	fixes := []collectors.Fix{
		{Scope: scope, Op: collectors.OpCreate, Object: record("db.example.com.", "A", "192.0.2.50", int64(120))},
		{Scope: scope, Op: collectors.OpCreate, Object: record("Api.Example.com.", "CNAME", "www.example.com.", nil)},
		{Scope: scope, Op: collectors.OpUpdate, Object: record("www.example.com.", "A", "192.0.2.11", int64(3600)),
			Attr: "value", Old: "192.0.2.11", New: "192.0.2.12"},
		{Scope: scope, Op: collectors.OpDelete, Object: record("example.com.", "TXT", `"v=spf1 mx -all"`, int64(3600))},
		{Scope: "dns:2.0.192.in-addr.arpa.", Op: collectors.OpCreate, Object: record("50.2.0.192.in-addr.arpa.", "PTR", "db.example.com.", int64(120))},
	}
	for i, err := range f.Apply(context.Background(), fixes) {
		if err != nil {
			t.Errorf("fix %d (%s): %v", i, fixes[i], err)
		}
	}
	checks := []struct {
		name  string
		qtype uint16
		want  []string
	}{
		{"db.example.com.", dns.TypeA, []string{"192.0.2.50 ttl=120"}},
		{"api.example.com.", dns.TypeCNAME, []string{"www.example.com. ttl=3600"}},
		{"www.example.com.", dns.TypeA, []string{"192.0.2.10 ttl=3600", "192.0.2.12 ttl=3600"}},
		{"example.com.", dns.TypeTXT, nil},
		{"example.com.", dns.TypeMX, []string{"10 mail.example.com. ttl=3600"}},
		{"50.2.0.192.in-addr.arpa.", dns.TypePTR, []string{"db.example.com. ttl=120"}},
	}
	for _, c := range checks {
		if got := lookup(t, srv, c.name, c.qtype); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: got %q, want %q", c.name, dns.Type(c.qtype), got, c.want)
		}
	}
	// Applying the same creates again is harmless.
	for i, err := range f.Apply(context.Background(), fixes[:2]) {
		if err != nil {
			t.Errorf("repeat fix %d: %v", i, err)
		}
	}
}

func TestFixerStalePrerequisiteChangesNothing(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	f := newTestFixer(t, configFor(srv))
	const scope = "dns:example.com."
	before := collectAll(t, newTestCollector(t, configFor(srv)))[scope]
	cases := []struct {
		name  string
		stale collectors.Fix
	}{
		{"delete of a record already gone", collectors.Fix{Scope: scope, Op: collectors.OpDelete,
			Object: record("www.example.com.", "A", "192.0.2.99", nil)}},
		{"update from a value no longer there", collectors.Fix{Scope: scope, Op: collectors.OpUpdate,
			Object: record("www.example.com.", "A", "192.0.2.98", nil), Attr: "value", Old: "192.0.2.98", New: "192.0.2.97"}},
		{"delete in a name that does not exist", collectors.Fix{Scope: scope, Op: collectors.OpDelete,
			Object: record("gone.example.com.", "A", "192.0.2.1", nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fixes := []collectors.Fix{
				{Scope: scope, Op: collectors.OpCreate, Object: record("db.example.com.", "A", "192.0.2.50", nil)},
				tc.stale,
				{Scope: scope, Op: collectors.OpDelete, Object: record("www.example.com.", "A", "192.0.2.10", nil)},
			}
			errs := f.Apply(context.Background(), fixes)
			for i, err := range errs {
				re, ok := asRcode(err)
				if !ok || re.Rcode != dns.RcodeNXRrset || !strings.Contains(err.Error(), "update refused (NXRRSET)") {
					t.Errorf("fix %d: got %v, want the server's NXRRSET", i, err)
				}
			}
			after := collectAll(t, newTestCollector(t, configFor(srv)))[scope]
			if !slices.EqualFunc(before.Objects, after.Objects, func(a, b collectors.Object) bool { return a.ID == b.ID }) {
				t.Error("the zone changed although the update was refused")
			}
		})
	}
}

func TestFixerWrongKeyAndBadFixes(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	cfg := configFor(srv)
	cfg.TSIG = &TSIG{Name: srv.KeyName, Secret: "c2VjcmV0IHRoYXQgaXMgd3Jvbmc="}
	errs := newTestFixer(t, cfg).Apply(context.Background(), []collectors.Fix{
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: record("db.example.com.", "A", "192.0.2.50", nil)},
	})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "NOTAUTH, TSIG BADSIG") {
		t.Errorf("wrong key: got %v", errs[0])
	}

	f := newTestFixer(t, configFor(srv))
	fixes := []collectors.Fix{
		{Scope: "dns:other.org.", Op: collectors.OpCreate, Object: record("a.other.org.", "A", "192.0.2.1", nil)},
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: record("a.other.org.", "A", "192.0.2.1", nil)},
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: record("a.example.com.", "A", "not-an-ip", nil)},
		{Scope: "dns:example.com.", Op: collectors.OpUpdate, Object: record("a.example.com.", "A", "192.0.2.1", nil), Attr: "owner", New: "x"},
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: collectors.Object{Type: TypeZone, ID: "example.com."}},
		{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: record("ok.example.com.", "A", "192.0.2.60", nil)},
	}
	errs = f.Apply(context.Background(), fixes)
	for i, err := range errs[:5] {
		if err == nil {
			t.Errorf("bad fix %d (%s) accepted", i, fixes[i])
		}
	}
	if errs[5] != nil {
		t.Errorf("good fix failed with the bad ones: %v", errs[5])
	}
	if got := lookup(t, srv, "ok.example.com.", dns.TypeA); !slices.Equal(got, []string{"192.0.2.60 ttl=3600"}) {
		t.Errorf("good fix not applied: %q", got)
	}
	if got := lookup(t, srv, "a.example.com.", dns.TypeA); got != nil {
		t.Errorf("bad fix applied: %q", got)
	}
	var re *RcodeError
	if errors.As(errs[0], &re) {
		t.Errorf("local validation error looks like a server rcode: %v", errs[0])
	}
}

func TestFixerReportsIgnoredAdditions(t *testing.T) {
	srv := dnstest.StartBIND(t, dnstest.Options{})
	f := newTestFixer(t, configFor(srv))
	const scope = "dns:example.com."
	fixes := []collectors.Fix{
		// www has A and AAAA records: BIND drops the CNAME but says NOERROR.
		{Scope: scope, Op: collectors.OpCreate, Object: record("www.example.com.", "CNAME", "other.example.com.", nil)},
		{Scope: scope, Op: collectors.OpCreate, Object: record("db.example.com.", "A", "192.0.2.50", nil)},
		{Scope: scope, Op: collectors.OpUpdate, Object: record("mail.example.com.", "A", "192.0.2.20", int64(300)),
			Attr: "ttl", Old: int64(300), New: int64(900)},
	}
	errs := f.Apply(context.Background(), fixes)
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "did not add www.example.com. CNAME other.example.com.") {
		t.Errorf("ignored CNAME: got %v", errs[0])
	}
	if errs[1] != nil || errs[2] != nil {
		t.Errorf("other fixes: %v, %v", errs[1], errs[2])
	}
	if got := lookup(t, srv, "db.example.com.", dns.TypeA); !slices.Equal(got, []string{"192.0.2.50 ttl=3600"}) {
		t.Errorf("db: %q", got)
	}
	if got := lookup(t, srv, "mail.example.com.", dns.TypeA); !slices.Equal(got, []string{"192.0.2.20 ttl=900"}) {
		t.Errorf("ttl update: %q", got)
	}
}

// Every supported TSIG algorithm against named: a transfer and an update.
func TestTSIGAlgorithms(t *testing.T) {
	for _, alg := range []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		t.Run(alg, func(t *testing.T) {
			srv := dnstest.StartBIND(t, dnstest.Options{KeyAlgorithm: alg})
			cfg := configFor(srv)
			cfg.Zones = []string{"example.com."}
			errs := newTestFixer(t, cfg).Apply(context.Background(), []collectors.Fix{
				{Scope: "dns:example.com.", Op: collectors.OpCreate, Object: record("db.example.com.", "A", "192.0.2.50", nil)},
			})
			if errs[0] != nil {
				t.Fatalf("update: %v", errs[0])
			}
			snaps := collectAll(t, newTestCollector(t, cfg))
			if _, ok := recordsOf(snaps["dns:example.com."])["db.example.com. A 192.0.2.50"]; !ok {
				t.Error("update not seen by the transfer")
			}
		})
	}
}
