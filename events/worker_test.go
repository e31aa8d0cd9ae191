package events_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// newSecret returns a fresh Standard Webhooks secret in env variable name.
func newSecret(t *testing.T, name string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(b)
	t.Setenv(name, secret)
	return secret
}

// quick is a retry policy for tests: a failed delivery is tried again
// within tens of milliseconds.
var quick = events.Retry{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, For: time.Minute}

// startWorker runs a worker until the test ends, and waits for it to stop.
func startWorker(t *testing.T, o events.Options) {
	t.Helper()
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	if o.Retry == (events.Retry{}) {
		o.Retry = quick
	}
	w, err := events.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// makeEveryEvent makes one change of each kind the store has an event
// for, and returns how many events of each type it expects.
func makeEveryEvent(t *testing.T, s *inventory.Store) map[string]int {
	t.Helper()
	ctx := context.Background()
	meta := inventorytest.Meta("alice")
	e, err := s.Create(ctx, meta, "vm", "web01", map[string]any{"cpus": 2, "owner": "team-a"})
	must(t, err)
	_, err = s.Update(ctx, meta, e.ID, inventory.Patch{Attrs: map[string]any{"cpus": 4}})
	must(t, err)
	_, err = s.Delete(ctx, meta, e.ID, 0)
	must(t, err)
	_, err = s.Restore(ctx, meta, e.ID)
	must(t, err)
	must(t, s.InTx(ctx, func(tx *inventory.Tx) error {
		return tx.SyncDrift(ctx, "vsphere:vc1", []inventory.DriftRecord{{Key: "changed/vm/web01/cpus", Kind: "changed", Type: "vm",
			EntryID: &e.ID, EntryName: "web01", Attr: "cpus", Data: `{"old":4,"new":8}`}}, inventory.Resolution{})
	}))
	open, err := s.Drift(ctx, inventory.DriftFilter{Scope: "vsphere:vc1"})
	must(t, err)
	must(t, s.InTx(ctx, func(tx *inventory.Tx) error { return tx.ResolveDrift(ctx, []string{open[0].ID}, "test") }))
	must(t, s.InTx(ctx, func(tx *inventory.Tx) error {
		if err := tx.SavePlan(ctx, &inventory.PlanRecord{ID: "p1", Actor: "alice", Status: inventory.PlanProposed, Data: "{}"}); err != nil {
			return err
		}
		return tx.SetPlanStatus(ctx, "p1", inventory.PlanApplied, "")
	}))
	must(t, s.InTx(ctx, func(tx *inventory.Tx) error {
		if err := tx.SavePlan(ctx, &inventory.PlanRecord{ID: "p2", Actor: "alice", Status: inventory.PlanProposed, Data: "{}"}); err != nil {
			return err
		}
		return tx.SetPlanStatus(ctx, "p2", inventory.PlanFailed, "boom")
	}))
	r, err := s.StartRun(ctx, "collect", "vc1", inventory.RunOptions{})
	must(t, err)
	must(t, r.Finish(ctx, inventory.RunResult{Status: inventory.RunFailed, Errors: []string{"connection refused"}}))
	r, err = s.StartRun(ctx, "collect", "dns1", inventory.RunOptions{})
	must(t, err)
	limit := "safety limit: dns1 returned no objects but last reported 40"
	must(t, r.Finish(ctx, inventory.RunResult{Status: inventory.RunPartial, Errors: []string{limit}, SafetyLimits: []string{limit}}))
	must(t, s.InTx(ctx, func(tx *inventory.Tx) error {
		if err := tx.AddAllocations(ctx, []inventory.Allocation{{ID: "a1", PoolID: 1, Seq: 5, Value: "10.0.0.5", Status: inventory.AllocGranted, Actor: "alice"}}); err != nil {
			return err
		}
		_, err := tx.EndAllocations(ctx, 1, "", []string{"10.0.0.5"}, inventory.AllocReleased, "done")
		return err
	}))
	want := map[string]int{}
	for _, typ := range schema.EventTypes {
		want[events.TypePrefix+typ] = 1
	}
	want[events.TypePrefix+schema.EventPlanCreated] = 2 // p1 and p2
	return want
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Every event type is emitted once per change, delivered once as a
// CloudEvent, and signed so that a Standard Webhooks verifier accepts it.
func TestEveryEventTypeOnceSigned(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		secret := newSecret(t, "TANA_TEST_EVENTS_SECRET")
		want := makeEveryEvent(t, s)
		rc := newReceiver(t, nil)
		startWorker(t, events.Options{Store: s, Source: "https://tana.example.com",
			Subscriptions: []events.Subscription{{Name: "all", URL: rc.URL, SecretEnv: "TANA_TEST_EVENTS_SECRET"}}})
		waitFor(t, "every event", 20*time.Second, func() bool { return len(rc.accepted()) >= total(want) })
		time.Sleep(100 * time.Millisecond) // nothing more comes
		got := map[string]int{}
		ids := map[string]bool{}
		for _, r := range rc.all() {
			got[r.Event.Type]++
			if err := verifyStandardWebhook(secret, r.Header, r.Body, time.Now(), events.ReplayWindow); err != nil {
				t.Errorf("%s: signature: %v", r.Event.Type, err)
			}
			if err := verifyStandardWebhook(secret, r.Header, append(r.Body, ' '), time.Now(), events.ReplayWindow); err == nil {
				t.Errorf("%s: a changed body verifies", r.Event.Type)
			}
			ev := r.Event
			if ev.SpecVersion != "1.0" || ev.ID == "" || ev.Source != "https://tana.example.com" || ev.Subject == "" || ev.Time.IsZero() {
				t.Errorf("not a complete CloudEvent: %s", r.Body)
			}
			if ev.ID != r.Header.Get("webhook-id") || ids[ev.ID] {
				t.Errorf("event id %q: webhook-id %q, seen before %v", ev.ID, r.Header.Get("webhook-id"), ids[ev.ID])
			}
			ids[ev.ID] = true
			if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
				t.Errorf("content type %q", ct)
			}
			if ev.Type == "dev.tana.entry.updated" {
				var d struct {
					Name    string `json:"name"`
					Actor   string `json:"actor"`
					Source  string `json:"source"`
					Changes map[string]struct{ Old, New any }
				}
				must(t, json.Unmarshal(ev.Data, &d))
				if d.Name != "web01" || d.Actor != "alice" || d.Source != "test" || d.Changes["cpus"].Old != 2.0 || d.Changes["cpus"].New != 4.0 {
					t.Errorf("entry.updated data: %s", ev.Data)
				}
			}
			if ev.Type == "dev.tana.drift.detected" {
				var d struct {
					Kind, Scope, Attr string
					Item              struct{ Old, New any }
				}
				must(t, json.Unmarshal(ev.Data, &d))
				if d.Kind != "changed" || d.Scope != "vsphere:vc1" || d.Attr != "cpus" || d.Item.Old != 4.0 || d.Item.New != 8.0 {
					t.Errorf("drift.detected data: %s", ev.Data)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events by type:\n got %v\nwant %v", got, want)
		}
		log, err := s.Deliveries(context.Background(), inventory.DeliveryFilter{})
		must(t, err)
		for _, d := range log {
			if d.Status != inventory.DeliveryDelivered || d.Attempts != 1 || d.ResponseCode != http.StatusNoContent {
				t.Errorf("delivery %d: %s after %d attempts, code %d", d.ID, d.Status, d.Attempts, d.ResponseCode)
			}
		}
	})
}

// A receiver that fails three times gets the event exactly once more, and
// the subject's later events only after it, in order.
func TestRetryKeepsOrder(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		meta := inventorytest.Meta("bob")
		e, err := s.Create(ctx, meta, "vm", "db01", map[string]any{"cpus": 1})
		must(t, err)
		for cpus := 2; cpus <= 3; cpus++ {
			_, err = s.Update(ctx, meta, e.ID, inventory.Patch{Attrs: map[string]any{"cpus": cpus}})
			must(t, err)
		}
		rc := newReceiver(t, func(r received, n int) bool { return r.Event.Type == "dev.tana.entry.created" && n <= 3 })
		startWorker(t, events.Options{Store: s, Subscriptions: []events.Subscription{{Name: "flaky", URL: rc.URL}}})
		waitFor(t, "three events accepted", 20*time.Second, func() bool { return len(rc.accepted()) >= 3 })
		time.Sleep(100 * time.Millisecond)
		var order []string
		for _, r := range rc.all() {
			order = append(order, fmt.Sprintf("%s/%d", r.Event.Type, r.Status))
		}
		want := "[dev.tana.entry.created/500 dev.tana.entry.created/500 dev.tana.entry.created/500 dev.tana.entry.created/204 dev.tana.entry.updated/204 dev.tana.entry.updated/204]"
		if fmt.Sprint(order) != want {
			t.Errorf("requests:\n got %v\nwant %s", order, want)
		}
		acc := rc.accepted()
		var cpus []string
		for _, r := range acc[1:] {
			var d struct{ Changes map[string]struct{ New any } }
			must(t, json.Unmarshal(r.Event.Data, &d))
			cpus = append(cpus, fmt.Sprint(d.Changes["cpus"].New))
		}
		if fmt.Sprint(cpus) != "[2 3]" {
			t.Errorf("updates out of order: cpus %v", cpus)
		}
		log, err := s.Deliveries(ctx, inventory.DeliveryFilter{Type: schema.EventEntryCreated})
		must(t, err)
		if len(log) != 1 || log[0].Attempts != 4 || log[0].Status != inventory.DeliveryDelivered || log[0].LastError != "" {
			t.Errorf("delivery log of the created event: %+v", log)
		}
	})
}
