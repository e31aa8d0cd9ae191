package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestEventsOverGraphQL: the delivery log, redelivery and subscriptions
// made through the API are for admins; a bad subscription is refused
// naming its field; tana.yaml's are listed and cannot be replaced here.
func TestEventsOverGraphQL(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		by := inventory.By{Actor: "test"}
		admin, _, err := s.CreateTokenFor(ctx, by, inventory.TokenSpec{Name: "root", Role: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		writer, _, err := s.CreateTokenFor(ctx, by, inventory.TokenSpec{Name: "w", Role: "writer"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, inventorytest.Meta("alice"), "vm", "web01", map[string]any{"cpus": 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RouteEvents(ctx, 100, func(evs []inventory.Event) []inventory.Route {
			var out []inventory.Route
			for _, e := range evs {
				out = append(out, inventory.Route{EventID: e.ID, Subscription: "hook", Subject: e.Subject})
			}
			return out
		}); err != nil {
			t.Fatal(err)
		}
		ts := start(t, s, func(o *Options) {
			o.EventSubscriptions = []events.Subscription{{Name: "ops", URL: "https://st2.example.com/api/v1/webhooks/tana", Types: []string{"drift.*"}}}
		})
		log := `{ eventDeliveries(first: 10) { id subscription subject status attempts event { type subject actor data } } }`
		if r := ts.do(t, writer, log, nil); r.code() != "FORBIDDEN" {
			t.Errorf("a writer reads the delivery log: %s %+v", r.Data, r.Errors)
		}
		r := ts.do(t, admin, log, nil)
		var got struct {
			EventDeliveries []struct {
				ID, Subscription, Subject, Status string
				Event                             struct {
					Type, Subject, Actor string
					Data                 any
				}
			}
		}
		if len(r.Errors) > 0 || json.Unmarshal(r.Data, &got) != nil || len(got.EventDeliveries) != 1 {
			t.Fatalf("delivery log: %s %+v", r.Data, r.Errors)
		}
		d := got.EventDeliveries[0]
		if d.Subscription != "hook" || d.Status != "pending" || d.Event.Type != "entry.created" || d.Event.Subject != "vm/web01" || d.Event.Actor != "alice" || d.Event.Data == nil {
			t.Errorf("delivery: %+v", d)
		}
		if r := ts.do(t, admin, `mutation($id: ID!) { redeliver(id: $id) { status } }`, map[string]any{"id": d.ID}); len(r.Errors) > 0 || !strings.Contains(string(r.Data), "pending") {
			t.Errorf("redeliver: %s %+v", r.Data, r.Errors)
		}
		save := `mutation($s: JSON!) { saveEventSubscription(subscription: $s) { name url origin createdBy } }`
		for _, c := range []struct {
			spec  map[string]any
			code  string
			field string
		}{
			{map[string]any{"name": "chat", "url": "ftp://x"}, "INVALID", "subscription.url"},
			{map[string]any{"name": "chat", "url": "https://chat.example.com/hook", "types": []any{"drift.exploded"}}, "INVALID", "subscription.types[0]"},
			{map[string]any{"name": "chat", "url": "https://chat.example.com/hook", "colour": "red"}, "INVALID", "subscription"},
			{map[string]any{"name": "ops", "url": "https://chat.example.com/hook"}, "CONFLICT", "subscription.name"},
			{map[string]any{"name": "chat", "url": "https://chat.example.com/hook", "preset": "slack", "types": []any{"drift.detected"}}, "", ""},
		} {
			r := ts.do(t, admin, save, map[string]any{"s": c.spec})
			field := ""
			if len(r.Errors) > 0 {
				field, _ = r.Errors[0].Extensions["field"].(string)
			}
			if r.code() != c.code || field != c.field {
				t.Errorf("save %v: %s %q %+v, want %q %q", c.spec, r.code(), field, r.Errors, c.code, c.field)
			}
		}
		r = ts.do(t, admin, `{ eventSubscriptions { name origin preset createdBy } }`, nil)
		if want := `{"eventSubscriptions":[{"createdBy":null,"name":"ops","origin":"tana.yaml","preset":null},{"createdBy":"root","name":"chat","origin":"api","preset":"slack"}]}`; string(r.Data) != want {
			t.Errorf("subscriptions: %s, want %s", r.Data, want)
		}
		r = ts.do(t, admin, `{ eventSubscriptions { url } }`, nil)
		if want := `{"eventSubscriptions":[{"url":"https://st2.example.com/…"},{"url":"https://chat.example.com/…"}]}`; string(r.Data) != want {
			t.Errorf("subscription URLs (their paths are secrets): %s, want %s", r.Data, want)
		}
		if r := ts.do(t, admin, `mutation { deleteEventSubscription(name: "chat") }`, nil); len(r.Errors) > 0 {
			t.Errorf("delete: %+v", r.Errors)
		}
		if r := ts.do(t, admin, `mutation { deleteEventSubscription(name: "ops") }`, nil); r.code() != "NOT_FOUND" {
			t.Errorf("delete tana.yaml's: %s %+v", r.Data, r.Errors)
		}
	})
}
