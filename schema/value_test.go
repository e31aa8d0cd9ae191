package schema

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		typ     string
		in      any
		want    any
		wantErr string
	}{
		{"string", "x", "x", ""},
		{"string", 3, nil, "expected string, got integer 3"},
		{"integer", 3, int64(3), ""},
		{"integer", 3.0, int64(3), ""},
		{"integer", 3.5, nil, "expected integer, got 3.5"},
		{"integer", "3", nil, `expected integer, got string "3"`},
		{"number", 2, 2.0, ""},
		{"number", math.NaN(), nil, "expected a finite number, got NaN"},
		{"number", math.Inf(-1), nil, "expected a finite number, got -Inf"},
		{"boolean", true, true, ""},
		{"boolean", "yes", nil, "expected boolean"},
		{"date", "2024-02-29", "2024-02-29", ""},
		{"date", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "2024-01-02", ""},
		{"date", "2023-02-29", nil, "bad date"},
		{"datetime", "2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05Z", ""},
		{"ip", "::FFFF:192.0.2.1", "192.0.2.1", ""},
		{"ip", "192.0.2.1", "192.0.2.1", ""}, // canonical already: kept as it came
		{"ip", " 192.0.2.1 ", "192.0.2.1", ""},
		{"ip", "2001:DB8::0:1", "2001:db8::1", ""},
		{"ip", "192.0.2.256", nil, "bad ip address"},
		{"cidr", "192.0.2.77/24", "192.0.2.0/24", ""},
		{"cidr", "2001:DB8::/32", "2001:db8::/32", ""},
		{"mac", "00-50-56-AB-CD-EF", "00:50:56:ab:cd:ef", ""},
		{"mac", "nope", nil, "bad mac address"},
		{"fqdn", "WWW.Example.COM", "www.example.com.", ""},
		{"fqdn", "_sip._tcp.example.com.", "_sip._tcp.example.com.", ""},
		{"fqdn", "*.example.com", "*.example.com.", ""},
		{"fqdn", "bad..name", nil, "bad fqdn"},
		{"fqdn", "under score.com", nil, "bad fqdn"},
		{"ref:host", "esx01", "esx01", ""},
		{"ref:host", "", nil, "empty reference"},
		{"list:ip", []any{"10.0.0.1", "::1"}, []any{"10.0.0.1", "::1"}, ""},
		{"list:ip", []string{"10.0.0.1"}, []any{"10.0.0.1"}, ""},
		{"list:ip", []any{"10.0.0.1", "x"}, nil, "item 1: bad ip address"},
		{"list:integer", 5, nil, "expected a list of integer"},
	}
	for _, c := range cases {
		vt, err := ParseValueType(c.typ)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		got, err := vt.Normalize(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %v: error %v, want %q", c.typ, c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %v: %v", c.typ, c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", c.typ, c.in, diff)
		}
	}
}

func TestParseValueType(t *testing.T) {
	for _, bad := range []string{"strng", "list:", "ref:", "ref:Bad-Name", "list:list:ip", "ref"} {
		if _, err := ParseValueType(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	vt, _ := ParseValueType("list:ref:datastore")
	if !vt.List || vt.Kind != KindRef || vt.RefType != "datastore" || vt.String() != "list:ref:datastore" {
		t.Errorf("got %+v", vt)
	}
}
