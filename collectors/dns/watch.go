package dns

import (
	"context"
	"maps"
	"net"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/tana-cmdb/tana/collectors"
)

// Watcher streams the changes of a Collector's zones: a NOTIFY on Notify
// (when set) re-collects that zone at once, and every Poll (when set) all
// zones are checked, which costs one SOA query per unchanged zone.
type Watcher struct {
	Collector *Collector
	Notify    net.PacketConn
	Poll      time.Duration
}

var _ collectors.Watcher = (*Watcher)(nil)

// Watch calls full with each zone's first complete snapshot, and again
// after a failed collection; in between, change with what moved. It
// returns when ctx ends (nil) or a callback fails (its error).
func (w *Watcher) Watch(ctx context.Context, full func(*collectors.Snapshot) error, change func(collectors.Change) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	notified := &zoneSet{wake: make(chan struct{}, 1)}
	if w.Notify != nil {
		wg.Go(func() {
			err := w.Collector.ServeNotify(ctx, w.Notify, notified.add)
			if err != nil {
				w.Collector.log.Error("dns NOTIFY listener stopped", "err", err)
			}
		})
	}
	var tick <-chan time.Time
	if w.Poll > 0 {
		t := time.NewTicker(w.Poll)
		defer t.Stop()
		tick = t.C
	}

	s := &watchState{last: map[string]map[string]collectors.Object{}, full: full, change: change}
	snaps, _ := w.Collector.Collect(ctx)
	for {
		for _, snap := range snaps {
			if err := s.emit(snap); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-notified.wake:
			snaps = nil
			for _, z := range notified.take() {
				snap, _ := w.Collector.CollectZone(ctx, z)
				snaps = append(snaps, snap)
			}
		case <-tick:
			snaps, _ = w.Collector.Collect(ctx)
		}
	}
}

// watchState remembers the last complete objects of each scope.
type watchState struct {
	last   map[string]map[string]collectors.Object // scope → ID → object
	full   func(*collectors.Snapshot) error
	change func(collectors.Change) error
}

func (s *watchState) emit(snap *collectors.Snapshot) error {
	if snap == nil || !snap.Complete {
		// Start that scope from scratch once it can be read again.
		if snap != nil {
			delete(s.last, snap.Scope)
		}
		return nil
	}
	cur := make(map[string]collectors.Object, len(snap.Objects))
	for _, o := range snap.Objects {
		cur[o.ID] = o
	}
	prev, seen := s.last[snap.Scope]
	s.last[snap.Scope] = cur
	if !seen {
		return s.full(snap)
	}
	ch := diffObjects(snap.Scope, snap.Types, prev, cur)
	if len(ch.Upserts) == 0 && len(ch.Deletes) == 0 {
		return nil
	}
	return s.change(ch)
}

// diffObjects lists objects new or changed in cur and those gone from prev.
func diffObjects(scope string, types []string, prev, cur map[string]collectors.Object) collectors.Change {
	ch := collectors.Change{Scope: scope, Types: types}
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		if p, ok := prev[id]; !ok || p.Type != cur[id].Type || !reflect.DeepEqual(p.Attrs, cur[id].Attrs) {
			ch.Upserts = append(ch.Upserts, cur[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(prev)) {
		if _, ok := cur[id]; !ok {
			ch.Deletes = append(ch.Deletes, collectors.Ref{Type: prev[id].Type, ID: id})
		}
	}
	return ch
}

// zoneSet collects notified zones until the watch loop takes them; a
// burst of NOTIFYs for one zone makes one re-collection.
type zoneSet struct {
	mu    sync.Mutex
	zones []string
	wake  chan struct{}
}

func (s *zoneSet) add(zone string) {
	s.mu.Lock()
	if !slices.Contains(s.zones, zone) {
		s.zones = append(s.zones, zone)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the loop is already woken
	}
}

func (s *zoneSet) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones
	s.zones = nil
	return z
}
