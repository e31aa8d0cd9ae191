package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// post sends a JSON body to /graphql.
func (ts *testServer) post(body []byte) (*http.Response, error) {
	return http.Post(ts.url+"/graphql", "application/json", bytes.NewReader(body))
}

// costOf runs a query and returns its status and extensions.
func costOf(t *testing.T, ts *testServer, query string) (int, map[string]any, []gqlErrorBody) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	resp, err := ts.post(body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Errors     []gqlErrorBody `json:"errors"`
		Extensions map[string]any `json:"extensions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.Extensions, out.Errors
}

// TestCostModel pins the cost of queries to the number of fields their
// answer can hold, and that the defaults accept a full page of VMs with
// ten scalars and their host and cluster (issue 20).
func TestCostModel(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 3)
	ts := start(t, s)
	tenScalars := "id name version status createdAt updatedAt cpus memoryMb powerState ip"
	cases := []struct {
		name, query string
		cost        int
	}{
		{"full page, ten scalars, host and cluster", `{ vms(first: 1000) { edges { node { ` + tenScalars + ` host { name cluster { name } } } } } }`, 2 + 1000*(1+10+4)},
		{"the issue's 6101", `{ vms(first: 100) { edges { node { name host { name cluster { name } } } } } }`, 2 + 100*(1+1+4)},
		{"the issue's 10501", `{ vms(first: 500) { edges { node { name } } } }`, 2 + 500*2},
		{"nodes", `{ vms(first: 10) { nodes { name } pageInfo { hasNextPage } totalCount } }`, 1 + 1 + 10 + 2 + 1},
		{"default page", `{ vms { nodes { name } } }`, 2 + 100},
		{"page through a fragment", `{ vms(first: 10) { ...c } } fragment c on VmConnection { nodes { name } }`, 2 + 10},
		{"back-references without first", `{ host(name: "h1") { name vms { name } } }`, 1 + 1 + 1 + listBound},
		{"back-references with first", `{ host(name: "h1") { vms(first: 5) { name } } }`, 1 + 1 + 5},
		{"typename", `{ __typename }`, 1},
		{"a scalar list is one field", `{ vm(name: "vm001") { tags } }`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, ext, errs := costOf(t, ts, c.query)
			if status != 200 || len(errs) > 0 {
				t.Fatalf("status %d: %+v", status, errs)
			}
			if ext["cost"] != float64(c.cost) || ext["maxCost"] != float64(DefaultMaxComplexity) {
				t.Fatalf("extensions %v, want cost %d of %d", ext, c.cost, DefaultMaxComplexity)
			}
		})
	}
	t.Run("refused, with its cost", func(t *testing.T) {
		q := `{ a: vms(first: 1000) { nodes { name } } b: hosts(first: 1000) { nodes { name vms { name cpus } } } }`
		status, ext, errs := costOf(t, ts, q)
		want := 2 + 1000 + 2 + 1000*(1+1+listBound*2)
		if status != 400 || len(errs) != 1 || ext["cost"] != float64(want) || errs[0].Extensions["field"] != "query" ||
			!strings.Contains(errs[0].Message, fmt.Sprintf("query cost %d exceeds the limit of %d", want, DefaultMaxComplexity)) {
			t.Fatalf("%d %v %+v", status, ext, errs)
		}
	})
}

// TestIntrospectionCountedExactly compares what the introspection walk
// counts with the answer graphql-go gives, for GraphiQL's schema query on
// the whole schema (reconcile's fields too), and checks that query is
// accepted.
func TestIntrospectionCountedExactly(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s, func(o *Options) { o.Reconcile = reconcile.New(s, reconcile.Options{}) })
	q, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{string(q), `{ __type(name: "PageInfo") { name fields { name type { name ofType { name } } } } }`, `{ __schema { queryType { name } } }`} {
		body, _ := json.Marshal(map[string]any{"query": query})
		resp, err := ts.post(body)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data       any
			Errors     []gqlErrorBody
			Extensions map[string]any
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || len(out.Errors) > 0 {
			t.Fatalf("%d %+v", resp.StatusCode, out.Errors)
		}
		if got, want := out.Extensions["introspectionCost"], float64(fields(out.Data)); got != want || out.Extensions["cost"] != 0.0 {
			t.Fatalf("introspection counted %v, the answer has %v fields: %v", got, want, out.Extensions)
		}
	}
}

// fields counts the fields of a JSON answer.
func fields(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			n += 1 + fields(x)
		}
	case []any:
		for _, x := range v {
			n += fields(x)
		}
	}
	return n
}

// TestListsWithoutFirstAreBounded: the cost of a query counts a list
// asked for without first as listBound values; a back-reference or drift
// holding more is an error pointing at first, not an answer larger than
// its cost.
func TestListsWithoutFirstAreBounded(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	items := []inventory.Item{{Type: "datacenter", Name: "dc1"}, {Type: "cluster", Name: "c1", Attrs: map[string]any{"datacenter": "dc1"}},
		{Type: "host", Name: "h1", Attrs: map[string]any{"cluster": "c1"}}}
	for i := 0; i <= listBound; i++ {
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%03d", i), Attrs: map[string]any{"host": "h1"}})
	}
	if _, err := s.Upsert(context.Background(), inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	ts := start(t, s)
	r := ts.do(t, "", `{ host(name: "h1") { name vms { name } } }`, nil)
	if r.code() != "INVALID" || r.Errors[0].Extensions["field"] != "first" || !strings.Contains(r.Errors[0].Message, "host h1 has more than 100 vms") {
		t.Fatalf("%+v", r.Errors)
	}
	var out struct {
		Host struct{ Vms []struct{ Name string } }
	}
	ts.query(t, `{ host(name: "h1") { vms(first: 1000) { name } } }`, nil, &out)
	if len(out.Host.Vms) != listBound+1 {
		t.Fatalf("%d VMs", len(out.Host.Vms))
	}
}
