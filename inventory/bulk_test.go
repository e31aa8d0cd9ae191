package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestBigBatchNamesFirstBadItem checks that a batch validated on several
// CPUs reports the first bad item, as a sequential check would, and
// writes nothing.
func TestBigBatchNamesFirstBadItem(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		var items []inventory.Item
		for i := range 6000 {
			ip := fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)
			if i == 2500 || i == 5000 {
				ip = "not-an-ip"
			}
			items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%04d", i), Attrs: map[string]any{"ip": ip}})
		}
		_, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{})
		if schema.ErrorField(err) != "items[2500].attrs.ip" {
			t.Errorf("error %v names field %q, want items[2500].attrs.ip", err, schema.ErrorField(err))
		}
		if n := count(t, s, inventory.Query{Type: "vm"}); n != 0 {
			t.Errorf("%d entries written by a failed batch", n)
		}
	})
}

// records is a slog handler that hands over every record.
type records chan slog.Record

func (records) Enabled(context.Context, slog.Level) bool { return true }
func (r records) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r <- rec:
	default: // a full channel drops records rather than block the store
	}
	return nil
}
func (r records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r records) WithGroup(string) slog.Handler      { return r }

// TestBulkWriteCheckpointsInBackground checks that a big SQLite write
// leaves its log to the background checkpointer, which copies all of it,
// and that the connection goes back to the pool checkpointing as usual.
func TestBulkWriteCheckpointsInBackground(t *testing.T) {
	logs := make(records, 1000)
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := inventory.Open(ctx, "sqlite:"+path, reg, inventory.Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer inventorytest.MustClose(t, s)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.DB().SetMaxOpenConns(1) // the PRAGMA below reads the import's connection
	seed(t, s, 6000)
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case rec := <-logs:
			if rec.Message != "sqlite checkpoint" {
				continue
			}
			var pages, copied int64
			rec.Attrs(func(a slog.Attr) bool {
				switch a.Key {
				case "log_pages":
					pages = a.Value.Int64()
				case "copied":
					copied = a.Value.Int64()
				}
				return true
			})
			if pages == 0 || copied != pages {
				t.Errorf("checkpoint copied %d of %d log pages", copied, pages)
			}
			done = true
		case <-deadline:
			t.Fatal("no checkpoint after a bulk write")
		}
	}
	var auto int
	if err := s.DB().GetContext(ctx, &auto, "PRAGMA wal_autocheckpoint"); err != nil || auto != 1000 {
		t.Errorf("wal_autocheckpoint after a bulk write: %d, %v; want 1000", auto, err)
	}
	if n := count(t, s, inventory.Query{Type: "vm"}); n != 6000 {
		t.Errorf("%d VMs after the bulk write", n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close after a background checkpoint: %v", err)
	}
}

// TestCloseRightAfterBulkWriteRemovesLog checks that closing the store
// while its background checkpoint runs leaves the database whole and the
// write-ahead log gone, as a close after an ordinary write does.
func TestCloseRightAfterBulkWriteRemovesLog(t *testing.T) {
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := inventory.Open(ctx, "sqlite:"+path, reg, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seed(t, s, 6000)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write-ahead log left after close: %v", err)
	}
	s = inventorytest.OpenWith(t, "sqlite:"+path, reg)
	if n := count(t, s, inventory.Query{Type: "vm"}); n != 6000 {
		t.Errorf("%d VMs after reopening, want 6000", n)
	}
}

// TestAbandonedTransactionWritesNothing checks that a transaction whose
// function fails or panics after queueing bulk rows writes none of them,
// and that the store works on.
func TestAbandonedTransactionWritesNothing(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		var items []inventory.Item
		for i := range 6000 {
			items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%05d", i), Attrs: map[string]any{"cpus": i%8 + 1}})
		}
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx *inventory.Tx) error {
			if _, err := tx.Upsert(ctx, inventorytest.Meta("t"), items); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("failed transaction: %v", err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			_ = s.InTx(ctx, func(tx *inventory.Tx) error { // panics: checked above
				if _, err := tx.Upsert(ctx, inventorytest.Meta("t"), items); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if n := count(t, s, inventory.Query{Type: "vm"}); n != 0 {
			t.Errorf("%d VMs written by abandoned transactions", n)
		}
		seed(t, s, 3)
		if n := count(t, s, inventory.Query{Type: "vm"}); n != 3 {
			t.Errorf("%d VMs after a write that followed, want 3", n)
		}
	})
}

// TestBigMixedBatch checks a batch of creates and updates big enough to
// be validated on several CPUs and written through the statement queue,
// which must drain before the updates: every search, reference and unique
// row ends up as a sequence of single writes would leave it.
func TestBigMixedBatch(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		meta := inventorytest.Meta("t")
		items := []inventory.Item{{Type: "host", Name: "h1"}, {Type: "host", Name: "h2"}}
		for i := range 3000 {
			items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("old%04d", i), Attrs: map[string]any{
				"ip": fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), "instance_uuid": fmt.Sprintf("u-old-%d", i), "host": "h1"}})
		}
		if _, err := s.Upsert(ctx, meta, items, inventory.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		items = items[:0]
		for i := range 3000 {
			items = append(items,
				inventory.Item{Type: "vm", Name: fmt.Sprintf("old%04d", i), Attrs: map[string]any{
					"ip": fmt.Sprintf("10.2.%d.%d", i/250, i%250+1), "instance_uuid": fmt.Sprintf("u-new-%d", i), "host": "h2"}},
				inventory.Item{Type: "vm", Name: fmt.Sprintf("new%04d", i), Attrs: map[string]any{
					"ip": fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), "instance_uuid": fmt.Sprintf("u-old-%d", i), "host": "h1"}})
		}
		rs, err := s.Upsert(ctx, meta, items, inventory.UpsertOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ops := map[inventory.Op]int{}
		for _, r := range rs {
			ops[r.Op]++
		}
		if ops[inventory.OpUpdate] != 3000 || ops[inventory.OpCreate] != 3000 {
			t.Errorf("ops %v", ops)
		}
		find := func(attr, value string) []string {
			t.Helper()
			p, err := s.Find(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: attr, Op: inventory.OpEq, Values: []any{value}}}})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range p.Entries {
				names = append(names, e.Name)
			}
			return names
		}
		for _, c := range []struct {
			attr, value string
			want        []string
		}{
			{"ip", "10.1.0.8", []string{"new0007"}},
			{"ip", "10.2.0.8", []string{"old0007"}},
			{"instance_uuid", "u-old-7", []string{"new0007"}},
			{"instance_uuid", "u-new-7", []string{"old0007"}},
		} {
			if diff := cmp.Diff(c.want, find(c.attr, c.value)); diff != "" {
				t.Errorf("%s = %s (-want +got):\n%s", c.attr, c.value, diff)
			}
		}
		for host, want := range map[string]int{"h1": 3000, "h2": 3000} {
			h, _ := s.GetByName(ctx, "host", host)
			if m, err := s.Referrers(ctx, "vm", "host", []int64{h.ID}); err != nil || len(m[h.ID]) != want {
				t.Errorf("VMs on %s: %d, %v; want %d", host, len(m[h.ID]), err, want)
			}
		}
		if n := rawCount(t, s, "SELECT COUNT(*) FROM unique_values WHERE type = 'vm'"); n != 6000 {
			t.Errorf("%d unique values held, want 6000", n)
		}
		if n := rawCount(t, s, "SELECT COUNT(*) FROM entry_values WHERE type = 'vm' AND attr = 'ip'"); n != 6000 {
			t.Errorf("%d ip search rows, want 6000", n)
		}
	})
}

// TestBatchLookupsOfInvalidUTF8 checks that a batch whose names or unique
// values are not valid UTF-8, which SQLite stores as given, still finds
// the entries and the holders of those values: such lists cannot go to
// SQLite as one JSON parameter, so they go in chunks. (PostgreSQL refuses
// such text outright.)
func TestBatchLookupsOfInvalidUTF8(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	meta := inventorytest.Meta("t")
	bad := "vm-\xff"
	if _, err := s.Upsert(ctx, meta, []inventory.Item{{Type: "vm", Name: bad, Attrs: map[string]any{"instance_uuid": "u-\xfe"}}}, inventory.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Upsert(ctx, meta, []inventory.Item{{Type: "vm", Name: bad, Attrs: map[string]any{"cpus": 2}}}, inventory.UpsertOptions{})
	if err != nil || rs[0].Op != inventory.OpUpdate {
		t.Fatalf("upsert of %q: %+v, %v; want an update", bad, rs, err)
	}
	_, err = s.Upsert(ctx, meta, []inventory.Item{{Type: "vm", Name: "other", Attrs: map[string]any{"instance_uuid": "u-\xfe"}}}, inventory.UpsertOptions{})
	if schema.ErrorCode(err) != schema.ECONFLICT || schema.ErrorField(err) != "items[0].instance_uuid" {
		t.Errorf("claiming a held value: %v (field %q); want a conflict on items[0].instance_uuid", err, schema.ErrorField(err))
	}
}
