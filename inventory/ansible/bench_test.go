package ansible

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// benchItems is inventorytest.Estate with a service carrying group vars.
func benchItems(n int) []inventory.Item {
	return append(inventorytest.Estate(n), inventory.Item{Type: "service", Name: "role_web", Attrs: map[string]any{"http_port": 8080}})
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

// BenchmarkStoreFloor is Store.Each and Store.EachRaw over the same VMs
// with nothing done per entry: the part of BenchmarkList that belongs to
// the store, decoded or not.
func BenchmarkStoreFloor(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			b.Run("each", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.Each(ctx, "vm", func(*inventory.Entry) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.EachRaw(ctx, "vm", func(*inventory.RawEntry) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
