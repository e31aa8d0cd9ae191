package ansible

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

var ctx = context.Background()

// testRegistry is the built-in types plus testdata/types.
func testRegistry(tb testing.TB) *schema.Registry {
	tb.Helper()
	reg, err := schema.Load(filepath.Join("testdata", "types"))
	if err != nil {
		tb.Fatalf("load test types: %v", err)
	}
	return reg
}

// forEach runs fn on a fresh store of every dialect with the test types.
func forEach(t *testing.T, fn func(t *testing.T, s *inventory.Store)) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, inventorytest.OpenWith(t, inventorytest.DSN(t, d), testRegistry(t)))
		})
	}
}

// testOptions is testdata/tana.yaml's ansible section.
func testOptions() Options {
	return Options{
		Hosts:       []string{"vm"},
		HostAddress: []string{"ip", "name"},
		RefAttrs:    []string{"cluster.datacenter", "host.cluster"},
		KeyedGroups: []KeyedGroup{
			{Key: "cluster", Prefix: "cluster"},
			{Key: "power_state"},
			{Key: "tags", Prefix: "tag"},
			{Key: "owner", Prefix: "owner", Default: "nobody"},
			{Key: "cluster.datacenter", Prefix: "dc"},
		},
		Groups: map[string]Group{
			"webservers": {Filters: map[string]any{"role": "web"}, Vars: map[string]any{"nginx_workers": 4}},
		},
		GroupVarsFrom: []string{"service"},
	}
}

// fixture is a small estate: two datacenters, two clusters, two ESXi
// hosts, three live VMs, a powered-off VM, a template, a deleted VM and
// services carrying group vars (one secret each).
func fixture() []inventory.Item {
	return []inventory.Item{
		{Type: "datacenter", Name: "dc1"},
		{Type: "datacenter", Name: "dc2"},
		{Type: "cluster", Name: "prod01", Attrs: map[string]any{"datacenter": "dc1", "environment": "production"}},
		{Type: "cluster", Name: "test-01", Attrs: map[string]any{"datacenter": "dc2"}},
		{Type: "host", Name: "esx1", Attrs: map[string]any{"cluster": "prod01", "datacenter": "dc1"}},
		{Type: "host", Name: "esx2", Attrs: map[string]any{"cluster": "test-01", "datacenter": "dc2"}},
		{Type: "vm", Name: "web01", Attrs: map[string]any{"ip": "10.0.0.1", "power_state": "poweredOn", "host": "esx1", "cluster": "prod01",
			"datacenter": "dc1", "tags": []any{"web", "frontend"}, "role": "web", "owner": "alice", "root_password": "hunter2", "cpus": 2,
			"disk_gb": 40.5, "annotation": "line one\nline \"two\" <b>"}},
		{Type: "vm", Name: "web02", Attrs: map[string]any{"ip": "10.0.0.2", "power_state": "poweredOn", "host": "esx1", "cluster": "prod01",
			"tags": []any{"web"}, "role": "web", "template": false, "annotation": "{{ lookup('pipe', 'echo INJECTED') }}"}},
		{Type: "vm", Name: "db01", Attrs: map[string]any{"power_state": "poweredOn", "host": "esx2", "cluster": "test-01", "tags": []any{"db"}, "role": "db"}},
		{Type: "vm", Name: "off01", Attrs: map[string]any{"ip": "10.0.0.9", "power_state": "poweredOff", "cluster": "prod01"}},
		{Type: "vm", Name: "tmpl01", Attrs: map[string]any{"power_state": "poweredOff", "template": true}},
		{Type: "vm", Name: "gone01", Attrs: map[string]any{"power_state": "poweredOn"}},
		{Type: "service", Name: "webservers", Attrs: map[string]any{"http_port": 8080, "api_key": "s3cret-key"}},
		{Type: "service", Name: "tag_db", Attrs: map[string]any{"port": 5432}},
		{Type: "service", Name: "all", Attrs: map[string]any{"ntp_server": "ntp.example.com"}},
	}
}

// seed writes the fixture and deletes gone01.
func seed(tb testing.TB, s *inventory.Store) {
	tb.Helper()
	if _, err := s.Upsert(ctx, inventorytest.Meta("seed"), fixture(), inventory.UpsertOptions{}); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	e, err := s.GetByName(ctx, "vm", "gone01")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Delete(ctx, inventorytest.Meta("seed"), e.ID, e.Version); err != nil {
		tb.Fatalf("delete gone01: %v", err)
	}
}

// inventoryOn opens (and migrates) the store at dsn with the test types.
func inventoryOn(tb testing.TB, dsn string) *inventory.Store {
	tb.Helper()
	return inventorytest.OpenWith(tb, dsn, testRegistry(tb))
}
