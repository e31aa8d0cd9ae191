package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// testServer is a server on a random loopback port.
type testServer struct {
	*Server
	url  string
	stop func()
}

// Close stops the server now (it also stops when the test ends).
func (ts *testServer) Close(t testing.TB) { ts.stop() }

// start runs a server for store until the test ends.
func start(t testing.TB, store *inventory.Store, mod ...func(*Options)) *testServer {
	t.Helper()
	opts := Options{Store: store, Limits: config.Server{}}
	for _, m := range mod {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{Server: s, url: "http://" + ln.Addr().String(), stop: stop}
}

// gqlResponse is a GraphQL response with errors decoded.
type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlErrorBody  `json:"errors"`
}

type gqlErrorBody struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// do posts a query with an optional bearer token.
func (ts *testServer) do(t testing.TB, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &gqlResponse{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return out
}

// query runs a query that must succeed and decodes its data into v.
func (ts *testServer) query(t testing.TB, query string, vars map[string]any, v any) {
	t.Helper()
	r := ts.do(t, "", query, vars)
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("query failed (%d): %+v\n%s", r.Status, r.Errors, query)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// seed loads a small estate: 2 clusters, 4 hosts, n VMs spread over them.
func seed(t testing.TB, s *inventory.Store, n int) {
	t.Helper()
	items := []inventory.Item{{Type: "datacenter", Name: "dc1"}}
	for c := 1; c <= 2; c++ {
		items = append(items, inventory.Item{Type: "cluster", Name: fmt.Sprintf("c%d", c), Attrs: map[string]any{"datacenter": "dc1"}})
	}
	for h := 1; h <= 4; h++ {
		items = append(items, inventory.Item{Type: "host", Name: fmt.Sprintf("h%d", h),
			Attrs: map[string]any{"cluster": fmt.Sprintf("c%d", (h-1)/2+1), "version": "8.0"}})
	}
	for i := 1; i <= n; i++ {
		h := (i-1)%4 + 1
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%03d", i), Attrs: map[string]any{
			"host": fmt.Sprintf("h%d", h), "cluster": fmt.Sprintf("c%d", (h-1)/2+1),
			"cpus": int64(i%8 + 1), "power_state": []string{"poweredOn", "poweredOff"}[i%2],
			"ip": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "tags": []any{"t" + fmt.Sprint(i%3)},
		}})
	}
	if _, err := s.Upsert(context.Background(), inventorytest.Meta("seed"), items, inventory.UpsertOptions{}); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func TestSmoke(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 5)
		ts := start(t, s)
		var out struct {
			Vm struct {
				Name string
				Cpus int
				Host struct{ Name string }
			}
		}
		ts.query(t, `{ vm(name: "vm001") { name cpus host { name } } }`, nil, &out)
		if out.Vm.Name != "vm001" || out.Vm.Host.Name != "h1" || out.Vm.Cpus != 2 {
			t.Fatalf("got %+v", out)
		}
	})
}
