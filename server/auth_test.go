package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

func serviceType() *schema.EntityType {
	return &schema.EntityType{Name: "service", Attributes: []*schema.Attribute{
		{Name: "api_key", TypeName: "string", Secret: true},
		{Name: "port", TypeName: "integer"},
		{Name: "runs_on", TypeName: "ref:vm"},
	}}
}

func TestAuth(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		seed(t, s, 1)
		if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "db", map[string]any{"api_key": "hunter2", "port": 5432, "runs_on": "vm001"}); err != nil {
			t.Fatal(err)
		}
		ts := start(t, s)
		read := `{ service(name: "db") { port apiKey attrs runsOn { name services { name } } } }`

		// No tokens, loopback: open, but secrets stay hidden.
		r := ts.do(t, "", read, nil)
		if r.Status != 200 || len(r.Errors) > 0 || strings.Contains(string(r.Data), "hunter2") {
			t.Fatalf("open read: %d %s %+v", r.Status, r.Data, r.Errors)
		}

		reader, _, err := s.CreateToken(ctx, "ro", inventory.RoleReader)
		if err != nil {
			t.Fatal(err)
		}
		writer, _, _ := s.CreateToken(ctx, "rw", inventory.RoleWriter)
		admin, _, _ := s.CreateToken(ctx, "root", inventory.RoleAdmin)
		if _, _, err := s.CreateToken(ctx, "ro", inventory.RoleReader); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("duplicate token name: %v", err)
		}

		write := `mutation { createVm(name: "x1") { name } }`
		cases := []struct {
			name, token, query string
			status             int
			code               string
		}{
			{"no token", "", read, 401, "UNAUTHORIZED"},
			{"bad token", "tana_nope", read, 401, "UNAUTHORIZED"},
			{"reader reads", reader, read, 200, ""},
			{"reader writes", reader, write, 403, "FORBIDDEN"},
			{"writer writes", writer, write, 200, ""},
			{"admin reads", admin, read, 200, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(t, c.token, c.query, nil)
				if r.Status != c.status || r.code() != c.code {
					t.Fatalf("got %d %q (%+v), want %d %q", r.Status, r.code(), r.Errors, c.status, c.code)
				}
				secret := strings.Contains(string(r.Data), "hunter2")
				if secret != (c.token == admin) {
					t.Fatalf("secret visible: %v for %s: %s", secret, c.name, r.Data)
				}
			})
		}
		// What a write returns hides secrets as reads do: a writer rotating
		// a key sees neither the old nor the new one in its changes, nor
		// the key of an entry it creates.
		rotate := `mutation { upsertEntries(items: [{type: "service", name: "%s", attrs: {api_key: "%s"}}]) { op changes } }`
		for _, c := range []struct{ token, name, key string }{{writer, "db", "swordfish"}, {writer, "cache", "sesame"}, {admin, "db", "hunter2"}} {
			r := ts.do(t, c.token, fmt.Sprintf(rotate, c.name, c.key), nil)
			leaked := strings.Contains(string(r.Data), "hunter2") || strings.Contains(string(r.Data), "swordfish") || strings.Contains(string(r.Data), "sesame")
			if r.Status != 200 || len(r.Errors) > 0 || leaked != (c.token == admin) {
				t.Fatalf("rotate key: %d %s %+v", r.Status, r.Data, r.Errors)
			}
		}
		for _, path := range []string{"/metrics", "/ansible/inventory"} {
			resp, err := http.Get(ts.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("%s without token: %d", path, resp.StatusCode)
			}
		}
		if err := s.RevokeToken(ctx, "ro"); err != nil {
			t.Fatal(err)
		}
		if r := ts.do(t, reader, read, nil); r.Status != 401 {
			t.Fatalf("revoked token: %d", r.Status)
		}
	}, serviceType())
}

func TestRefusesOpenNonLoopback(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	srv, err := New(Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8080}
	if err := srv.checkOpen(context.Background(), addr); err == nil {
		t.Fatal("served a non-loopback address with no tokens")
	}
	if _, _, err := s.CreateToken(context.Background(), "a", inventory.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := srv.checkOpen(context.Background(), addr); err != nil {
		t.Fatalf("with a token: %v", err)
	}
	if err := srv.checkOpen(context.Background(), &net.TCPAddr{IP: net.IPv6loopback}); err != nil {
		t.Fatalf("loopback: %v", err)
	}
	// Exposed, with the last token revoked: closed, not open.
	if err := s.RevokeToken(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ types { name } }"}`))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("exposed server without tokens answered %d", rec.Code)
	}
}
