package inventory_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// routeAll routes every event in the outbox to subscription sub.
func routeAll(t *testing.T, s *inventory.Store, sub string) {
	t.Helper()
	for {
		n, err := s.RouteEvents(ctx, 5000, func(evs []inventory.Event) []inventory.Route {
			out := make([]inventory.Route, len(evs))
			for i, e := range evs {
				out[i] = inventory.Route{EventID: e.ID, Subscription: sub, Subject: e.Subject}
			}
			return out
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestClaimTakesSubjectsInOrder: with three events per subject waiting,
// a claim takes the first of each subject only, the next once it is
// delivered, the one after it once the one before it failed for good,
// and a redelivered old one waits for the subject's pending one.
func TestClaimTakesSubjectsInOrder(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		const n = 50
		items := make([]inventory.Item, n)
		for round := 0; round < 3; round++ {
			for i := range items {
				items[i] = inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%02d", i), Attrs: map[string]any{"cpus": round + 1}}
			}
			if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		routeAll(t, s, "sub")
		var seen []int64
		claim := func(wantType string) []inventory.Delivery {
			t.Helper()
			ds, err := s.ClaimDeliveries(ctx, "sub", "me", time.Minute, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != n {
				t.Fatalf("claimed %d deliveries, want one per subject (%d)", len(ds), n)
			}
			subjects := map[string]bool{}
			for _, d := range ds {
				if subjects[d.Subject] {
					t.Fatalf("two deliveries of %s claimed at once", d.Subject)
				}
				subjects[d.Subject] = true
				if d.Event.Type != wantType {
					t.Fatalf("delivery %d of %s is %s, want %s (out of order)", d.ID, d.Subject, d.Event.Type, wantType)
				}
				seen = append(seen, d.ID)
			}
			if more, err := s.ClaimDeliveries(ctx, "sub", "other", time.Minute, 1000); err != nil || len(more) != 0 {
				t.Fatalf("a second claimer got %d deliveries (err %v), want none while each subject's head is out", len(more), err)
			}
			return ds
		}
		finish := func(ds []inventory.Delivery, status string) {
			t.Helper()
			as := make([]inventory.Attempt, len(ds))
			for i, d := range ds {
				as[i] = inventory.Attempt{ID: d.ID, Status: status, Code: 204}
				if status == inventory.DeliveryFailed {
					as[i].Code, as[i].Error = 500, "gave up"
				}
			}
			if err := s.FinishDeliveries(ctx, "me", as); err != nil {
				t.Fatal(err)
			}
		}
		first := claim(schema.EventEntryCreated)
		finish(first, inventory.DeliveryDelivered)
		second := claim(schema.EventEntryUpdated)
		// The second is tried again later: its subject waits for it.
		as := make([]inventory.Attempt, len(second))
		for i, d := range second {
			as[i] = inventory.Attempt{ID: d.ID, Status: inventory.DeliveryPending, Code: 500, Error: "busy", NextAt: time.Now().Add(-time.Second)}
		}
		if err := s.FinishDeliveries(ctx, "me", as); err != nil {
			t.Fatal(err)
		}
		second = claim(schema.EventEntryUpdated)
		finish(second, inventory.DeliveryFailed)
		third := claim(schema.EventEntryUpdated)
		// Redelivered while the third is out: it waits for the third.
		if _, err := s.Redeliver(ctx, first[0].ID, inventory.By{Actor: "admin"}); err != nil {
			t.Fatal(err)
		}
		finish(third, inventory.DeliveryDelivered)
		ds, err := s.ClaimDeliveries(ctx, "sub", "me", time.Minute, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].ID != first[0].ID {
			t.Fatalf("after the redelivery claimed %v, want only delivery %d", ds, first[0].ID)
		}
		if len(seen) != 4*n {
			t.Fatalf("saw %d claims", len(seen))
		}
	})
}

// TestClaimReadsItsLimit: the claim's query reads about as many rows as
// it claims, however many deliveries wait. Before the heads (migration
// 0018) it tested every pending delivery for an earlier one of its
// subject: on PostgreSQL without statistics a nested loop over the
// backlog squared (20 s a claim at 10,000), on SQLite a sort of it.
func TestClaimReadsItsLimit(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		const n, limit = 2000, 100
		items := make([]inventory.Item, n)
		for round := 0; round < 2; round++ {
			for i := range items {
				items[i] = inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%05d", i), Attrs: map[string]any{"cpus": round + 1}}
			}
			if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		routeAll(t, s, "sub")
		plan, err := inventory.ExplainClaim(ctx, s, "sub", limit)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(strings.TrimSpace(plan), "[") { // SQLite: the plan's steps
			if !strings.Contains(plan, "event_deliveries_due") || strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("the claim does not read event_deliveries_due in order:\n%s", plan)
			}
			return
		}
		var root []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(plan), &root); err != nil {
			t.Fatalf("read the plan: %v\n%s", err, plan)
		}
		// Each of the plan's few nodes passes the limit's rows on.
		if read := root[0].Plan.rowsRead(); read > 5*limit {
			t.Fatalf("the claim of %d read %d rows of a backlog of %d:\n%s", limit, read, 2*n, plan)
		}
	})
}

// TestPruneEvents: events older than the cut whose deliveries are over go
// with their log; a newer one, an unrouted one and one still pending
// stay.
func TestPruneEvents(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			clock := inventorytest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			upsert := func(names ...string) {
				t.Helper()
				var items []inventory.Item
				for _, n := range names {
					items = append(items, inventory.Item{Type: "vm", Name: n, Attrs: map[string]any{"cpus": 1}})
				}
				if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			upsert("old1", "old2", "oldpending")
			routeAll(t, s, "sub")
			ds, err := s.ClaimDeliveries(ctx, "sub", "me", time.Minute, 10)
			if err != nil || len(ds) != 3 {
				t.Fatalf("claimed %d (err %v), want 3", len(ds), err)
			}
			var as []inventory.Attempt
			for _, d := range ds {
				st := inventory.DeliveryDelivered
				if d.Subject == "vm/oldpending" {
					st = inventory.DeliveryPending
				} else if d.Subject == "vm/old2" {
					st = inventory.DeliveryFailed
				}
				as = append(as, inventory.Attempt{ID: d.ID, Status: st, Code: 204, NextAt: clock.Now().Add(time.Hour)})
			}
			if err := s.FinishDeliveries(ctx, "me", as); err != nil {
				t.Fatal(err)
			}
			clock.Advance(48 * time.Hour)
			upsert("new")
			routeAll(t, s, "sub")
			clock.Advance(time.Hour)
			upsert("unrouted")
			n, err := s.PruneEvents(ctx, clock.Now().Add(-24*time.Hour))
			if err != nil || n != 2 {
				t.Fatalf("pruned %d events (err %v), want old1 and old2", n, err)
			}
			left, err := s.Deliveries(ctx, inventory.DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var subjects []string
			for _, d := range left {
				subjects = append(subjects, d.Subject)
			}
			if fmt.Sprint(subjects) != "[vm/new vm/oldpending]" {
				t.Fatalf("deliveries left %v, want vm/new and vm/oldpending", subjects)
			}
			// vm/new delivered, a cut after everything: only the pending
			// and the unrouted stay.
			ds, err = s.ClaimDeliveries(ctx, "sub", "me", time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			as = as[:0]
			for _, d := range ds {
				if d.Subject == "vm/new" {
					as = append(as, inventory.Attempt{ID: d.ID, Status: inventory.DeliveryDelivered, Code: 204})
				} else {
					as = append(as, inventory.Attempt{ID: d.ID, Unsent: true})
				}
			}
			if err := s.FinishDeliveries(ctx, "me", as); err != nil {
				t.Fatal(err)
			}
			if n, err := s.PruneEvents(ctx, clock.Now().Add(time.Hour)); err != nil || n != 1 {
				t.Fatalf("pruned %d events (err %v), want vm/new's", n, err)
			}
			if unrouted, _, err := s.EventCounts(ctx); err != nil || unrouted != 1 {
				t.Fatalf("%d unrouted events left (err %v), want 1", unrouted, err)
			}
		})
	}
}

// TestHeadsMigration: deliveries waiting when 0018 is applied get their
// heads, one per subject, the first routed; rolled back and applied again
// they still go one per subject, in order.
func TestHeadsMigration(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		for round := 0; round < 2; round++ {
			items := []inventory.Item{
				{Type: "vm", Name: "a", Attrs: map[string]any{"cpus": round + 1}},
				{Type: "vm", Name: "b", Attrs: map[string]any{"cpus": round + 1}},
			}
			if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		routeAll(t, s, "sub")
		if err := migrations.DownTo(ctx, s.DB().DB, s.Dialect(), 17); err != nil {
			t.Fatal(err)
		}
		if _, err := migrations.Up(ctx, s.DB().DB, s.Dialect()); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{schema.EventEntryCreated, schema.EventEntryUpdated} {
			ds, err := s.ClaimDeliveries(ctx, "sub", "me", time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 2 || ds[0].Event.Type != want || ds[1].Event.Type != want || ds[0].Subject == ds[1].Subject {
				t.Fatalf("claimed %+v, want a's and b's %s", ds, want)
			}
			if err := s.FinishDeliveries(ctx, "me", []inventory.Attempt{
				{ID: ds[0].ID, Status: inventory.DeliveryDelivered, Code: 200}, {ID: ds[1].ID, Status: inventory.DeliveryDelivered, Code: 200}}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
