package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// holdWrite keeps a write transaction open on s until the test ends: on
// SQLite, nobody else writes meanwhile.
func holdWrite(t *testing.T, s *inventory.Store) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- s.InTx(context.Background(), func(*inventory.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	t.Cleanup(func() {
		close(done)
		if err := <-finished; err != nil {
			t.Errorf("holding transaction: %v", err)
		}
	})
}

// TestBusyWriteAnswers503 sends a mutation while another write holds the
// SQLite database longer than the request may wait, from this process
// (the store's writer queue) and from another (SQLite's busy timeout):
// the answer comes at the request's time limit, 503 with Retry-After and
// the code BUSY, and nothing is written.
func TestBusyWriteAnswers503(t *testing.T) {
	cases := []struct {
		name   string
		holder func(t *testing.T, dsn string, served *inventory.Store) *inventory.Store
	}{
		{"same process", func(_ *testing.T, _ string, served *inventory.Store) *inventory.Store { return served }},
		{"other process", func(t *testing.T, dsn string, served *inventory.Store) *inventory.Store {
			return inventorytest.OpenWith(t, dsn, served.Registry())
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn := inventorytest.DSN(t, "sqlite")
			reg, _ := schema.NewRegistry(schema.Builtin()...)
			s := inventorytest.OpenWith(t, dsn, reg)
			seed(t, s, 1)
			ts := start(t, s, func(o *Options) { o.Limits = config.Server{RequestTimeout: config.Duration(500 * time.Millisecond)} })
			holdWrite(t, c.holder(t, dsn, s))

			body, _ := json.Marshal(map[string]any{"query": `mutation { createDatacenter(name: "dc9") { name } }`})
			began := time.Now()
			resp, err := http.Post(ts.url+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			waited := time.Since(began)
			var out gqlResponse
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || out.code() != "BUSY" {
				t.Fatalf("status %d, Retry-After %q, errors %+v; want 503, a Retry-After and BUSY", resp.StatusCode, resp.Header.Get("Retry-After"), out.Errors)
			}
			if waited > 3*time.Second {
				t.Errorf("answered after %v, want about the request's limit of 500ms", waited)
			}
			if _, err := s.GetByName(context.Background(), "datacenter", "dc9"); schema.ErrorCode(err) != schema.ENOTFOUND {
				t.Errorf("the refused mutation wrote dc9: %v", err)
			}
		})
	}
}
