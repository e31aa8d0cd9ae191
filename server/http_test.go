package server

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

func TestLimits(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 3)
	ts := start(t, s, func(o *Options) {
		o.Limits.MaxDepth = 6
		o.Limits.MaxComplexity = 500
		o.Limits.MaxBodyBytes = 4096
		o.Limits.NoIntrospection = true
	})
	cases := []struct {
		name, query string
		status      int
		msg         string
	}{
		{"depth ok", `{ vms(first: 2) { edges { node { host { cluster { name } } } } } }`, 200, ""},
		{"too deep", `{ vms(first: 2) { edges { node { host { cluster { datacenter { name } } } } } } }`, 400, "depth 7 exceeds"},
		{"too deep through a fragment", `{ vms(first: 2) { ...e } } fragment e on VmConnection { edges { node { host { cluster { datacenter { name } } } } } }`, 400, "depth 7"},
		{"complex", `{ vms(first: 100) { edges { node { name host { name } cluster { name } } } } }`, 400, "complexity"},
		{"complex by variable", `query($n: Int) { vms(first: $n) { edges { node { name cpus ip } } } }`, 400, "complexity"},
		{"introspection off", `{ __schema { types { name } } }`, 400, "introspection"},
		{"typename allowed", `{ vms(first: 1) { __typename } }`, 200, ""},
		{"body too large", `{ vms { totalCount } }` + strings.Repeat(" ", 5000), 413, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "", c.query, map[string]any{"n": 200})
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %+v", r.Status, c.status, r.Errors)
			}
			if c.msg != "" && (len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, c.msg)) {
				t.Fatalf("errors %+v, want %q", r.Errors, c.msg)
			}
		})
	}
}

func TestIntrospectionAndGET(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 1)
	ts := start(t, s)
	// GraphiQL's own introspection query is deep; introspection is free.
	r := ts.do(t, "", `{ __schema { queryType { name } types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } } }`, nil)
	if r.Status != 200 || !strings.Contains(string(r.Data), `"DnsRecord"`) {
		t.Fatalf("introspection: %d %+v", r.Status, r.Errors)
	}
	resp, err := http.Get(ts.url + "/graphql?query=" + url.QueryEscape(`{ vm(name: "vm001") { name } }`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"vm001"`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	resp, _ = http.Get(ts.url + "/graphql?query=" + url.QueryEscape(`mutation { createVm(name: "g") { name } }`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("mutation over GET: %d", resp.StatusCode)
	}
}

func TestHealthMetricsGraphiQL(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ts := start(t, s)
		get := func(path string) (int, string) {
			resp, err := http.Get(ts.url + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := get("/healthz"); code != 200 {
			t.Fatalf("healthz %d", code)
		}
		if code, body := get("/readyz"); code != 200 {
			t.Fatalf("readyz %d %s", code, body)
		}
		if code, body := get("/graphiql"); code != 200 || !strings.Contains(body, "graphiql") {
			t.Fatalf("graphiql %d", code)
		}
		if code, _ := get("/ansible/inventory"); code != 404 {
			t.Fatalf("ansible without a handler: %d", code)
		}
		ts.query(t, `{ vms { totalCount } }`, nil, nil)
		ts.Metrics().DriftOpen.WithLabelValues("changed").Set(3)
		ts.Metrics().CollectionDuration.WithLabelValues("vc1").Observe(1.5)
		ts.Metrics().CollectionObjects.WithLabelValues("vc1", "vm").Set(42)

		resp, err := http.Get(ts.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatalf("parse metrics: %v", err)
		}
		for _, name := range []string{"tana_http_requests_total", "tana_http_request_duration_seconds", "tana_collection_duration_seconds", "tana_collection_objects", "tana_drift_open"} {
			if families[name] == nil {
				t.Fatalf("metric %s missing", name)
			}
		}
		found := false
		for _, m := range families["tana_http_requests_total"].Metric {
			for _, l := range m.Label {
				found = found || (l.GetName() == "handler" && l.GetValue() == "graphql")
			}
		}
		if !found {
			t.Fatal("no graphql request counted")
		}

		// Not ready once the store is closed.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if code, _ := get("/readyz"); code != 503 {
			t.Fatalf("readyz on a closed store: %d", code)
		}
	})
}
