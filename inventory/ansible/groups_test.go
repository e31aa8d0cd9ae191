package ansible

import (
	"slices"
	"testing"
)

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"cluster_prod01", "cluster_prod01"},
		{"cluster_test-01", "cluster_test_01"},
		{"tag_web server", "tag_web_server"},
		{"1st", "_st"},
		{"_1st", "_1st"},
		{"dns_host.example.com", "dns_host_example_com"},
		{"-x", "_x"},
		{"a/b:c", "a_b_c"},
		{"grüße", "grüße"},  // Python's \w is Unicode
		{"日本_1", "日本_1"},    // letters of any script are word characters
		{"²nd", "²nd"},      // a number but not a decimal digit may lead
		{"٣x", "_x"},        // an Arabic-Indic digit may not
		{"a\u00a0b", "a_b"}, // no-break space
		{"ip_10.0.0.1", "ip_10_0_0_1"},
		{"", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := sanitize(c.in); got != c.want {
				t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestKeyedGroupNames(t *testing.T) {
	dash, empty := "-", ""
	cases := []struct {
		name  string
		group KeyedGroup
		value any
		want  []string
	}{
		{"string", KeyedGroup{Key: "cluster", Prefix: "cluster"}, "prod01", []string{"cluster_prod01"}},
		{"prefix defaults to the key", KeyedGroup{Key: "power_state"}, "poweredOn", []string{"power_state_poweredOn"}},
		{"separator", KeyedGroup{Key: "role", Prefix: "role", Separator: &dash}, "web", []string{"role_web"}}, // "-" is sanitised
		{"empty separator", KeyedGroup{Key: "role", Prefix: "role", Separator: &empty}, "web", []string{"roleweb"}},
		{"list: one group per element", KeyedGroup{Key: "tags", Prefix: "tag"}, []any{"web", "front end"}, []string{"tag_web", "tag_front_end"}},
		{"empty list: none", KeyedGroup{Key: "tags", Prefix: "tag", Default: "none"}, []any{}, nil},
		{"empty element takes the default", KeyedGroup{Key: "tags", Prefix: "tag", Default: "none"}, []any{"", "db"}, []string{"tag_none", "tag_db"}},
		{"empty element without default", KeyedGroup{Key: "tags", Prefix: "tag"}, []any{""}, []string{"tag_"}},
		{"empty value takes the default", KeyedGroup{Key: "owner", Prefix: "owner", Default: "nobody"}, "", []string{"owner_nobody"}},
		{"absent value takes the default", KeyedGroup{Key: "owner", Prefix: "owner", Default: "nobody"}, nil, []string{"owner_nobody"}},
		{"empty value without default: none", KeyedGroup{Key: "owner", Prefix: "owner"}, "", nil},
		{"absent value without default: none", KeyedGroup{Key: "owner", Prefix: "owner"}, nil, nil},
		{"false: none, as Python's truth", KeyedGroup{Key: "template", Default: "x"}, false, nil},
		{"true as Python prints it", KeyedGroup{Key: "template"}, true, []string{"template_True"}},
		{"zero: none", KeyedGroup{Key: "cpus"}, int64(0), nil},
		{"integer", KeyedGroup{Key: "cpus"}, int64(4), []string{"cpus_4"}},
		{"float as Python prints it", KeyedGroup{Key: "disk_gb"}, 40.0, []string{"disk_gb_40_0"}},
		{"leading digit stays after a prefix", KeyedGroup{Key: "ip", Prefix: "ip"}, "10.0.0.1", []string{"ip_10_0_0_1"}},
		{"path key", KeyedGroup{Key: "cluster.datacenter"}, "dc1", []string{"cluster_datacenter_dc1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := keyedGroup{prefix: c.group.Prefix, sep: "_", def: c.group.Default}
			if k.prefix == "" {
				k.prefix = c.group.Key
			}
			if c.group.Separator != nil {
				k.sep = *c.group.Separator
			}
			var got []string
			for _, b := range k.bareNames(c.value, nil) {
				got = append(got, k.name(b))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("groups of %#v = %q, want %q", c.value, got, c.want)
			}
			// The same from the stored JSON, as --list reads it.
			got = nil
			for _, b := range k.bareNamesRaw(hostWith(c.value), nil) {
				got = append(got, k.name(b))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("groups of stored %#v = %q, want %q", c.value, got, c.want)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		name  string
		want  any
		value any
		match bool
	}{
		{"equal", "web", "web", true},
		{"different", "web", "db", false},
		{"any of", []any{"web", "db"}, "db", true},
		{"list attribute contains", "web", []any{"db", "web"}, true},
		{"list attribute lacks", "web", []any{"db"}, false},
		{"boolean", true, true, true},
		{"integer from YAML", 4, int64(4), true},
		{"null matches absent", nil, nil, true},
		{"null does not match a value", nil, "x", false},
		{"value does not match absent", "x", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFilter(getter{attr: "a"}, c.want)
			if got := f.match(hostWith(c.value), nil); got != c.match {
				t.Errorf("match(%#v) = %v, want %v", c.value, got, c.match)
			}
		})
	}
}
