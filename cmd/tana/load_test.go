package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// The GraphQL load benchmark: loadClients clients, each sending, one
// after the other, a page of 100 VMs with host and cluster and a lookup of
// one VM by name, for loadDuration (TANA_LOAD_SECONDS), against a real
// `tana serve` with the default limits over an estate of loadVMs VMs. It
// reports requests per second, p50 and p99 latency, errors (any status
// but 200 or any GraphQL error) and the server's peak RSS (VmHWM).
//
//	go test -run '^$' -bench BenchmarkServeLoad -benchtime 1x ./cmd/tana
const (
	loadClients = 100
	loadVMs     = 10_000
)

// The two queries of the mix: a page of the VMs of one of 20 clusters,
// and one VM.
const (
	loadPage  = `{ vms(first: 100, filter: {cluster: {eq: "cl%02d"}}) { edges { node { name cpus powerState ip host { name cluster { name } } } } } }`
	loadEntry = `query($name: String!) { vm(name: $name) { name cpus memoryMb ip owner role host { name } } }`
)

func BenchmarkServeLoad(b *testing.B) {
	for _, dialect := range inventorytest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := loadEstate(b, dialect)
			p := startServe(b, "TANA_DB="+db)
			for b.Loop() {
				r := runLoad(b, p.base, loadDuration())
				b.ReportMetric(float64(r.requests)/r.elapsed.Seconds(), "req/s")
				b.ReportMetric(r.percentile(0.50).Seconds()*1000, "p50-ms")
				b.ReportMetric(r.percentile(0.99).Seconds()*1000, "p99-ms")
				b.ReportMetric(float64(r.errors), "errors")
				b.ReportMetric(float64(p.peakRSS(b))/(1<<20), "peak-RSS-MB")
				if r.errors > 0 {
					b.Errorf("%d errors, the first: %s", r.errors, r.firstError)
				}
			}
		})
	}
}

func loadDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("TANA_LOAD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 20 * time.Second
}

// loadEstate fills a fresh database of the dialect with the benchmark
// estate and returns its URL.
func loadEstate(b *testing.B, dialect string) string {
	b.Helper()
	dsn := inventorytest.DSN(b, dialect)
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		b.Fatal(err)
	}
	s := inventorytest.OpenWith(b, dsn, reg)
	if _, err := s.Upsert(context.Background(), inventorytest.Meta("bench"), inventorytest.Estate(loadVMs), inventory.UpsertOptions{}); err != nil {
		b.Fatalf("seed: %v", err)
	}
	inventorytest.MustClose(b, s)
	return dsn
}

type loadResult struct {
	requests, errors int
	firstError       string
	elapsed          time.Duration
	latencies        []time.Duration
}

func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	slices.Sort(r.latencies)
	return r.latencies[min(int(p*float64(len(r.latencies))), len(r.latencies)-1)]
}

// runLoad runs the clients for d and gathers their latencies.
func runLoad(b *testing.B, base string, d time.Duration) *loadResult {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
	res := &loadResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range loadClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			var mine []time.Duration
			errs, first := 0, ""
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := loadRequest(client, base, i%2, rng); err != nil {
					errs++
					first = cmpOr(first, err.Error())
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, mine...)
			res.errors += errs
			res.firstError = cmpOr(res.firstError, first)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	return res
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// loadRequest sends one query of the mix: a page of a random cluster's
// VMs, or a random VM by name.
func loadRequest(client *http.Client, base string, kind int, rng *rand.Rand) error {
	query, vars := fmt.Sprintf(loadPage, rng.IntN(20)), map[string]any{}
	if kind == 1 {
		query, vars["name"] = loadEntry, fmt.Sprintf("vm%06d.example.com", rng.IntN(loadVMs))
	}
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := client.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var out struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != 200 || len(out.Errors) > 0 || len(out.Data) < 20 {
		return fmt.Errorf("%d: %.200s", resp.StatusCode, raw)
	}
	return nil
}

// peakRSS is the server's peak resident memory, in bytes.
func (p *serveProcess) peakRSS(tb testing.TB) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		tb.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
