package events_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
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

// Two replicas on one database deliver each event exactly once, in order
// per subject.
func TestTwoReplicasDeliverOnce(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, _ string, a, b *inventory.Store) {
		ctx := context.Background()
		var items []inventory.Item
		for i := range 200 {
			items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%03d", i), Attrs: map[string]any{"cpus": 1}})
		}
		_, err := a.Upsert(ctx, inventorytest.Meta("bulk"), items, inventory.UpsertOptions{})
		must(t, err)
		for cpus := 2; cpus <= 4; cpus++ {
			for i := range items {
				items[i].Attrs = map[string]any{"cpus": cpus}
			}
			_, err = b.Upsert(ctx, inventorytest.Meta("bulk"), items, inventory.UpsertOptions{})
			must(t, err)
		}
		rc := newReceiver(t, nil)
		subs := []events.Subscription{{Name: "one", URL: rc.URL, Concurrency: 4}}
		startWorker(t, events.Options{Store: a, Subscriptions: subs})
		startWorker(t, events.Options{Store: b, Subscriptions: subs})
		waitFor(t, "800 events", 60*time.Second, func() bool { return len(rc.accepted()) >= 800 })
		time.Sleep(200 * time.Millisecond)
		seen := onceInOrder(t, rc.all())
		if len(seen) != 800 {
			t.Errorf("%d events delivered, want 800", len(seen))
		}
	})
}

// A dead receiver delays its own deliveries only: writes go on, and
// another subscription gets its events at once.
func TestDeadReceiverBlocksNothing(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		hang := make(chan struct{})
		dead := newReceiver(t, nil)
		dead.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		})
		defer close(hang)
		live := newReceiver(t, nil)
		startWorker(t, events.Options{Store: s, Subscriptions: []events.Subscription{
			{Name: "dead", URL: dead.URL, Timeout: 5 * time.Second},
			{Name: "live", URL: live.URL},
		}})
		start := time.Now()
		for i := range 20 {
			_, err := s.Create(ctx, inventorytest.Meta("carol"), "vm", fmt.Sprintf("app%02d", i), nil)
			must(t, err)
		}
		waitFor(t, "the live receiver", 3*time.Second, func() bool { return len(live.accepted()) >= 20 })
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("writes and the live receiver took %v", d)
		}
	})
}

// A delivery whose retries ran out is failed; redelivered by hand, it goes
// again, exactly once.
func TestGiveUpAndRedeliver(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		down := true
		var mu sync.Mutex
		rc := newReceiver(t, func(received, int) bool { mu.Lock(); defer mu.Unlock(); return down })
		_, err := s.Create(ctx, inventorytest.Meta("dave"), "vm", "lonely", nil)
		must(t, err)
		startWorker(t, events.Options{Store: s, Retry: events.Retry{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, For: 150 * time.Millisecond},
			Subscriptions: []events.Subscription{{Name: "down", URL: rc.URL}}})
		var failed []inventory.Delivery
		waitFor(t, "the delivery to fail", 10*time.Second, func() bool {
			failed, err = s.Deliveries(ctx, inventory.DeliveryFilter{Status: inventory.DeliveryFailed})
			must(t, err)
			return len(failed) == 1
		})
		if d := failed[0]; d.Attempts < 2 || d.ResponseCode != 500 || d.LastError == "" {
			t.Errorf("failed delivery: %+v", d)
		}
		mu.Lock()
		down = false
		mu.Unlock()
		_, err = s.Redeliver(ctx, failed[0].ID, inventory.By{Actor: "admin"})
		must(t, err)
		waitFor(t, "the redelivery", 10*time.Second, func() bool { return len(rc.accepted()) == 1 })
		d, err := s.Delivery(ctx, failed[0].ID)
		must(t, err)
		if d.Status != inventory.DeliveryDelivered || d.ResponseCode != 204 {
			t.Errorf("redelivered: %+v", d)
		}
		if _, err := s.Redeliver(ctx, 999999, inventory.By{Actor: "admin"}); schema.ErrorCode(err) != schema.ENOTFOUND || schema.ErrorField(err) != "id" {
			t.Errorf("redeliver of a missing delivery: %v", err)
		}
	})
}

// onceInOrder checks that each event came once and that each subject's
// cpus only grew (its events in order); it returns the event ids seen.
func onceInOrder(t *testing.T, got []received) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]float64{}
	for _, r := range got {
		if seen[r.Event.ID] {
			t.Errorf("event %s delivered twice", r.Event.ID)
		}
		seen[r.Event.ID] = true
		var d struct {
			Attrs   map[string]any
			Changes map[string]struct{ New any }
		}
		must(t, json.Unmarshal(r.Event.Data, &d))
		cpus, _ := d.Changes["cpus"].New.(float64)
		if d.Attrs != nil {
			cpus, _ = d.Attrs["cpus"].(float64)
		}
		if cpus <= last[r.Event.Subject] {
			t.Errorf("%s: cpus %v after %v", r.Event.Subject, cpus, last[r.Event.Subject])
		}
		last[r.Event.Subject] = cpus
	}
	return seen
}
