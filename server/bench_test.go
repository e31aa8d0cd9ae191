package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// BenchmarkQueryAllVMs asks for 10,000 VMs with their host and the host's
// cluster in one query, over HTTP, and reports SQL statements and latency
// per query.
func BenchmarkQueryAllVMs(b *testing.B) {
	const vms, hosts, clusters = 10000, 100, 10
	for _, dialect := range inventorytest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s, dsn := openCounted(b, dialect)
			if _, err := s.Upsert(context.Background(), inventorytest.Meta("bench"), estate(vms, hosts, clusters), inventory.UpsertOptions{}); err != nil {
				b.Fatal(err)
			}
			counter := countStatements(b, s, dsn)
			ts := start(b, s, func(o *Options) {
				o.Limits.MaxPageSize = vms
				o.Limits.MaxComplexity = 1 << 30
			})
			q := `{ vms(first: 10000) { edges { node { name host { name cluster { name } } } } } }`
			var out struct {
				Vms struct{ Edges []struct{ Node vmNode } }
			}
			ts.query(b, q, nil, &out) // warm up, and check the answer once
			if len(out.Vms.Edges) != vms || out.Vms.Edges[vms-1].Node.Host.Cluster.Name == "" {
				b.Fatalf("got %d VMs", len(out.Vms.Edges))
			}
			body, _ := json.Marshal(map[string]any{"query": q})
			counter.Store(0)
			var latency time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, err := http.Post(ts.url+"/graphql", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latency += time.Since(start)
				if resp.StatusCode != 200 || n < 100000 {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(counter.Load())/float64(b.N), "sql/op")
			b.ReportMetric(latency.Seconds()/float64(b.N), "s/query")
		})
	}
}

// estate is a datacenter with clusters, hosts spread over the clusters and
// VMs spread over the hosts, each VM referencing its host and cluster.
func estate(vms, hosts, clusters int) []inventory.Item {
	items := make([]inventory.Item, 0, 1+vms+hosts+clusters)
	items = append(items, inventory.Item{Type: "datacenter", Name: "dc1"})
	for c := 0; c < clusters; c++ {
		items = append(items, inventory.Item{Type: "cluster", Name: fmt.Sprintf("c%02d", c), Attrs: map[string]any{"datacenter": "dc1"}})
	}
	for h := 0; h < hosts; h++ {
		items = append(items, inventory.Item{Type: "host", Name: fmt.Sprintf("h%03d", h), Attrs: map[string]any{"cluster": fmt.Sprintf("c%02d", h%clusters)}})
	}
	for i := 0; i < vms; i++ {
		h := i % hosts
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%05d", i), Attrs: map[string]any{
			"host": fmt.Sprintf("h%03d", h), "cluster": fmt.Sprintf("c%02d", h%clusters), "cpus": int64(2),
		}})
	}
	return items
}
