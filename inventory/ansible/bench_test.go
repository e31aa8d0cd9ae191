package ansible

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// benchItems is an estate of n VMs with the attributes the vSphere
// collector fills, spread over 2 datacenters, 20 clusters and n/50 hosts.
func benchItems(n int) []inventory.Item {
	items := []inventory.Item{{Type: "datacenter", Name: "dc1"}, {Type: "datacenter", Name: "dc2"}}
	for c := 0; c < 20; c++ {
		items = append(items, inventory.Item{Type: "cluster", Name: fmt.Sprintf("cl%02d", c), Attrs: map[string]any{"datacenter": fmt.Sprintf("dc%d", c%2+1)}})
	}
	hosts := max(n/50, 1)
	for h := 0; h < hosts; h++ {
		items = append(items, inventory.Item{Type: "host", Name: fmt.Sprintf("esx%05d", h), Attrs: map[string]any{"cluster": fmt.Sprintf("cl%02d", h%20)}})
	}
	items = append(items, inventory.Item{Type: "datastore", Name: "ds1"}, inventory.Item{Type: "network", Name: "VM Network"})
	items = append(items, inventory.Item{Type: "service", Name: "role_web", Attrs: map[string]any{"http_port": 8080}})
	roles := []string{"web", "db", "cache", "app", "batch"}
	for i := 0; i < n; i++ {
		h := i % hosts
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%06d.example.com", i), Attrs: map[string]any{
			"instance_uuid": fmt.Sprintf("4210%08d-aaaa-bbbb-cccc-000000000000", i), "bios_uuid": fmt.Sprintf("4211%08d-aaaa-bbbb-cccc-000000000000", i),
			"moref": fmt.Sprintf("vm-%d", i), "vcenter": "vc1", "power_state": "poweredOn", "template": false,
			"guest_hostname": fmt.Sprintf("vm%06d", i), "guest_os": "debian12_64Guest",
			"ip": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "ips": []any{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "fe80::1"},
			"macs": []any{fmt.Sprintf("00:50:56:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)}, "cpus": i%8 + 1, "memory_mb": 4096, "disk_gb": 60.5,
			"disks": []any{"Hard disk 1:40", "Hard disk 2:20.5"}, "folder": "/dc1/vm/prod", "resource_pool": "Resources",
			"host": fmt.Sprintf("esx%05d", h), "cluster": fmt.Sprintf("cl%02d", h%20), "datacenter": fmt.Sprintf("dc%d", h%20%2+1),
			"datastores": []any{"ds1"}, "networks": []any{"VM Network"}, "owner": fmt.Sprintf("team%02d", i%50), "role": roles[i%5],
			"tags": []any{"env:prod", fmt.Sprintf("app%02d", i%20)}, "annotation": "managed by tana",
		}})
	}
	return items
}

// benchOptions is a typical inventory: references, five keyed groups, a
// user group and group vars from the CMDB.
func benchOptions() Options {
	return Options{
		RefAttrs: []string{"cluster.datacenter", "host.cluster"},
		KeyedGroups: []KeyedGroup{
			{Key: "cluster", Prefix: "cluster"}, {Key: "power_state"}, {Key: "tags", Prefix: "tag"},
			{Key: "owner", Prefix: "owner"}, {Key: "role", Prefix: "role"},
		},
		Groups:        map[string]Group{"big": {Filters: map[string]any{"cpus": []any{7, 8}}, Vars: map[string]any{"tier": "large"}}},
		GroupVarsFrom: []string{"service"},
	}
}

// benchStore returns a SQLite store of n VMs. With TANA_BENCH_DIR set, the
// database is kept there and reused (and can be given to the binary);
// TANA_BENCH_DIALECT=postgres seeds a fresh PostgreSQL schema instead.
func benchStore(b *testing.B, n int) *inventory.Store {
	if os.Getenv("TANA_BENCH_DIALECT") == "postgres" {
		s := inventoryOn(b, inventorytest.DSN(b, "postgres"))
		if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), benchItems(n), inventory.UpsertOptions{}); err != nil {
			b.Fatalf("seed %d VMs: %v", n, err)
		}
		return s
	}
	dir := os.Getenv("TANA_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("ansible-%d.db", n))
	_, err := os.Stat(path)
	s := inventoryOn(b, "sqlite:"+path)
	if err != nil {
		if _, err := s.Upsert(ctx, inventorytest.Meta("bench"), benchItems(n), inventory.UpsertOptions{}); err != nil {
			b.Fatalf("seed %d VMs: %v", n, err)
		}
	}
	return s
}

// BenchmarkList measures the in-process --list at 10,000 and 100,000
// hosts, written to io.Discard.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			inv, err := New(s, benchOptions())
			if err != nil {
				b.Fatal(err)
			}
			cw := &countWriter{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cw.n = 0
				if err := inv.List(ctx, cw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cw.n), "bytes/list")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)

// BenchmarkStoreFloor is Store.Each (and EachUnordered) over the same VMs
// with nothing done per entry: the part of BenchmarkList that belongs to
// the store.
func BenchmarkStoreFloor(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			for name, each := range map[string]func(context.Context, string, func(*inventory.Entry) error) error{"each": s.Each, "unordered": s.EachUnordered} {
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						if err := each(ctx, "vm", func(*inventory.Entry) error { return nil }); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
