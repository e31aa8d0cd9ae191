package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// BenchmarkConcurrentUpdates has N clients (1, 8, 32, 128) update
// distinct VMs through GraphQL over HTTP at once, each with the version
// its last update returned, and reports updates per second, failed
// updates (the goal is none: no client races another for an entry) and
// database connections the pool closed for want of idle room and opened
// again (churn; the goal is none).
func BenchmarkConcurrentUpdates(b *testing.B) {
	clients := []int{1, 8, 32, 128}
	for _, dialect := range inventorytest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := inventorytest.Open(b, dialect)
			seed(b, s, clients[len(clients)-1])
			ts := start(b, s)
			vms := make([]*vmState, clients[len(clients)-1])
			for i := range vms {
				e, err := s.GetByName(context.Background(), "vm", fmt.Sprintf("vm%03d", i+1))
				if err != nil {
					b.Fatal(err)
				}
				vms[i] = &vmState{id: e.ID, version: e.Version}
			}
			// As many idle connections as clients: the benchmark measures
			// the server, not the client opening connections.
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(vms)}}
			defer hc.CloseIdleConnections()
			for _, n := range clients {
				b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
					var next, failed atomic.Int64
					var firstErr atomic.Value
					var wg sync.WaitGroup
					closed := s.DB().Stats().MaxIdleClosed
					began := time.Now()
					for w := range n {
						wg.Go(func() {
							for next.Add(1) <= int64(b.N) {
								if err := vms[w].update(hc, ts.url); err != nil {
									failed.Add(1)
									firstErr.CompareAndSwap(nil, err)
								}
							}
						})
					}
					wg.Wait()
					b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "updates/s")
					b.ReportMetric(float64(failed.Load()), "errors")
					b.ReportMetric(float64(s.DB().Stats().MaxIdleClosed-closed), "conns-churned")
					if err := firstErr.Load(); err != nil {
						b.Errorf("%d of %d updates failed, e.g. %v", failed.Load(), b.N, err)
					}
				})
			}
		})
	}
}

// vmState is one client's VM: its id and the version it last wrote.
type vmState struct {
	id, version int64
	cpus        int
}

const updateVM = `mutation($id: ID!, $v: Int!, $cpus: Int) { updateVm(id: $id, version: $v, attrs: {cpus: $cpus}) { version } }`

// update changes the VM's CPU count through /graphql.
func (vm *vmState) update(hc *http.Client, base string) error {
	vm.cpus = vm.cpus%64 + 1
	body, _ := json.Marshal(map[string]any{"query": updateVM, "variables": map[string]any{"id": vm.id, "v": vm.version, "cpus": vm.cpus}})
	resp, err := hc.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			UpdateVM struct{ Version int64 } `json:"updateVm"`
		}
		Errors []gqlErrorBody
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		return fmt.Errorf("status %d: %+v", resp.StatusCode, out.Errors)
	}
	vm.version = out.Data.UpdateVM.Version
	return nil
}
