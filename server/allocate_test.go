package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// startAllocating runs a server with an allocator over s.
func startAllocating(t *testing.T, s *inventory.Store) *testServer {
	t.Helper()
	return start(t, s, func(o *Options) { o.Allocator = allocate.New(s, allocate.Options{}) })
}

func mustCreate(t *testing.T, s *inventory.Store, typ, name string, attrs map[string]any) {
	t.Helper()
	if _, err := s.Create(context.Background(), inventorytest.Meta("t"), typ, name, attrs); err != nil {
		t.Fatal(err)
	}
}

type grantData struct {
	Pool, Key, Status, DNSName string
	Values, For                []string
	ExpiresAt                  *string
	Replayed                   bool
	Skipped                    []struct{ Value, Reason string }
}

const grantFields = `pool values key status expiresAt for dnsName replayed skipped { value reason }`

// TestAllocateOverGraphQL: a held grant with a key, bound to a VM with
// its DNS name, replayed by its key, confirmed, listed and released; then
// values released by name; pools counts all along.
func TestAllocateOverGraphQL(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/29", "zone": "example.com."}) // .1 to .6
		mustCreate(t, s, "vm", "taken", map[string]any{"ip": "192.0.2.1"})
		mustCreate(t, s, "vm", "web1", nil)
		ts := startAllocating(t, s)

		allocate := `mutation($key: String) { allocate(pool: "lab", key: $key, hold: "10m", for: "vm/web1", dns: true, reason: "ticket 42") { ` + grantFields + ` } }`
		var first struct{ Allocate grantData }
		ts.query(t, allocate, map[string]any{"key": "k1"}, &first)
		g := first.Allocate
		if g.Pool != "lab" || !slices.Equal(g.Values, []string{"192.0.2.2"}) || g.Key != "k1" || g.Status != "held" || g.ExpiresAt == nil ||
			!slices.Equal(g.For, []string{"vm/web1"}) || g.DNSName != "web1.example.com." || g.Replayed ||
			len(g.Skipped) != 1 || g.Skipped[0].Value != "192.0.2.1" || !strings.Contains(g.Skipped[0].Reason, "vm taken has it (ip)") {
			t.Fatalf("grant: %+v", g)
		}
		var again struct{ Allocate grantData }
		ts.query(t, allocate, map[string]any{"key": "k1"}, &again)
		if !again.Allocate.Replayed || !slices.Equal(again.Allocate.Values, g.Values) || !slices.Equal(again.Allocate.For, g.For) {
			t.Fatalf("replay: %+v", again.Allocate)
		}
		var vm struct{ Vm struct{ IP, DNSName string } }
		ts.query(t, `{ vm(name: "web1") { ip: ip dnsName } }`, nil, &vm)
		if vm.Vm.IP != "192.0.2.2" || vm.Vm.DNSName != "web1.example.com." {
			t.Fatalf("web1: %+v", vm.Vm)
		}

		var confirmed struct{ ConfirmAllocation grantData }
		ts.query(t, `mutation { confirmAllocation(pool: "lab", key: "k1") { `+grantFields+` } }`, nil, &confirmed)
		if c := confirmed.ConfirmAllocation; c.Status != "granted" || !slices.Equal(c.Values, g.Values) {
			t.Fatalf("confirm: %+v", c)
		}
		var more struct{ Allocate grantData }
		ts.query(t, `mutation { allocate(pool: "lab", count: 2) { `+grantFields+` } }`, nil, &more)
		checkPools(t, ts, `[{"free":3,"granted":3,"held":0,"name":"lab","problem":null,"size":6,"type":"ip_pool","utilisation":0.5}]`)

		var list struct {
			Allocations []struct {
				Value, Status, Actor, Reason, Key string
				Entry                             *struct{ Name string }
			}
		}
		ts.query(t, `{ allocations(pool: "lab", live: true) { value status actor reason key entry { name } } }`, nil, &list)
		if len(list.Allocations) != 3 || list.Allocations[2].Value != "192.0.2.2" || list.Allocations[2].Entry == nil ||
			list.Allocations[2].Entry.Name != "web1" || list.Allocations[2].Reason != "ticket 42" || list.Allocations[2].Actor != "anonymous" {
			t.Fatalf("allocations: %+v", list.Allocations)
		}

		var released struct{ ReleaseAllocation grantData }
		ts.query(t, `mutation { releaseAllocation(pool: "lab", key: "k1", reason: "VM gone") { `+grantFields+` } }`, nil, &released)
		if r := released.ReleaseAllocation; r.Status != "released" || !slices.Equal(r.Values, g.Values) {
			t.Fatalf("release by key: %+v", r)
		}
		ts.query(t, `mutation($v: [String!]) { releaseAllocation(pool: "lab", values: $v) { `+grantFields+` } }`,
			map[string]any{"v": more.Allocate.Values}, &released)
		if r := released.ReleaseAllocation; !slices.Equal(r.Values, more.Allocate.Values) {
			t.Fatalf("release by values: %+v", r)
		}
		checkPools(t, ts, `[{"free":6,"granted":0,"held":0,"name":"lab","problem":null,"size":6,"type":"ip_pool","utilisation":0}]`)
		ts.query(t, `{ allocations(pool: "lab", first: 2) { value status } }`, nil, &list)
		if len(list.Allocations) != 2 || list.Allocations[0].Status != "released" {
			t.Fatalf("history: %+v", list.Allocations)
		}
	})
}

// checkPools compares the pools query's answer, as JSON with its keys
// sorted, with want.
func checkPools(t *testing.T, ts *testServer, want string) {
	t.Helper()
	var got struct{ Pools json.RawMessage }
	ts.query(t, `{ pools { name type size granted held free utilisation problem } }`, nil, &got)
	if string(got.Pools) != want {
		t.Fatalf("pools:\n%s\nwant\n%s", got.Pools, want)
	}
}

// TestAllocateRefusals: an exhausted pool, bad arguments and an unknown
// pool answer coded errors naming the field, and change nothing; a
// reader cannot allocate, nor anyone over GET.
func TestAllocateRefusals(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "tiny", map[string]any{"cidr": "192.0.2.0/30"}) // .1 and .2
		mustCreate(t, s, "name_pool", "db", map[string]any{"template": "{env}-db{seq:02}"})
		ts := startAllocating(t, s)
		cases := []struct {
			name, query, code, field, message string
		}{
			{"exhausted", `mutation { allocate(pool: "tiny", count: 3) { values } }`, "EXHAUSTED", "pool", "pool tiny (2 values) is exhausted: 3 asked, 2 free"},
			{"count 0", `mutation { allocate(pool: "tiny", count: 0) { values } }`, "INVALID", "count", "want at least 1 value, got 0"},
			{"count too high", `mutation { allocate(pool: "tiny", count: 1000) { values } }`, "INVALID", "count", "want 1 to 256 values, got 1000"},
			{"bad hold", `mutation { allocate(pool: "tiny", hold: "soon") { values } }`, "INVALID", "hold", `"soon" is not a duration`},
			{"negative hold", `mutation { allocate(pool: "tiny", hold: "-1m") { values } }`, "INVALID", "hold", "a hold of -1m0s is negative"},
			{"vars not an object", `mutation { allocate(pool: "db", vars: ["env=prod"]) { values } }`, "INVALID", "vars", "vars must be an object of strings"},
			{"vars not strings", `mutation { allocate(pool: "db", vars: {env: 3}) { values } }`, "INVALID", "vars.env", "want a string, got 3"},
			{"no such pool", `mutation { allocate(pool: "nosuch") { values } }`, "NOT_FOUND", "pool", `no ip_pool or name_pool named "nosuch"`},
			{"nothing to release", `mutation { releaseAllocation(pool: "tiny") { values } }`, "INVALID", "key", "name the grant's key or the values to release"},
			{"no such grant", `mutation { confirmAllocation(pool: "tiny", key: "nope") { values } }`, "NOT_FOUND", "", `pool tiny has no live grant of key "nope"`},
			{"first too big", `{ allocations(pool: "tiny", first: 100000) { value } }`, "INVALID", "first", "first must be between 0 and"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(t, "", c.query, nil)
				if len(r.Errors) != 1 || r.code() != c.code || r.Errors[0].Extensions["field"] != fieldOrNil(c.field) || !strings.Contains(r.Errors[0].Message, c.message) {
					t.Fatalf("got %d %+v; want %s on %q: %q", r.Status, r.Errors, c.code, c.field, c.message)
				}
			})
		}
		checkPools(t, ts, `[{"free":null,"granted":0,"held":0,"name":"db","problem":null,"size":null,"type":"name_pool","utilisation":null},`+
			`{"free":2,"granted":0,"held":0,"name":"tiny","problem":null,"size":2,"type":"ip_pool","utilisation":0}]`)

		resp, err := http.Get(ts.url + "/graphql?query=" + url.QueryEscape(`mutation { allocate(pool: "tiny") { values } }`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("allocate over GET: %d", resp.StatusCode)
		}

		ctx := context.Background()
		reader, _, err := s.CreateToken(ctx, "ro", inventory.RoleReader)
		if err != nil {
			t.Fatal(err)
		}
		writer, _, err := s.CreateToken(ctx, "rw", inventory.RoleWriter)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`mutation { allocate(pool: "tiny") { values } }`, `mutation { releaseAllocation(pool: "tiny", key: "k") { values } }`,
			`mutation { confirmAllocation(pool: "tiny", key: "k") { values } }`} {
			if r := ts.do(t, reader, q, nil); r.Status != http.StatusForbidden || r.code() != "FORBIDDEN" {
				t.Fatalf("a reader's %s: %d %+v", q, r.Status, r.Errors)
			}
		}
		if r := ts.do(t, reader, `{ pools { name free } allocations(pool: "tiny") { value } }`, nil); r.Status != 200 || len(r.Errors) > 0 {
			t.Fatalf("a reader reads pools: %d %+v", r.Status, r.Errors)
		}
		if as, err := s.Allocations(ctx, inventory.AllocationFilter{}); err != nil || len(as) != 0 {
			t.Fatalf("allocations after refusals: %v, %v", as, err)
		}
		r := ts.do(t, writer, `mutation { allocate(pool: "tiny") { values } }`, nil)
		var g struct{ Allocate grantData }
		if err := json.Unmarshal(r.Data, &g); err != nil || len(r.Errors) > 0 || len(g.Allocate.Values) != 1 {
			t.Fatalf("a writer allocates: %s %+v", r.Data, r.Errors)
		}
		as, err := s.Allocations(ctx, inventory.AllocationFilter{})
		if err != nil || len(as) != 1 || as[0].Actor != "rw" {
			t.Fatalf("the writer's allocation: %+v, %v", as, err)
		}
		r = ts.do(t, writer, `mutation($vars: JSON) { allocate(pool: "db", vars: $vars) { values } }`, map[string]any{"vars": map[string]any{"env": "prod"}})
		if err := json.Unmarshal(r.Data, &g); err != nil || len(r.Errors) > 0 || !slices.Equal(g.Allocate.Values, []string{"prod-db01"}) {
			t.Fatalf("a name with variables: %s %+v", r.Data, r.Errors)
		}
	})
}

func fieldOrNil(f string) any {
	if f == "" {
		return nil
	}
	return f
}

// TestAllocateStormOverHTTP: 32 clients on two servers (two replicas of
// one database) allocate from a pool of 64 addresses until each is told
// it is exhausted. Every address is granted exactly once.
func TestAllocateStormOverHTTP(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, _ string, s1, s2 *inventory.Store) {
		mustCreate(t, s1, "ip_pool", "lab", map[string]any{"cidr": "10.1.0.0/24", "ranges": []any{"10.1.0.1-10.1.0.64"}})
		urls := []string{startAllocating(t, s1).url, startAllocating(t, s2).url}
		var mu sync.Mutex
		granted := map[string]int{}
		exhausted := 0
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				for {
					v, code, err := allocateOne(urls[i%2], fmt.Sprintf("client %d", i))
					mu.Lock()
					switch {
					case err != nil:
						t.Errorf("client %d: %v", i, err)
					case code == "EXHAUSTED":
						exhausted++
					default:
						granted[v]++
					}
					mu.Unlock()
					if err != nil || code != "" {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(granted) != 64 || exhausted != 32 {
			t.Fatalf("%d addresses granted, %d clients told the pool is exhausted", len(granted), exhausted)
		}
		for v, n := range granted {
			if n != 1 {
				t.Errorf("%s granted %d times", v, n)
			}
		}
	})
}

// allocateOne asks url for one address: the value, or the error's code.
func allocateOne(url, reason string) (value, code string, err error) {
	body, err := json.Marshal(map[string]any{"query": `mutation($r: String) { allocate(pool: "lab", reason: $r) { values } }`, "variables": map[string]any{"r": reason}})
	if err != nil {
		return "", "", err
	}
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	var r struct {
		Data   struct{ Allocate *struct{ Values []string } }
		Errors []gqlErrorBody
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", "", fmt.Errorf("%d %s: %w", resp.StatusCode, raw, err)
	}
	switch {
	case len(r.Errors) > 0:
		code, _ := r.Errors[0].Extensions["code"].(string)
		if code != "EXHAUSTED" {
			return "", "", fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		return "", code, nil
	case r.Data.Allocate == nil || len(r.Data.Allocate.Values) != 1:
		return "", "", fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	return r.Data.Allocate.Values[0], "", nil
}

// TestPoolValuesMetric: tana_pool_values has each pool's granted, held
// and free values, and no free series for a pool with no end.
func TestPoolValuesMetric(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/29"}) // 6 addresses
		mustCreate(t, s, "name_pool", "web", map[string]any{"template": "web{seq:03}"})
		ts := startAllocating(t, s)
		for _, q := range []string{`mutation { allocate(pool: "lab", count: 2) { values } }`, `mutation { allocate(pool: "lab", hold: "1h") { values } }`,
			`mutation { allocate(pool: "web") { values } }`} {
			ts.query(t, q, nil, nil)
		}
		// The refresh loop reads the pools at start and every 15 s: read them now.
		if err := ts.updateMetrics(context.Background(), map[string]bool{}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(ts.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, m := range families["tana_pool_values"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["pool"]+"/"+labels["state"]] = m.GetGauge().GetValue()
		}
		want := map[string]float64{"lab/granted": 2, "lab/held": 1, "lab/free": 3, "web/granted": 1, "web/held": 0}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("tana_pool_values: %v, want %v", got, want)
		}
	})
}
