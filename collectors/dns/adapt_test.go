package dns

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil || rr == nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return rr
}

func TestValueNormalisation(t *testing.T) {
	cases := []struct {
		name, rr, rtype, value string
	}{
		{"A", "WWW.Example.COM. 60 IN A 192.0.2.10", "A", "192.0.2.10"},
		{"AAAA long form", "h.example.com. 60 IN AAAA 2001:0DB8:0000:0000:0000:0000:0000:0010", "AAAA", "2001:db8::10"},
		{"AAAA v4-mapped stays v6", "h.example.com. 60 IN AAAA ::ffff:192.0.2.1", "AAAA", "::ffff:192.0.2.1"},
		{"CNAME", "ftp.example.com. 60 IN CNAME WWW.Example.com.", "CNAME", "www.example.com."},
		{"DNAME", "old.example.com. 60 IN DNAME New.Example.NET.", "DNAME", "new.example.net."},
		{"NS", "example.com. 60 IN NS NS1.example.com.", "NS", "ns1.example.com."},
		{"PTR", "10.2.0.192.in-addr.arpa. 60 IN PTR WWW.EXAMPLE.COM.", "PTR", "www.example.com."},
		{"MX", "example.com. 60 IN MX 10 Mail.Example.com.", "MX", "10 mail.example.com."},
		{"SRV", "_sip._tcp.example.com. 60 IN SRV 10 60 5060 SIP.example.com.", "SRV", "10 60 5060 sip.example.com."},
		{"TXT keeps case and quoting", `example.com. 60 IN TXT "v=spf1 MX -all" "second"`, "TXT", `"v=spf1 MX -all" "second"`},
		{"TXT unquoted", `example.com. 60 IN TXT hello`, "TXT", `"hello"`},
		{"CAA tag lower-case", `example.com. 60 IN CAA 0 ISSUE "LetsEncrypt.org"`, "CAA", `0 issue "LetsEncrypt.org"`},
		{"SSHFP hex lower-case", "h.example.com. 60 IN SSHFP 4 2 ABCDEF0123", "SSHFP", "4 2 abcdef0123"},
		{"TLSA hex lower-case", "_443._tcp.example.com. 60 IN TLSA 3 1 1 ABCDEF", "TLSA", "3 1 1 abcdef"},
		{"DS hex lower-case", "sub.example.com. 60 IN DS 12345 13 2 ABCDEF", "DS", "12345 13 2 abcdef"},
		{"NAPTR replacement", `example.com. 60 IN NAPTR 100 10 "S" "SIP+D2U" "" _SIP._udp.Example.com.`, "NAPTR", `100 10 "S" "SIP+D2U" "" _sip._udp.example.com.`},
		{"HINFO generic", `h.example.com. 60 IN HINFO "PC" "Linux"`, "HINFO", `"PC" "Linux"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rr := mustRR(t, tc.rr)
			obj, ok := RecordObject("example.com.", rr)
			if !ok {
				t.Fatal("record skipped")
			}
			fqdn := name(rr.Header().Name)
			want := collectors.Object{
				Type: TypeRecord, ID: fqdn + " " + tc.rtype + " " + tc.value, Name: fqdn + " " + tc.rtype + " " + tc.value,
				Attrs: map[string]any{
					"zone": collectors.Ref{Type: TypeZone, ID: "example.com."}, "fqdn": fqdn,
					"rtype": tc.rtype, "value": tc.value, "ttl": int64(60),
				},
			}
			if d := cmp.Diff(want, obj); d != "" {
				t.Errorf("object (-want +got):\n%s", d)
			}
			// The value parses back into the same record: the fixer relies on it.
			back, err := ParseRecord(fqdn, tc.rtype, tc.value, 60)
			if err != nil {
				t.Fatalf("ParseRecord: %v", err)
			}
			if got := Value(back); got != tc.value {
				t.Errorf("round trip: got %q, want %q", got, tc.value)
			}
			if !sameRR(back, rr) {
				t.Errorf("round trip: %v is not %v", back, rr)
			}
		})
	}
}

func TestRecordObjectSkips(t *testing.T) {
	for _, s := range []string{
		"example.com. 60 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5",
		"example.com. 60 IN RRSIG A 13 2 60 20300101000000 20200101000000 12345 example.com. AAAA",
		"example.com. 60 IN NSEC www.example.com. A NS SOA",
		"example.com. 60 IN DNSKEY 257 3 13 AAAA",
		"example.com. 60 IN NSEC3PARAM 1 0 0 -",
		"example.com. 60 CH TXT \"chaos\"",
		"example.com. 60 IN TYPE65534 \\# 5 0D12340001",
	} {
		if obj, ok := RecordObject("example.com.", mustRR(t, s)); ok {
			t.Errorf("%s: not skipped: %+v", s, obj)
		}
	}
}

func TestZoneObject(t *testing.T) {
	soa := mustRR(t, "example.com. 60 IN SOA NS1.Example.com. h.example.com. 42 2 3 4 5").(*dns.SOA)
	got := ZoneObject("example.com.", "127.0.0.1:53", soa)
	want := collectors.Object{Type: TypeZone, ID: "example.com.", Name: "example.com.", Attrs: map[string]any{
		"zone": "example.com.", "server": "127.0.0.1:53", "serial": int64(42), "primary_ns": "ns1.example.com.",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("zone object (-want +got):\n%s", d)
	}
}

func TestParseRecordRejects(t *testing.T) {
	cases := []struct{ name, fqdn, rtype, value string }{
		{"bad ip", "a.example.com.", "A", "192.0.2.300"},
		{"v6 in A", "a.example.com.", "A", "2001:db8::1"},
		{"unknown type", "a.example.com.", "BOGUS", "x"},
		{"soa", "example.com.", "SOA", "a. b. 1 2 3 4 5"},
		{"empty name", "", "A", "192.0.2.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rr, err := ParseRecord(tc.fqdn, tc.rtype, tc.value, 60); err == nil {
				t.Errorf("accepted: %v", rr)
			}
		})
	}
}

func TestXFRParser(t *testing.T) {
	soa := func(serial int) string {
		return "example.com. 60 IN SOA ns1.example.com. h.example.com. " + itoa(serial) + " 2 3 4 5"
	}
	a := func(ip string) string { return "www.example.com. 60 IN A " + ip }
	cases := []struct {
		name  string
		ixfr  bool
		since uint32
		msgs  [][]string
		err   bool
		check func(t *testing.T, r xfrResult)
	}{
		{name: "axfr one message", msgs: [][]string{{soa(5), a("192.0.2.1"), a("192.0.2.2"), soa(5)}},
			check: func(t *testing.T, r xfrResult) {
				if !r.full || len(r.rrs) != 2 || r.soa.Serial != 5 {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "axfr lone SOA first message", msgs: [][]string{{soa(5)}, {a("192.0.2.1")}, {soa(5)}},
			check: func(t *testing.T, r xfrResult) {
				if !r.full || len(r.rrs) != 1 {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "axfr closing serial differs", msgs: [][]string{{soa(5), a("192.0.2.1"), soa(6)}}, err: true},
		{name: "axfr records after close", msgs: [][]string{{soa(5), a("192.0.2.1"), soa(5), a("192.0.2.9")}}, err: true},
		{name: "axfr not starting with SOA", msgs: [][]string{{a("192.0.2.1"), soa(5)}}, err: true},
		{name: "ixfr up to date", ixfr: true, since: 5, msgs: [][]string{{soa(5)}},
			check: func(t *testing.T, r xfrResult) {
				if !r.upToDate {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "ixfr two steps", ixfr: true, since: 5, msgs: [][]string{
			{soa(7), soa(5), a("192.0.2.1"), soa(6), a("192.0.2.2")}, {soa(6), soa(7), a("192.0.2.3"), soa(7)}},
			check: func(t *testing.T, r xfrResult) {
				if r.full || len(r.diffs) != 2 || r.diffs[0].from != 5 || r.diffs[1].to != 7 ||
					len(r.diffs[0].del) != 1 || len(r.diffs[0].add) != 1 || len(r.diffs[1].del) != 0 || len(r.diffs[1].add) != 1 {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "ixfr answered AXFR-style", ixfr: true, since: 5, msgs: [][]string{{soa(7), a("192.0.2.1"), soa(7)}},
			check: func(t *testing.T, r xfrResult) {
				if !r.full || len(r.rrs) != 1 {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "ixfr step gap", ixfr: true, since: 5, msgs: [][]string{{soa(8), soa(5), soa(6), soa(7), soa(8), soa(8)}}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &xfrParser{ixfr: tc.ixfr, since: tc.since}
			var err error
		feed:
			for _, msg := range tc.msgs {
				for _, s := range msg {
					if err = p.feed(mustRR(t, s)); err != nil {
						break feed
					}
				}
				p.endOfMessage()
			}
			if err == nil && p.state != xfrDone {
				err = errNoClosingSOA
			}
			if tc.err {
				if err == nil {
					t.Fatalf("no error; result %+v", p.res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p.res)
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
