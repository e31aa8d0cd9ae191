package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

var ctx = context.Background()

// count is s.Count that fails the test on error.
func count(t testing.TB, s *inventory.Store, q inventory.Query) int {
	t.Helper()
	n, err := s.Count(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// seed creates a datacenter, a cluster, two hosts and n VMs on them.
func seed(t testing.TB, s *inventory.Store, n int) {
	t.Helper()
	items := []inventory.Item{
		{Type: "datacenter", Name: "dc1"},
		{Type: "cluster", Name: "prod01", Attrs: map[string]any{"datacenter": "dc1"}},
		{Type: "host", Name: "esx01", Attrs: map[string]any{"cluster": "prod01", "cpu_cores": 32}},
		{Type: "host", Name: "esx02", Attrs: map[string]any{"cluster": "prod01", "cpu_cores": 64}},
	}
	for i := 0; i < n; i++ {
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%03d", i), Attrs: map[string]any{
			"instance_uuid": fmt.Sprintf("uuid-%d", i), "cpus": i%4 + 1, "host": []string{"esx01", "esx02"}[i%2],
			"ip": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "power_state": "poweredOn",
		}})
	}
	if _, err := s.Upsert(ctx, inventorytest.Meta("seed"), items, inventory.UpsertOptions{}); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func TestCreateNormalizesAndReads(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 0)
		e, err := s.Create(ctx, inventorytest.Meta("alice"), "vm", "web01", map[string]any{
			"ip": "::ffff:192.0.2.10", "macs": []any{"00:50:56:AB:CD:EF"}, "dns_name": "Web01.Example.COM",
			"cpus": 2, "memory_mb": 4096.0, "host": "esx01", "datastores": []any{}, "template": false,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"ip": "192.0.2.10", "macs": []any{"00:50:56:ab:cd:ef"}, "dns_name": "web01.example.com.",
			"cpus": int64(2), "memory_mb": int64(4096), "host": "esx01", "datastores": []any{}, "template": false,
		}
		if diff := cmp.Diff(want, e.Attrs); diff != "" {
			t.Errorf("attrs (-want +got):\n%s", diff)
		}
		got, err := s.GetByName(ctx, "vm", "web01")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("read back (-create +get):\n%s", diff)
		}
		if got.Version != 1 || got.Status != inventory.StatusActive {
			t.Errorf("version %d status %s", got.Version, got.Status)
		}
	})
}

// TestRepeatedListValueIndexedOnce: a list may hold a value twice (here
// after normalisation); search finds the entry once, and updates reindex it.
func TestRepeatedListValueIndexedOnce(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		e, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "twice", map[string]any{"macs": []any{"00:50:56:AB:CD:EF", "00:50:56:ab:cd:ef", "00:50:56:00:00:01"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, inventorytest.Meta("t"), e.ID, inventory.Patch{Version: 1, Attrs: map[string]any{"macs": []any{"00:50:56:00:00:01", "00:50:56:00:00:01"}}}); err != nil {
			t.Fatal(err)
		}
		for mac, want := range map[string]int{"00:50:56:00:00:01": 1, "00:50:56:ab:cd:ef": 0} {
			n, err := s.Count(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "macs", Op: inventory.OpEq, Values: []any{mac}}}})
			if err != nil || int(n) != want {
				t.Errorf("macs = %s: %d entries, want %d (%v)", mac, n, want, err)
			}
		}
	})
}

func TestValidationErrorsNameTheField(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 0)
		cases := []struct {
			name  string
			items []inventory.Item
			code  string
			field string
		}{
			{"wrong type", []inventory.Item{{Type: "vm", Name: "a"}, {Type: "vm", Name: "b", Attrs: map[string]any{"cpus": "two"}}}, schema.EINVALID, "items[1].attrs.cpus"},
			{"bad ip", []inventory.Item{{Type: "vm", Name: "a", Attrs: map[string]any{"ip": "10.0.0.300"}}}, schema.EINVALID, "items[0].attrs.ip"},
			{"unknown attribute", []inventory.Item{{Type: "vm", Name: "a", Attrs: map[string]any{"colour": "red"}}}, schema.EINVALID, "items[0].attrs.colour"},
			{"unknown type", []inventory.Item{{Type: "vm", Name: "a"}, {Type: "toaster", Name: "b"}}, schema.EINVALID, "items[1].type"},
			{"dangling reference", []inventory.Item{{Type: "vm", Name: "a"}, {Type: "vm", Name: "b", Attrs: map[string]any{"host": "nope"}}}, schema.EINVALID, "items[1].host"},
			{"dangling among resolved references", []inventory.Item{
				{Type: "vm", Name: "a", Attrs: map[string]any{"host": "esx01"}},                                     // in the store
				{Type: "vm", Name: "b", Attrs: map[string]any{"host": "esx09"}},                                     // created later in the batch
				{Type: "vm", Name: "c", Attrs: map[string]any{"host": "esx02", "datastores": []any{"ds1", "nope"}}}, // one of two missing
				{Type: "host", Name: "esx09", Attrs: map[string]any{"cluster": "prod01"}},
				{Type: "datastore", Name: "ds1"},
				{Type: "vm", Name: "d", Attrs: map[string]any{"host": "nope"}},
			}, schema.EINVALID, "items[2].datastores"},
			{"empty name", []inventory.Item{{Type: "vm", Name: ""}}, schema.EINVALID, "items[0].name"},
			{"duplicate in batch", []inventory.Item{{Type: "vm", Name: "a"}, {Type: "vm", Name: "a"}}, schema.ECONFLICT, "items[1].name"},
			{"unique in batch", []inventory.Item{{Type: "vm", Name: "a", Attrs: map[string]any{"instance_uuid": "u"}}, {Type: "vm", Name: "b", Attrs: map[string]any{"instance_uuid": "u"}}}, schema.ECONFLICT, "items[1].instance_uuid"},
			{"required", []inventory.Item{{Type: "dns_zone", Name: "z"}}, schema.EINVALID, "items[0].zone"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Upsert(ctx, inventorytest.Meta("t"), c.items, inventory.UpsertOptions{})
				if schema.ErrorCode(err) != c.code || schema.ErrorField(err) != c.field {
					t.Fatalf("got %v (code %q field %q), want code %q field %q", err, schema.ErrorCode(err), schema.ErrorField(err), c.code, c.field)
				}
				n, _ := s.Count(ctx, inventory.Query{Type: "vm"})
				if n != 0 {
					t.Fatalf("a failed batch wrote %d vms", n)
				}
			})
		}
	})
}

func TestUniqueAgainstStore(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 2)
		_, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "dup", map[string]any{"instance_uuid": "uuid-1"})
		if schema.ErrorCode(err) != schema.ECONFLICT || schema.ErrorField(err) != `vm "dup".instance_uuid` {
			t.Fatalf("got %v field %q", err, schema.ErrorField(err))
		}
		_, err = s.Create(ctx, inventorytest.Meta("t"), "vm", "vm001", nil)
		if schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("duplicate name: got %v", err)
		}
	})
}

// TestBulkUpsertSpansStatements writes a batch big enough that the tables
// take several statements (SQLite: multi-row INSERTs, the full ones one
// prepared statement; PostgreSQL: COPYs of 20,000 rows) and a shorter
// last one: nothing may be lost or misplaced at the seams.
func TestBulkUpsertSpansStatements(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		const n = 8000 // entries: 2 full INSERTs and a tail; entry_values (32,000 rows): 5 and a tail, or 2 COPYs
		seed(t, s, n)
		eq := func(attr string, v any) inventory.Query {
			return inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: attr, Op: inventory.OpEq, Values: []any{v}}}}
		}
		for _, c := range []struct {
			name string
			q    inventory.Query
			want int
		}{
			{"vms", inventory.Query{Type: "vm"}, n},
			{"cpus", eq("cpus", 4), n / 4},
			{"host ref", eq("host", "esx02"), n / 2},
			{"power_state", eq("power_state", "poweredOn"), n},
		} {
			if got := count(t, s, c.q); got != c.want {
				t.Errorf("%s: %d, want %d", c.name, got, c.want)
			}
		}
		for _, i := range []int{0, 3332, 3333, 5999, 6000, n - 1} {
			name := fmt.Sprintf("vm%03d", i)
			p, err := s.Find(ctx, eq("ip", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)))
			if err != nil || len(p.Entries) != 1 || p.Entries[0].Name != name {
				t.Fatalf("ip of %s: %+v %v", name, p, err)
			}
			if p.Entries[0].Attrs["host"] != []string{"esx01", "esx02"}[i%2] {
				t.Errorf("%s host = %v", name, p.Entries[0].Attrs["host"])
			}
			h, err := s.History(ctx, p.Entries[0].ID)
			if err != nil || len(h) != 1 {
				t.Errorf("history of %s: %d versions, %v", name, len(h), err)
			}
		}
		_, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "dup", map[string]any{"instance_uuid": fmt.Sprintf("uuid-%d", n-1)})
		if schema.ErrorCode(err) != schema.ECONFLICT {
			t.Errorf("unique value of the last entry: got %v", err)
		}
	})
}

// TestBigBatchLogsProgress: an Upsert of 5,000 items or more logs its
// steps (a long import is not silent); a small one logs none.
func TestBigBatchLogsProgress(t *testing.T) {
	var logs bytes.Buffer
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"), reg, inventory.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer inventorytest.MustClose(t, s)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seed(t, s, 10)
	if strings.Contains(logs.String(), "bulk write") {
		t.Errorf("a small batch logged progress:\n%s", logs.String())
	}
	seed(t, s, 6000)
	for _, step := range []string{"items valid", "entries queued", "all rows written", "committing", "committed"} {
		if !strings.Contains(logs.String(), `msg="bulk write: `+step+`" items=6004`) {
			t.Errorf("no %q step logged:\n%s", step, logs.String())
		}
	}
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 1)
		e, _ := s.GetByName(ctx, "vm", "vm000")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = s.Update(ctx, inventorytest.Meta(fmt.Sprint("user", i)), e.ID, inventory.Patch{Version: e.Version, Attrs: map[string]any{"cpus": 10 + i}})
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch schema.ErrorCode(err) {
			case "":
				wins++
			case schema.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d updates won, want exactly 1 (%v)", wins, errs)
		}
		got, _ := s.Get(ctx, e.ID)
		if got.Version != e.Version+1 {
			t.Fatalf("version %d, want %d", got.Version, e.Version+1)
		}
	})
}

func TestDeleteRestoreKeepsAttrsAndRefs(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 2)
		before, _ := s.GetByName(ctx, "vm", "vm000")
		if _, err := s.Delete(ctx, inventory.Meta{Actor: "bob", Reason: "decommissioned"}, before.ID, before.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetByName(ctx, "vm", "vm000"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("deleted entry still found: %v", err)
		}
		// Its name and unique values are free while it is deleted.
		other, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "vm000", map[string]any{"instance_uuid": "uuid-0"})
		if err != nil {
			t.Fatalf("reuse name: %v", err)
		}
		if _, err := s.Restore(ctx, inventorytest.Meta("bob"), before.ID); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("restore over a live name: %v", err)
		}
		if _, err := s.Delete(ctx, inventorytest.Meta("t"), other.ID, 0); err != nil {
			t.Fatal(err)
		}
		after, err := s.Restore(ctx, inventorytest.Meta("bob"), before.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before.Attrs, after.Attrs); diff != "" {
			t.Errorf("restored attrs (-before +after):\n%s", diff)
		}
		host, _ := s.GetByName(ctx, "host", "esx01")
		back, _ := s.Referrers(ctx, "vm", "host", []int64{host.ID})
		if len(back[host.ID]) != 1 || back[host.ID][0].Name != "vm000" {
			t.Errorf("back-references after restore: %v", back[host.ID])
		}
	})
}

func TestHistoryAndChangeSets(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 2)
		e, _ := s.GetByName(ctx, "vm", "vm000")
		name := "web-renamed"
		if _, err := s.Update(ctx, inventory.Meta{Actor: "carol", Source: "api", Reason: "resize"}, e.ID, inventory.Patch{Version: 1, Name: &name, Attrs: map[string]any{"cpus": 8, "ip": nil}}); err != nil {
			t.Fatal(err)
		}
		h, err := s.History(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Op != inventory.OpCreate || h[1].Op != inventory.OpUpdate {
			t.Fatalf("history: %+v", h)
		}
		want := map[string]inventory.Change{
			"name": {Old: "vm000", New: "web-renamed"}, "cpus": {Old: 1.0, New: 8.0}, "ip": {Old: "10.0.0.1"},
		}
		if diff := cmp.Diff(want, h[1].Changes); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		if h[1].Actor != "carol" || h[1].Reason != "resize" || h[1].Version != 2 {
			t.Errorf("version meta: %+v", h[1])
		}
		created := map[string]inventory.Change{
			"name": {New: "vm000"}, "cpus": {New: 1.0}, "host": {New: "esx01"}, "instance_uuid": {New: "uuid-0"},
			"ip": {New: "10.0.0.1"}, "power_state": {New: "poweredOn"},
		}
		if diff := cmp.Diff(created, h[0].Changes); diff != "" {
			t.Errorf("changes of the create (-want +got):\n%s", diff)
		}
		// A create stored before creates were kept as bare new values reads the same.
		old := `{"cpus":{"old":null,"new":1},"host":{"old":null,"new":"esx01"},"instance_uuid":{"old":null,"new":"uuid-0"},` +
			`"ip":{"old":null,"new":"10.0.0.1"},"name":{"old":null,"new":"vm000"},"power_state":{"old":null,"new":"poweredOn"}}`
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind("UPDATE versions SET changes = ? WHERE entry_id = ? AND version = 1"), old, e.ID); err != nil {
			t.Fatal(err)
		}
		if h, err = s.History(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(created, h[0].Changes); diff != "" {
			t.Errorf("changes of a create in the old format (-want +got):\n%s", diff)
		}
		other, _ := s.GetByName(ctx, "vm", "vm001")
		h2, _ := s.History(ctx, other.ID)
		if h2[0].ChangeSet != h[0].ChangeSet {
			t.Errorf("one import wrote two change sets: %s, %s", h[0].ChangeSet, h2[0].ChangeSet)
		}
	})
}

func TestUpsertMergesAndDryRun(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 2)
		items := []inventory.Item{
			{Type: "vm", Name: "vm000", Attrs: map[string]any{"cpus": 1}},           // unchanged
			{Type: "vm", Name: "vm001", Attrs: map[string]any{"cpus": 16}},          // changed
			{Type: "vm", Name: "new", Attrs: map[string]any{"owner": "team-a"}},     // created
			{Type: "vm", Name: "vm002", Attrs: map[string]any{"host": "esx02"}},     // created with ref
			{Type: "host", Name: "esx01", Attrs: map[string]any{"memory_mb": 1024}}, // changed
		}
		rs, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		ops := []inventory.Op{}
		for _, r := range rs {
			ops = append(ops, r.Op)
		}
		wantOps := []inventory.Op{inventory.OpUnchanged, inventory.OpUpdate, inventory.OpCreate, inventory.OpCreate, inventory.OpUpdate}
		if diff := cmp.Diff(wantOps, ops); diff != "" {
			t.Fatalf("ops (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]inventory.Change{"cpus": {Old: int64(2), New: int64(16)}}, rs[1].Changes()); diff != "" {
			t.Errorf("dry-run changes: %s", diff)
		}
		created := map[string]inventory.Change{"name": {New: "vm002"}, "host": {New: "esx02"}}
		if diff := cmp.Diff(created, rs[3].Changes()); diff != "" {
			t.Errorf("dry-run changes of a create (-want +got):\n%s", diff)
		}
		if n, _ := s.Count(ctx, inventory.Query{Type: "vm"}); n != 2 {
			t.Fatalf("dry run wrote: %d vms", n)
		}
		if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		e, _ := s.GetByName(ctx, "vm", "vm001")
		if e.Attrs["cpus"] != int64(16) || e.Attrs["host"] != "esx02" || e.Attrs["instance_uuid"] != "uuid-1" {
			t.Errorf("merge: %v", e.Attrs)
		}
	})
}

func TestFindFiltersAndPages(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 57)
		host, _ := s.GetByName(ctx, "host", "esx01")
		cases := []struct {
			name string
			q    inventory.Query
			want int
		}{
			{"type", inventory.Query{Type: "vm"}, 57},
			{"eq int", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "cpus", Op: inventory.OpEq, Values: []any{4}}}}, 14},
			{"gt int", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "cpus", Op: inventory.OpGt, Values: []any{2}}}}, 28},
			{"in", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "cpus", Op: inventory.OpIn, Values: []any{1, 2}}}}, 29},
			{"ip normalised", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "ip", Op: inventory.OpEq, Values: []any{"::ffff:10.0.0.5"}}}}, 1},
			{"name contains", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "name", Op: inventory.OpContains, Values: []any{"M05"}}}}, 7},
			{"ref by name", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "host", Op: inventory.OpEq, Values: []any{"esx01"}}}}, 29},
			{"ref by id", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "host", Op: inventory.OpRefID, Values: []any{host.ID}}}}, 29},
			{"isnull", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "owner", Op: inventory.OpIsNull}}}, 57},
			{"two filters", inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "host", Op: inventory.OpEq, Values: []any{"esx02"}}, {Attr: "cpus", Op: inventory.OpLte, Values: []any{2}}}}, 14},
		}
		for _, c := range cases {
			if got := count(t, s, c.q); got != c.want {
				t.Errorf("%s: %d, want %d", c.name, got, c.want)
			}
		}
		for _, order := range []string{"name", "id"} {
			seen := map[string]bool{}
			q := inventory.Query{Type: "vm", Limit: 10, OrderBy: order}
			pages := 0
			for {
				p, err := s.Find(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, e := range p.Entries {
					if seen[e.Name] {
						t.Fatalf("%s: %s twice", order, e.Name)
					}
					seen[e.Name] = true
				}
				if p.Next == "" {
					break
				}
				q.After = p.Next
			}
			if len(seen) != 57 || pages != 6 {
				t.Errorf("%s: paged %d entries in %d pages", order, len(seen), pages)
			}
		}
		if _, err := s.Find(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "cpus", Op: inventory.OpEq, Values: []any{"x"}}}}); schema.ErrorField(err) != "filter[0].cpus" {
			t.Errorf("bad filter value: %v", err)
		}
	})
}

func TestEachStreamsWithRefs(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 30)
		n := 0
		err := s.Each(ctx, "vm", func(e *inventory.Entry) error {
			n++
			if e.Attrs["host"] == nil || len(e.RefIDs["host"]) != 1 {
				return fmt.Errorf("%s without host ref: %v", e.Name, e.Attrs)
			}
			return nil
		})
		if err != nil || n != 30 {
			t.Fatalf("each: %d, %v", n, err)
		}
	})
}

func TestAttributeRenameMigratesData(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			v1 := `types:
  - name: service
    attributes:
      - {name: owner, type: string, unique: true}
      - {name: vms, type: "list:ref:vm"}
`
			v2 := `types:
  - name: service
    attributes:
      - {name: team, type: string, unique: true, renamed_from: [owner]}
      - {name: vms, type: "list:ref:vm"}
      - {name: port, type: integer, default: 443}
`
			open := func(y string) *inventory.Store { return inventorytest.OpenWithTypes(t, dsn, y) }
			s := open(v1)
			seed(t, s, 1)
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "web", map[string]any{"owner": "ops", "vms": []any{"vm000"}}); err != nil {
				t.Fatal(err)
			}
			inventorytest.MustClose(t, s)
			s = open(v2)
			e, err := s.GetByName(ctx, "service", "web")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"team": "ops", "vms": []any{"vm000"}}, e.Attrs); diff != "" {
				t.Errorf("after rename (-want +got):\n%s", diff)
			}
			n, _ := s.Count(ctx, inventory.Query{Type: "service", Filters: []inventory.Filter{{Attr: "team", Op: inventory.OpEq, Values: []any{"ops"}}}})
			if n != 1 {
				t.Errorf("renamed attribute not searchable")
			}
		})
	}
}
