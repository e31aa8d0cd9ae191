package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// seedDiffRead stores a host, a datastore and VMs whose attributes take
// both decoders (plain values, and escapes for encoding/json), with
// references, one VM stale and one deleted.
func seedDiffRead(t *testing.T, s *inventory.Store) {
	t.Helper()
	ctx := context.Background()
	m := inventorytest.Meta("t")
	rs, err := s.Upsert(ctx, m, []inventory.Item{
		{Type: "host", Name: "esx1", Attrs: map[string]any{"cpu_cores": 32}},
		{Type: "datastore", Name: "ds1", Attrs: map[string]any{"capacity_gb": 1.5}},
		{Type: "datastore", Name: "ds2"},
		{Type: "vm", Name: "a", Attrs: map[string]any{"cpus": 2, "disk_gb": 40.5, "template": false, "macs": []any{"00:50:56:00:00:01"},
			"annotation": "say \"hi\" <b> & é", "host": "esx1", "datastores": []any{"ds1", "ds2"}, "tags": []any{}}},
		{Type: "vm", Name: "b", Attrs: map[string]any{"memory_mb": -1, "ips": []any{"10.0.0.1", "10.0.0.2"}}},
		{Type: "vm", Name: "c"},
		{Type: "vm", Name: "gone", Attrs: map[string]any{"cpus": 1}},
	}, inventory.UpsertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range rs {
		ids[r.Name] = r.ID
	}
	if err := s.InTx(ctx, func(tx *inventory.Tx) error {
		return tx.SetStatus(ctx, inventory.StatusStale, []int64{ids["b"]})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, m, ids["gone"], 0); err != nil {
		t.Fatal(err)
	}
}

// liveVMs reads the live VMs the ordinary way, by name.
func liveVMs(t *testing.T, s *inventory.Store) map[string]*inventory.Entry {
	t.Helper()
	want := map[string]*inventory.Entry{}
	if err := s.Each(context.Background(), "vm", func(e *inventory.Entry) error { want[e.Name] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 {
		t.Fatalf("Each: %d live VMs, want 3", len(want))
	}
	return want
}

func TestEachHeadMatchesEach(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seedDiffRead(t, s)
		want := liveVMs(t, s)
		got := map[string]inventory.EntryHead{}
		if err := s.EachHead(context.Background(), "vm", func(h inventory.EntryHead) { got[h.Name] = h }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("EachHead: %d heads, want %d: %v", len(got), len(want), got)
		}
		for name, w := range want {
			h := got[name]
			if h != (inventory.EntryHead{ID: w.ID, Type: "vm", Name: name, Version: w.Version, Status: w.Status}) {
				t.Errorf("%s: head %+v, want id %d version %d status %s", name, h, w.ID, w.Version, w.Status)
			}
		}
		if got["b"].Status != inventory.StatusStale {
			t.Errorf("b: status %q, want stale", got["b"].Status)
		}
		if err := s.EachHead(context.Background(), "nosuchtype", func(inventory.EntryHead) {}); err == nil {
			t.Error("EachHead of an unknown type: no error")
		}
	})
}

// EachTransient reuses the entry and its map: what fn copies out must
// still be each entry's own attributes, references included.
func TestEachTransientMatchesEach(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seedDiffRead(t, s)
		want := liveVMs(t, s)
		n := 0
		err := s.EachTransient(context.Background(), "vm", func(e *inventory.Entry) error {
			n++
			w := want[e.Name]
			if w == nil {
				return fmt.Errorf("unexpected entry %s", e.Name)
			}
			got := maps.Clone(e.Attrs)
			if !reflect.DeepEqual(w.Attrs, got) || fmt.Sprint(w.RefIDs) != fmt.Sprint(e.RefIDs) ||
				w.ID != e.ID || w.Version != e.Version || w.Status != e.Status || e.Type != "vm" {
				t.Errorf("%s: got %v %v, want %v %v", e.Name, got, e.RefIDs, w.Attrs, w.RefIDs)
			}
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("EachTransient: %d entries, %v", n, err)
		}
		stop := errors.New("stop")
		if err := s.EachTransient(context.Background(), "vm", func(*inventory.Entry) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("EachTransient returned %v, want fn's error", err)
		}
	})
}
