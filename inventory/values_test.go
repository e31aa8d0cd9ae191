package inventory_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// valueRows lists an entry's rows in table (entry_values or
// unique_values) as "attr=value".
func valueRows(t *testing.T, s *inventory.Store, table string, id int64) []string {
	t.Helper()
	var rows []string
	err := s.DB().SelectContext(ctx, &rows, s.DB().Rebind("SELECT attr || '=' || value FROM "+table+" WHERE entry_id = ?"), id)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(rows)
	return rows
}

// TestUpdateReplacesSearchRows checks that an update leaves exactly the
// search rows of the new values: the old ones go by their keys, untouched
// attributes keep theirs, and another entry's equal value stays.
func TestUpdateReplacesSearchRows(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		meta := inventorytest.Meta("t")
		a, err := s.Create(ctx, meta, "vm", "a", map[string]any{"ip": "10.0.0.1", "owner": "ops", "cpus": 2,
			"macs": []any{"00:50:56:00:00:01", "00:50:56:00:00:02"}, "annotation": "not indexed"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Create(ctx, meta, "vm", "b", map[string]any{"ip": "10.0.0.9", "owner": "ops", "macs": []any{"00:50:56:00:00:01"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Update(ctx, meta, a.ID, inventory.Patch{Version: a.Version, Attrs: map[string]any{
			"ip": "10.0.0.2", "owner": nil, "cpus": 4, "annotation": "still not",
			"macs": []any{"00:50:56:00:00:02", "00:50:56:00:00:03", "00:50:56:00:00:03"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"cpus=4", "macs=00:50:56:00:00:02", "macs=00:50:56:00:00:03", "ip=10.0.0.2"}
		sort.Strings(want)
		if diff := cmp.Diff(want, valueRows(t, s, "entry_values", a.ID)); diff != "" {
			t.Errorf("search rows of a (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"ip=10.0.0.9", "macs=00:50:56:00:00:01", "owner=ops"}, valueRows(t, s, "entry_values", b.ID)); diff != "" {
			t.Errorf("search rows of b (-want +got):\n%s", diff)
		}
		for _, c := range []struct {
			attr  string
			value any
			want  int
		}{{"ip", "10.0.0.1", 0}, {"ip", "10.0.0.2", 1}, {"owner", "ops", 1}, {"macs", "00:50:56:00:00:01", 1}, {"cpus", 2, 0}, {"cpus", 4, 1}} {
			q := inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: c.attr, Op: inventory.OpEq, Values: []any{c.value}}}}
			if n := count(t, s, q); n != c.want {
				t.Errorf("%s = %v: %d entries, want %d", c.attr, c.value, n, c.want)
			}
		}
	})
}

// TestTypeChangeResyncsSearch checks that the search index follows the
// types: a removed attribute loses its rows, and one added back is
// searchable again from the values the entries kept.
func TestTypeChangeResyncsSearch(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			with := `types:
  - name: app
    attributes:
      - {name: site, type: string}
      - {name: port, type: integer}
`
			without := `types:
  - name: app
    attributes:
      - {name: port, type: integer}
`
			secret := `types:
  - name: app
    attributes:
      - {name: site, type: string, secret: true}
      - {name: port, type: integer}
`
			bySite := inventory.Query{Type: "app", Filters: []inventory.Filter{{Attr: "site", Op: inventory.OpEq, Values: []any{"ams"}}}}
			s := inventorytest.OpenWithTypes(t, dsn, with)
			var items []inventory.Item
			for i := range 3 {
				items = append(items, inventory.Item{Type: "app", Name: fmt.Sprintf("app%d", i), Attrs: map[string]any{"site": "ams", "port": 80 + i}})
			}
			if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
			siteRows := func(s *inventory.Store) int {
				return rawCount(t, s, "SELECT COUNT(*) FROM entry_values WHERE type = 'app' AND attr = 'site'")
			}
			inventorytest.MustClose(t, s)

			s = inventorytest.OpenWithTypes(t, dsn, without)
			if n := siteRows(s); n != 0 {
				t.Errorf("removed attribute: %d search rows left", n)
			}
			inventorytest.MustClose(t, s)

			s = inventorytest.OpenWithTypes(t, dsn, with)
			if n := count(t, s, bySite); n != 3 {
				t.Errorf("attribute added back: %d entries found by it, want 3", n)
			}
			inventorytest.MustClose(t, s)

			s = inventorytest.OpenWithTypes(t, dsn, secret)
			if n := siteRows(s); n != 0 {
				t.Errorf("attribute made secret: %d search rows left", n)
			}
			if n := rawCount(t, s, "SELECT COUNT(*) FROM entry_values WHERE type = 'app' AND attr = 'port'"); n != 3 {
				t.Errorf("untouched attribute: %d search rows, want 3", n)
			}
		})
	}
}

func rawCount(t *testing.T, s *inventory.Store, query string) int {
	t.Helper()
	var n int
	if err := s.DB().GetContext(ctx, &n, query); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIndexMigrations checks migrations 0005, 0006 and 0009 both ways: the
// search and reference rows survive being re-keyed, and back.
func TestIndexMigrations(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 20)
		rows := func() string {
			var all []string
			for _, q := range []string{
				"SELECT entry_id || ' ' || type || ' ' || attr || ' ' || value || ' ' || COALESCE(CAST(num AS TEXT), '-') FROM entry_values ORDER BY 1",
				"SELECT from_id || ' ' || attr || ' ' || pos || ' ' || to_id FROM refs ORDER BY 1",
			} {
				var some []string
				if err := s.DB().SelectContext(ctx, &some, q); err != nil {
					t.Fatal(err)
				}
				all = append(all, some...)
			}
			return strings.Join(all, "\n")
		}
		want := rows()
		if !strings.Contains(want, " vm ip 10.0.0.20 ") {
			t.Fatalf("seeded rows lack vm019's ip:\n%s", want)
		}
		if err := migrations.DownTo(ctx, s.DB().DB, s.Dialect(), 4); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, rows()); diff != "" {
			t.Errorf("rows after rolling back 0009 to 0005 (-before +after):\n%s", diff)
		}
		if _, err := migrations.Up(ctx, s.DB().DB, s.Dialect()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, rows()); diff != "" {
			t.Errorf("rows after re-applying them (-before +after):\n%s", diff)
		}
		q := inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "ip", Op: inventory.OpEq, Values: []any{"10.0.0.20"}}}}
		if n := count(t, s, q); n != 1 {
			t.Errorf("search after the migrations: %d entries, want 1", n)
		}
		host, err := s.GetByName(ctx, "host", "esx02")
		if err != nil {
			t.Fatal(err)
		}
		if m, err := s.Referrers(ctx, "vm", "host", []int64{host.ID}); err != nil || len(m[host.ID]) != 10 {
			t.Errorf("back-references after the migrations: %d, %v; want 10", len(m[host.ID]), err)
		}
	})
}

// TestUpdateReplacesReferenceRows checks that an update leaves exactly the
// reference rows of its new references, in list order, and that
// back-references follow.
func TestUpdateReplacesReferenceRows(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		meta := inventorytest.Meta("t")
		items := []inventory.Item{{Type: "host", Name: "h1"}}
		for _, n := range []string{"ds1", "ds2", "ds3"} {
			items = append(items, inventory.Item{Type: "datastore", Name: n})
		}
		items = append(items,
			inventory.Item{Type: "vm", Name: "a", Attrs: map[string]any{"host": "h1", "datastores": []any{"ds1", "ds2"}}},
			inventory.Item{Type: "vm", Name: "b", Attrs: map[string]any{"host": "h1", "datastores": []any{"ds2"}}})
		if _, err := s.Upsert(ctx, meta, items, inventory.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetByName(ctx, "vm", "a")
		if _, err := s.Update(ctx, meta, a.ID, inventory.Patch{Version: a.Version, Attrs: map[string]any{"datastores": []any{"ds3", "ds1"}}}); err != nil {
			t.Fatal(err)
		}
		var got []string
		err := s.DB().SelectContext(ctx, &got, `SELECT f.name || ' ' || r.attr || ' ' || r.pos || ' ' || t.name FROM refs r
			JOIN entries f ON f.id = r.from_id JOIN entries t ON t.id = r.to_id ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a datastores 0 ds3", "a datastores 1 ds1", "a host 0 h1", "b datastores 0 ds2", "b host 0 h1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("refs rows (-want +got):\n%s", diff)
		}
		a, _ = s.GetByName(ctx, "vm", "a")
		if diff := cmp.Diff([]any{"ds3", "ds1"}, a.Attrs["datastores"]); diff != "" {
			t.Errorf("a's datastores (-want +got):\n%s", diff)
		}
		for ds, want := range map[string]int{"ds1": 1, "ds2": 1, "ds3": 1} {
			e, _ := s.GetByName(ctx, "datastore", ds)
			if m, err := s.Referrers(ctx, "vm", "datastores", []int64{e.ID}); err != nil || len(m[e.ID]) != want {
				t.Errorf("VMs on %s: %d, %v; want %d", ds, len(m[e.ID]), err, want)
			}
		}
	})
}

// TestRenamedReferenceKeepsTargets checks that renaming a reference
// attribute moves its references, forward and back.
func TestRenamedReferenceKeepsTargets(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			v1 := "types:\n  - name: service\n    attributes:\n      - {name: vms, type: \"list:ref:vm\"}\n"
			v2 := "types:\n  - name: service\n    attributes:\n      - {name: members, type: \"list:ref:vm\", renamed_from: [vms]}\n"
			s := inventorytest.OpenWithTypes(t, dsn, v1)
			seed(t, s, 3)
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "web", map[string]any{"vms": []any{"vm002", "vm000"}}); err != nil {
				t.Fatal(err)
			}
			inventorytest.MustClose(t, s)
			s = inventorytest.OpenWithTypes(t, dsn, v2)
			web, err := s.GetByName(ctx, "service", "web")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"members": []any{"vm002", "vm000"}}, web.Attrs); diff != "" {
				t.Errorf("after the rename (-want +got):\n%s", diff)
			}
			vm, _ := s.GetByName(ctx, "vm", "vm000")
			if m, err := s.Referrers(ctx, "service", "members", []int64{vm.ID}); err != nil || len(m[vm.ID]) != 1 {
				t.Errorf("services with vm000 as member: %d, %v; want 1", len(m[vm.ID]), err)
			}
		})
	}
}

// TestUniqueValuesFollowWrites checks the unique values an entry holds
// through an update (the old value is freed), a delete (all are freed)
// and a restore (taken back).
func TestUniqueValuesFollowWrites(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		meta := inventorytest.Meta("t")
		held := func(id int64) []string { return valueRows(t, s, "unique_values", id) }
		a, err := s.Create(ctx, meta, "vm", "a", map[string]any{"instance_uuid": "u1", "owner": "ops"})
		if err != nil {
			t.Fatal(err)
		}
		if a, err = s.Update(ctx, meta, a.ID, inventory.Patch{Version: a.Version, Attrs: map[string]any{"instance_uuid": "u2"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"instance_uuid=u2"}, held(a.ID)); diff != "" {
			t.Errorf("after the update (-want +got):\n%s", diff)
		}
		if _, err := s.Create(ctx, meta, "vm", "b", map[string]any{"instance_uuid": "u1"}); err != nil {
			t.Errorf("the value a gave up: %v", err)
		}
		if _, err := s.Create(ctx, meta, "vm", "c", map[string]any{"instance_uuid": "u2"}); err == nil {
			t.Error("a's new value was taken by another entry")
		}
		if a, err = s.Update(ctx, meta, a.ID, inventory.Patch{Version: a.Version, Attrs: map[string]any{"owner": "dev"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"instance_uuid=u2"}, held(a.ID)); diff != "" {
			t.Errorf("after an update of another attribute (-want +got):\n%s", diff)
		}
		if a, err = s.Delete(ctx, meta, a.ID, a.Version); err != nil {
			t.Fatal(err)
		}
		if got := held(a.ID); len(got) != 0 {
			t.Errorf("a deleted entry holds %v", got)
		}
		if _, err := s.Restore(ctx, meta, a.ID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"instance_uuid=u2"}, held(a.ID)); diff != "" {
			t.Errorf("after the restore (-want +got):\n%s", diff)
		}
	})
}

// TestReferrersOrderAndRepeats checks that back-references come in Find's
// order (names in byte order, whatever the database's collation) and
// that an entry naming a target twice in a list is one referrer.
func TestReferrersOrderAndRepeats(t *testing.T) {
	types := "types:\n  - name: service\n    attributes:\n      - {name: members, type: \"list:ref:vm\"}\n"
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			s := inventorytest.OpenWithTypes(t, inventorytest.DSN(t, d), types)
			items := []inventory.Item{{Type: "host", Name: "esx01"}}
			for _, name := range []string{"b", "B", "a10", "a-2", "Z", "a2"} {
				items = append(items, inventory.Item{Type: "vm", Name: name, Attrs: map[string]any{"host": "esx01"}})
			}
			items = append(items, inventory.Item{Type: "service", Name: "web", Attrs: map[string]any{"members": []any{"b", "Z", "b"}}})
			if _, err := s.Upsert(ctx, inventorytest.Meta("t"), items, inventory.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
			host, _ := s.GetByName(ctx, "host", "esx01")
			back, err := s.Referrers(ctx, "vm", "host", []int64{host.ID})
			if err != nil {
				t.Fatal(err)
			}
			page, err := s.Find(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "host", Op: inventory.OpRefID, Values: []any{host.ID}}}})
			if err != nil {
				t.Fatal(err)
			}
			names := func(es []*inventory.Entry) (out []string) {
				for _, e := range es {
					out = append(out, e.Name)
				}
				return out
			}
			want := []string{"B", "Z", "a-2", "a10", "a2", "b"}
			if diff := cmp.Diff(want, names(back[host.ID])); diff != "" {
				t.Errorf("back-references (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, names(page.Entries)); diff != "" {
				t.Errorf("search by reference (-want +got):\n%s", diff)
			}
			b, _ := s.GetByName(ctx, "vm", "b")
			back, err = s.Referrers(ctx, "service", "members", []int64{b.ID})
			if err != nil || len(back[b.ID]) != 1 {
				t.Errorf("services with b as member twice: %d, %v; want 1", len(back[b.ID]), err)
			}
		})
	}
}

// TestAttributeBecomesUnique checks a types change that makes an
// attribute unique: the values live entries hold are claimed (a deleted
// entry's are not), and two live entries with one value make the change
// fail, naming both, with nothing changed.
func TestAttributeBecomesUnique(t *testing.T) {
	plain := "types:\n  - name: service\n    attributes:\n      - {name: code, type: string}\n"
	unique := "types:\n  - name: service\n    attributes:\n      - {name: code, type: string, unique: true}\n"
	create := func(t *testing.T, s *inventory.Store, name, code string) error {
		_, err := s.Create(ctx, inventorytest.Meta("t"), "service", name, map[string]any{"code": code})
		return err
	}
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			s := inventorytest.OpenWithTypes(t, dsn, plain)
			for _, c := range [][2]string{{"web", "a"}, {"db", "b"}, {"old", "c"}} {
				if err := create(t, s, c[0], c[1]); err != nil {
					t.Fatal(err)
				}
			}
			old, _ := s.GetByName(ctx, "service", "old")
			if _, err := s.Delete(ctx, inventorytest.Meta("t"), old.ID, 0); err != nil {
				t.Fatal(err)
			}
			inventorytest.MustClose(t, s)

			s = inventorytest.OpenWithTypes(t, dsn, unique)
			if err := create(t, s, "web2", "a"); schema.ErrorCode(err) != schema.ECONFLICT {
				t.Errorf("a value a live entry held before the change: %v, want a conflict", err)
			}
			if err := create(t, s, "new", "c"); err != nil {
				t.Errorf("a value only a deleted entry held: %v", err)
			}
			if err := create(t, s, "dup", "b"); schema.ErrorCode(err) != schema.ECONFLICT {
				t.Fatalf("second holder: %v", err)
			}
			inventorytest.MustClose(t, s)

			// Back to plain: the values are free again; a duplicate then
			// blocks making the attribute unique once more.
			s = inventorytest.OpenWithTypes(t, dsn, plain)
			if err := create(t, s, "dup", "b"); err != nil {
				t.Fatalf("after unique was dropped: %v", err)
			}
			inventorytest.MustClose(t, s)
			ts, _ := schema.ParseTypes("types.yaml", []byte(unique))
			reg, _ := schema.NewRegistry(append(schema.Builtin(), ts...)...)
			s2, err := inventory.Open(ctx, dsn, reg, inventory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer inventorytest.MustClose(t, s2)
			err = s2.Migrate(ctx)
			if schema.ErrorCode(err) != schema.ECONFLICT || !strings.Contains(err.Error(), "service.code") ||
				!strings.Contains(err.Error(), "db and dup") {
				t.Fatalf("making a duplicated attribute unique: %v", err)
			}
			inventorytest.MustClose(t, s2)
			s = inventorytest.OpenWithTypes(t, dsn, plain)
			if n := rawCount(t, s, "SELECT COUNT(*) FROM unique_values"); n != 0 {
				t.Errorf("the failed change left %d unique values", n)
			}
		})
	}
}

// TestRenameChangesIndexing checks attributes renamed in the same types
// change that makes them unique, then secret and plain: the renamed
// attribute claims the values (a rename does not skip that), then frees
// them and leaves the search index under its new name.
func TestRenameChangesIndexing(t *testing.T) {
	v1 := "types:\n  - name: service\n    attributes:\n      - {name: code, type: string}\n"
	v2 := "types:\n  - name: service\n    attributes:\n      - {name: scode, type: string, unique: true, renamed_from: [code]}\n"
	v3 := "types:\n  - name: service\n    attributes:\n      - {name: key, type: string, secret: true, renamed_from: [scode]}\n"
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			s := inventorytest.OpenWithTypes(t, dsn, v1)
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "web", map[string]any{"code": "a"}); err != nil {
				t.Fatal(err)
			}
			inventorytest.MustClose(t, s)
			s = inventorytest.OpenWithTypes(t, dsn, v2)
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "x", map[string]any{"scode": "a"}); schema.ErrorCode(err) != schema.ECONFLICT {
				t.Errorf("renamed and made unique: a held value was accepted again (%v)", err)
			}
			inventorytest.MustClose(t, s)
			s = inventorytest.OpenWithTypes(t, dsn, v3)
			for table, want := range map[string]int{"unique_values": 0, "entry_values": 0} {
				if n := rawCount(t, s, "SELECT COUNT(*) FROM "+table+" WHERE type = 'service'"); n != want {
					t.Errorf("renamed, secret and no longer unique: %d %s rows, want %d", n, table, want)
				}
			}
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "y", map[string]any{"key": "a"}); err != nil {
				t.Errorf("a value freed by dropping unique: %v", err)
			}
		})
	}
}

// TestCheckReferences checks that the check run after every store test
// finds a reference to a missing entry, as the foreign keys did.
func TestCheckReferences(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 3)
		if err := s.CheckReferences(ctx); err != nil {
			t.Fatalf("a sound store: %v", err)
		}
		for _, bad := range []string{
			"INSERT INTO refs (to_id, attr, from_id, pos) VALUES (999999, 'host', (SELECT MIN(id) FROM entries), 0)",
			"INSERT INTO refs (to_id, attr, from_id, pos) VALUES ((SELECT MIN(id) FROM entries), 'host', 999999, 0)",
		} {
			if _, err := s.DB().ExecContext(ctx, bad); err != nil {
				t.Fatal(err)
			}
			err := s.CheckReferences(ctx)
			if err == nil || !strings.Contains(err.Error(), "999999") {
				t.Errorf("after %s: %v, want an error naming entry 999999", bad, err)
			}
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM refs WHERE to_id = 999999 OR from_id = 999999"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPlannedReadLeavesConnectionClean checks that a failed back-reference
// read on PostgreSQL, whose pipeline skips its COMMIT, leaves its pooled
// connection outside any transaction and with the default planning.
func TestPlannedReadLeavesConnectionClean(t *testing.T) {
	s := inventorytest.Open(t, "postgres")
	seed(t, s, 4)
	s.DB().SetMaxOpenConns(1) // the next statements get the same connection
	if err := inventory.SelectPlanned(ctx, s, "SELECT 1 / (id - id) FROM entries"); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("a bad query: %v, want its error", err)
	}
	var mode string
	if err := s.DB().GetContext(ctx, &mode, "SHOW plan_cache_mode"); err != nil || mode != "auto" {
		t.Fatalf("plan_cache_mode after the failed read: %q, %v; want auto", mode, err)
	}
	host, err := s.GetByName(ctx, "host", "esx01")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Referrers(ctx, "vm", "host", []int64{host.ID}); err != nil || len(m[host.ID]) != 2 {
		t.Fatalf("back-references after the failed read: %d, %v; want 2", len(m[host.ID]), err)
	}
}
