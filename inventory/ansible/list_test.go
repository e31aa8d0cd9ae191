package ansible

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// listJSON is the parsed --list output.
type listJSON struct {
	Meta struct {
		Hostvars map[string]map[string]any `json:"hostvars"`
	} `json:"_meta"`
	Groups map[string]struct {
		Hosts    []string       `json:"hosts"`
		Vars     map[string]any `json:"vars"`
		Children []string       `json:"children"`
	} `json:"-"`
}

// list builds the inventory and returns the raw and parsed output.
func list(t *testing.T, s *inventory.Store, opts Options) (string, listJSON) {
	t.Helper()
	inv, err := New(s, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var buf bytes.Buffer
	if err := inv.List(ctx, &buf); err != nil {
		t.Fatalf("List: %v", err)
	}
	return buf.String(), parseList(t, buf.Bytes())
}

func parseList(t *testing.T, raw []byte) listJSON {
	t.Helper()
	var out listJSON
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, raw)
	}
	if err := json.Unmarshal(raw, &out.Groups); err != nil {
		t.Fatalf("groups: %v", err)
	}
	delete(out.Groups, "_meta")
	return out
}

// canonical re-encodes JSON with sorted keys: equal to the input only if
// the input was already sorted everywhere.
func canonical(t *testing.T, raw string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestList(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		raw, got := list(t, s, testOptions())

		if c := canonical(t, raw); c != raw {
			t.Errorf("output is not sorted:\n got %s\nwant %s", raw, c)
		}
		if !strings.HasPrefix(raw, `{"_meta":{"hostvars":{`) {
			t.Errorf("output does not start with _meta: %.60s", raw)
		}
		if strings.Contains(raw, "hunter2") || strings.Contains(raw, "s3cret") || strings.Contains(raw, "root_password") || strings.Contains(raw, "api_key") {
			t.Errorf("a secret leaked:\n%s", raw)
		}
		hosts := sortedKeys(got.Meta.Hostvars)
		if want := []string{"db01", "web01", "web02"}; !slices.Equal(hosts, want) {
			t.Errorf("hosts = %v, want %v", hosts, want)
		}
		web01 := got.Meta.Hostvars["web01"]
		for k, want := range map[string]any{
			"ansible_host": "10.0.0.1", "cluster": "prod01", "cluster_datacenter": "dc1", "host": "esx1",
			"host_cluster": "prod01", "cpus": 2.0, "disk_gb": 40.5, "owner": "alice", "annotation": "line one\nline \"two\" <b>",
		} {
			if web01[k] != want {
				t.Errorf("web01 %s = %#v, want %#v", k, web01[k], want)
			}
		}
		if tags, _ := web01["tags"].([]any); len(tags) != 2 || tags[0] != "web" || tags[1] != "frontend" {
			t.Errorf("web01 tags = %v", web01["tags"])
		}
		if got.Meta.Hostvars["db01"]["ansible_host"] != "db01" {
			t.Errorf("db01 ansible_host = %v, want its name", got.Meta.Hostvars["db01"]["ansible_host"])
		}
		if got.Meta.Hostvars["db01"]["cluster_datacenter"] != "dc2" {
			t.Errorf("db01 cluster_datacenter = %v", got.Meta.Hostvars["db01"]["cluster_datacenter"])
		}
		wantGroups := map[string][]string{
			"vm":                    {"db01", "web01", "web02"},
			"cluster_prod01":        {"web01", "web02"},
			"cluster_test_01":       {"db01"},
			"power_state_poweredOn": {"db01", "web01", "web02"},
			"tag_web":               {"web01", "web02"},
			"tag_frontend":          {"web01"},
			"tag_db":                {"db01"},
			"owner_alice":           {"web01"},
			"owner_nobody":          {"db01", "web02"},
			"dc_dc1":                {"web01", "web02"},
			"dc_dc2":                {"db01"},
			"webservers":            {"web01", "web02"},
		}
		for name, want := range wantGroups {
			if g, ok := got.Groups[name]; !ok || !slices.Equal(g.Hosts, want) {
				t.Errorf("group %s hosts = %v, want %v", name, g.Hosts, want)
			}
		}
		wantChildren := append(sortedKeys(wantGroups), "ungrouped")
		slices.Sort(wantChildren)
		if all := got.Groups["all"]; !slices.Equal(all.Children, wantChildren) {
			t.Errorf("all.children = %v, want %v", all.Children, wantChildren)
		}
		if v := got.Groups["all"].Vars; v["ntp_server"] != "ntp.example.com" {
			t.Errorf("all.vars = %v", v)
		}
		if v := got.Groups["webservers"].Vars; v["http_port"] != 8080.0 || v["nginx_workers"] != 4.0 || len(v) != 2 {
			t.Errorf("webservers vars = %v, want http_port from the CMDB and nginx_workers from tana.yaml", v)
		}
		if v := got.Groups["tag_db"].Vars; v["port"] != 5432.0 {
			t.Errorf("tag_db vars = %v", v)
		}

		if a, _ := got.Meta.Hostvars["web02"]["annotation"].(map[string]any); a["__ansible_unsafe"] != "{{ lookup('pipe', 'echo INJECTED') }}" {
			t.Errorf("web02 annotation = %#v, want it marked unsafe", got.Meta.Hostvars["web02"]["annotation"])
		}

		raw2, _ := list(t, s, testOptions())
		if raw2 != raw {
			t.Error("two builds of the same store differ")
		}
	})
}

func TestListIncludes(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		opts := Options{IncludePoweredOff: true, IncludeTemplates: true, IncludeSecrets: true, HostvarsPrefix: "tana_",
			GroupVarsFrom: []string{"service"}}
		raw, got := list(t, s, opts)
		hosts := sortedKeys(got.Meta.Hostvars)
		if want := []string{"db01", "off01", "tmpl01", "web01", "web02"}; !slices.Equal(hosts, want) {
			t.Errorf("hosts = %v, want %v", hosts, want)
		}
		if got.Meta.Hostvars["web01"]["tana_root_password"] != "hunter2" || !strings.Contains(raw, "s3cret-key") {
			t.Error("secrets were asked for but are missing")
		}
		if got.Meta.Hostvars["web01"]["tana_ip"] != "10.0.0.1" || got.Meta.Hostvars["web01"]["ansible_host"] != "10.0.0.1" {
			t.Errorf("prefix: web01 vars = %v", got.Meta.Hostvars["web01"])
		}
		if c := canonical(t, raw); c != raw {
			t.Errorf("output is not sorted:\n got %s\nwant %s", raw, c)
		}
		opts.AllowTemplates = true
		_, got = list(t, s, opts)
		if a := got.Meta.Hostvars["web02"]["tana_annotation"]; a != "{{ lookup('pipe', 'echo INJECTED') }}" {
			t.Errorf("with templates allowed, web02 annotation = %#v", a)
		}
	})
}

func TestHost(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		inv, err := New(s, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		_, all := list(t, s, testOptions())
		for _, name := range []string{"web01", "db01", "off01", "tmpl01", "gone01", "nosuch"} {
			var buf bytes.Buffer
			if err := inv.Host(ctx, &buf, name); err != nil {
				t.Fatalf("Host(%s): %v", name, err)
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("Host(%s): %v\n%s", name, err, buf.String())
			}
			want := all.Meta.Hostvars[name]
			if want == nil {
				want = map[string]any{}
			}
			if canonical(t, buf.String()) != canonical(t, mustJSON(t, want)) {
				t.Errorf("Host(%s) = %s, want the --list hostvars %s", name, buf.String(), mustJSON(t, want))
			}
		}
	})
}

func TestNewRejects(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		cases := []struct {
			name string
			opts Options
			want string
		}{
			{"unknown host type", Options{Hosts: []string{"vmm"}}, "vmm"},
			{"unknown attribute in ref_attrs", Options{RefAttrs: []string{"cluster.nope"}}, "nope"},
			{"ref_attrs not a path", Options{RefAttrs: []string{"cluster"}}, "not a reference path"},
			{"ref through a non-reference", Options{RefAttrs: []string{"ip.x"}}, "not a reference"},
			{"secret host address", Options{HostAddress: []string{"root_password"}}, "secret"},
			{"secret keyed group", Options{KeyedGroups: []KeyedGroup{{Key: "root_password"}}}, "secret"},
			{"empty key", Options{KeyedGroups: []KeyedGroup{{Prefix: "x"}}}, "key is empty"},
			{"reserved group", Options{Groups: map[string]Group{"all": {}}}, "reserved"},
			{"invalid group name", Options{Groups: map[string]Group{"web-servers": {}}}, "web_servers"},
			{"filter on no attribute", Options{Groups: map[string]Group{"x": {Filters: map[string]any{"nope": 1}}}}, "no host type"},
			{"unknown group vars type", Options{GroupVarsFrom: []string{"nope"}}, "nope"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := New(s, c.opts)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("New = %v, want an error mentioning %q", err, c.want)
				}
			})
		}
	})
}

func TestListEmptyStore(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		raw, got := list(t, s, Options{})
		if got.Meta.Hostvars == nil || !strings.Contains(raw, `"_meta":{"hostvars":{}}`) {
			t.Errorf("_meta.hostvars must be present when empty: %s", raw)
		}
		if want := []string{"ungrouped", "vm"}; !slices.Equal(got.Groups["all"].Children, want) {
			t.Errorf("all.children = %v, want %v", got.Groups["all"].Children, want)
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestListSeveralTypes merges two host types: hostvars stay sorted across
// them and a name both use is listed once, for the first type.
func TestListSeveralTypes(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		extra := []inventory.Item{
			{Type: "host", Name: "db01", Attrs: map[string]any{"ip": "192.0.2.9"}},
			{Type: "host", Name: "a-esx", Attrs: map[string]any{"ip": "192.0.2.1", "cluster": "prod01"}},
		}
		if _, err := s.Upsert(ctx, inventorytest.Meta("t"), extra, inventory.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		var warnings []string
		opts := Options{Hosts: []string{"vm", "host"}, KeyedGroups: []KeyedGroup{{Key: "cluster"}},
			Warn: func(m string) { warnings = append(warnings, m) }}
		raw, got := list(t, s, opts)
		if c := canonical(t, raw); c != raw {
			t.Errorf("output is not sorted:\n got %s\nwant %s", raw, c)
		}
		if want := []string{"a-esx", "db01", "esx1", "esx2", "web01", "web02"}; !slices.Equal(sortedKeys(got.Meta.Hostvars), want) {
			t.Errorf("hosts = %v, want %v", sortedKeys(got.Meta.Hostvars), want)
		}
		if got.Meta.Hostvars["db01"]["ansible_host"] != "db01" {
			t.Errorf("db01 is %v, want the vm's vars", got.Meta.Hostvars["db01"])
		}
		if h := got.Groups["host"].Hosts; !slices.Equal(h, []string{"a-esx", "esx1", "esx2"}) {
			t.Errorf("group host = %v", h)
		}
		if h := got.Groups["cluster_prod01"].Hosts; !slices.Equal(h, []string{"a-esx", "esx1", "web01", "web02"}) {
			t.Errorf("group cluster_prod01 = %v", h)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], `host "db01" skipped`) {
			t.Errorf("warnings = %q, want one about host db01", warnings)
		}
	})
}

// TestListSharedGroupNames lists a host once in a group that several
// sources name: its type, a user group and a repeated list value.
func TestListSharedGroupNames(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		if _, err := s.Upsert(ctx, inventorytest.Meta("t"), []inventory.Item{{Type: "vm", Name: "web02", Attrs: map[string]any{"tags": []any{"web", "web"}}}}, inventory.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		opts := Options{Groups: map[string]Group{"vm": {Filters: map[string]any{"role": "web"}}}, KeyedGroups: []KeyedGroup{{Key: "tags", Prefix: "tag"}}}
		_, got := list(t, s, opts)
		if h := got.Groups["vm"].Hosts; !slices.Equal(h, []string{"db01", "web01", "web02"}) {
			t.Errorf("group vm = %v", h)
		}
		if h := got.Groups["tag_web"].Hosts; !slices.Equal(h, []string{"web01", "web02"}) {
			t.Errorf("group tag_web = %v", h)
		}
	})
}

// TestCheckReportsEveryProblem: Check, run before the store is opened,
// reports all problems at once, each on the option it is about.
func TestCheckReportsEveryProblem(t *testing.T) {
	errs := Check(testRegistry(t), Options{
		Hosts:         []string{"vm", "nosuchtype"},
		KeyedGroups:   []KeyedGroup{{Key: "cluster"}, {Key: "nosuch"}},
		HostAddress:   []string{"ip", "nope"},
		GroupVarsFrom: []string{"nada"},
	})
	want := map[string]string{
		"hosts[1]":            `unknown entity type "nosuchtype"`,
		"keyed_groups[1].key": `type vm has no attribute "nosuch"`,
		"host_address[1]":     `type vm has no attribute "nope"`,
		"group_vars_from[0]":  `unknown entity type "nada"`,
	}
	got := map[string]string{}
	for _, err := range errs {
		var e *schema.Error
		if !errors.As(err, &e) {
			t.Fatalf("not a schema error: %v", err)
		}
		got[e.Field] = e.Message
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Check =\n%v\nwant\n%v", got, want)
	}
	if errs := Check(testRegistry(t), testOptions()); len(errs) > 0 {
		t.Errorf("Check of good options: %v", errs)
	}
}

// TestStaleHostsAreGrouped: hosts whose source no longer reports them
// (stale, e.g. held back from deletion by a safety limit) are in
// tana_stale, so a playbook can leave them out; the others are not.
func TestStaleHostsAreGrouped(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		if _, got := list(t, s, Options{}); len(got.Groups[StaleGroup].Hosts) != 0 {
			t.Fatalf("a stale group with no stale host: %v", got.Groups[StaleGroup])
		}
		web02, err := s.GetByName(ctx, "vm", "web02")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *inventory.Tx) error {
			return tx.SetStatus(ctx, inventory.StatusStale, []int64{web02.ID})
		}); err != nil {
			t.Fatal(err)
		}
		_, got := list(t, s, Options{})
		if hosts := got.Groups[StaleGroup].Hosts; !slices.Equal(hosts, []string{"web02"}) {
			t.Fatalf("%s = %v, want [web02]", StaleGroup, hosts)
		}
		if _, ok := got.Meta.Hostvars["web02"]; !ok {
			t.Fatal("a stale host left the inventory: it stays, grouped, for a person to decide")
		}
	})
}
