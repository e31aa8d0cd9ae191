package allocate

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSpace(t *testing.T) {
	cases := []struct {
		name                     string
		cidr                     string
		ranges, exclude          []string
		gateway                  string
		size                     int64
		first, last, afterGapSeq string
	}{
		{name: "a /24 without network and broadcast", cidr: "192.0.2.0/24", size: 254, first: "192.0.2.1", last: "192.0.2.254"},
		{name: "gateway and excludes", cidr: "192.0.2.0/24", gateway: "192.0.2.1", exclude: []string{"192.0.2.10-192.0.2.19", "192.0.2.254"},
			size: 242, first: "192.0.2.2", last: "192.0.2.253", afterGapSeq: "192.0.2.20"},
		{name: "ranges", cidr: "10.0.0.0/16", ranges: []string{"10.0.1.0/24", "10.0.3.10-10.0.3.12"}, size: 259, first: "10.0.1.0", last: "10.0.3.12"},
		{name: "a /31 hands out both", cidr: "192.0.2.4/31", size: 2, first: "192.0.2.4", last: "192.0.2.5"},
		{name: "IPv6", cidr: "2001:db8::/120", size: 255, first: "2001:db8::1", last: "2001:db8::ff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, err := newSpace(c.cidr, c.ranges, c.exclude, c.gateway)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Size() != c.size || sp.at(0).String() != c.first || sp.at(sp.Size()-1).String() != c.last {
				t.Fatalf("size %d, first %s, last %s", sp.Size(), sp.at(0), sp.at(sp.Size()-1))
			}
			for seq := int64(0); seq < sp.Size(); seq++ {
				a := sp.at(seq)
				if back, ok := sp.seqOf(a); !ok || back != seq {
					t.Fatalf("seq %d → %s → %d, %v", seq, a, back, ok)
				}
			}
			if c.afterGapSeq != "" {
				if _, ok := sp.seqOf(netip.MustParseAddr("192.0.2.15")); ok {
					t.Fatal("an excluded address is in the space")
				}
				if s, _ := sp.seqOf(netip.MustParseAddr(c.afterGapSeq)); sp.at(s-1).String() != "192.0.2.9" {
					t.Fatalf("before %s comes %s", c.afterGapSeq, sp.at(s-1))
				}
			}
		})
	}
}

func TestSpaceRefuses(t *testing.T) {
	cases := []struct {
		cidr            string
		ranges, exclude []string
		want            string
	}{
		{"192.0.2.0/33", nil, nil, "cidr: "},
		{"192.0.2.0/24", []string{"198.51.100.1-198.51.100.9"}, nil, "ranges[0]: 198.51.100.1-198.51.100.9 is not inside 192.0.2.0/24"},
		{"192.0.2.0/24", []string{"192.0.2.9-192.0.2.1"}, nil, "ranges[0]: \"192.0.2.9-192.0.2.1\" runs backwards"},
		{"192.0.2.0/24", nil, []string{"nope"}, "exclude[0]: \"nope\" is not an address"},
		{"192.0.2.0/30", nil, []string{"192.0.2.0/30"}, "has no address to hand out"},
	}
	for _, c := range cases {
		if _, err := newSpace(c.cidr, c.ranges, c.exclude, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v %v: %v, want %q", c.cidr, c.ranges, c.exclude, err, c.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	cases := []struct {
		text    string
		vars    map[string]string
		seq     int64
		want    string
		wantErr string
	}{
		{text: "web{seq:03}", seq: 7, want: "web007"},
		{text: "web{seq:03}", seq: 1234, want: "web1234"},
		{text: "{env}-db{seq:02}", vars: map[string]string{"env": "prod"}, seq: 3, want: "prod-db03"},
		{text: "", seq: 42, want: "42"},
		{text: "{env}-db{seq:02}", wantErr: "vars: the template \"{env}-db{seq:02}\" needs env"},
		{text: "web", wantErr: "must hold {seq} exactly once (it holds it 0 times)"},
		{text: "web{seq}{seq}", wantErr: "exactly once (it holds it 2 times)"},
		{text: "web{seq:3}", wantErr: "{seq:3} is not a width"},
		{text: "web{se-q}", wantErr: "{se-q} is neither {seq} nor a variable"},
		{text: "web{seq", wantErr: "a { without its }"},
		{text: "web}", wantErr: "a } without its {"},
	}
	for _, c := range cases {
		tm, err := parseTemplate(c.text)
		var got string
		if err == nil {
			var variant string
			if variant, err = tm.variant(c.vars); err == nil {
				got = tm.render(variant, c.seq)
			}
		}
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: %v, want an error with %q", c.text, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q seq %d: %q, %v; want %q", c.text, c.seq, got, err, c.want)
		}
	}
}
