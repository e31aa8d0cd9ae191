package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// Two replicas deliver while a writer keeps changing the same subjects:
// routing (new deliveries behind a subject's head) races finishing (the
// head moving on). Every event arrives once, in order per subject, and
// no subject is left waiting behind a head that is gone.
func TestTwoReplicasWhileWriting(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, _ string, a, b *inventory.Store) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		subs := []events.Subscription{{Name: "one", URL: rc.URL, Concurrency: 4}}
		startWorker(t, events.Options{Store: a, Subscriptions: subs, Poll: 5 * time.Millisecond})
		startWorker(t, events.Options{Store: b, Subscriptions: subs, Poll: 5 * time.Millisecond})
		const subjects, rounds = 20, 30
		items := make([]inventory.Item, subjects)
		for round := 1; round <= rounds; round++ {
			for i := range items {
				items[i] = inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%02d", i), Attrs: map[string]any{"cpus": round}}
			}
			s := a
			if round%2 == 0 {
				s = b
			}
			_, err := s.Upsert(ctx, inventorytest.Meta("w"), items, inventory.UpsertOptions{})
			must(t, err)
			time.Sleep(3 * time.Millisecond) // let deliveries finish between writes
		}
		want := subjects * rounds
		waitFor(t, fmt.Sprintf("%d events", want), 60*time.Second, func() bool { return len(rc.accepted()) >= want })
		time.Sleep(100 * time.Millisecond)
		seen := onceInOrder(t, rc.all())
		if len(seen) != want {
			t.Errorf("%d events delivered, want %d", len(seen), want)
		}
	})
}
