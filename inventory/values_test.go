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
)

// valueRows lists an entry's search rows as "attr=value".
func valueRows(t *testing.T, s *inventory.Store, id int64) []string {
	t.Helper()
	var rows []string
	err := s.DB().SelectContext(ctx, &rows, s.DB().Rebind("SELECT attr || '=' || value FROM entry_values WHERE entry_id = ?"), id)
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
		if diff := cmp.Diff(want, valueRows(t, s, a.ID)); diff != "" {
			t.Errorf("search rows of a (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"ip=10.0.0.9", "macs=00:50:56:00:00:01", "owner=ops"}, valueRows(t, s, b.ID)); diff != "" {
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
			s.Close()

			s = inventorytest.OpenWithTypes(t, dsn, without)
			if n := siteRows(s); n != 0 {
				t.Errorf("removed attribute: %d search rows left", n)
			}
			s.Close()

			s = inventorytest.OpenWithTypes(t, dsn, with)
			if n := count(t, s, bySite); n != 3 {
				t.Errorf("attribute added back: %d entries found by it, want 3", n)
			}
			s.Close()

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

// TestValueKeyMigration checks migration 0005 both ways: the search rows
// survive being re-keyed, and back.
func TestValueKeyMigration(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 20)
		rows := func() string {
			var all []string
			err := s.DB().SelectContext(ctx, &all, "SELECT entry_id || ' ' || type || ' ' || attr || ' ' || value || ' ' || COALESCE(CAST(num AS TEXT), '-') FROM entry_values ORDER BY 1")
			if err != nil {
				t.Fatal(err)
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
			t.Errorf("rows after rolling back 0005 (-before +after):\n%s", diff)
		}
		if _, err := migrations.Up(ctx, s.DB().DB, s.Dialect()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, rows()); diff != "" {
			t.Errorf("rows after re-applying 0005 (-before +after):\n%s", diff)
		}
		q := inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "ip", Op: inventory.OpEq, Values: []any{"10.0.0.20"}}}}
		if n := count(t, s, q); n != 1 {
			t.Errorf("search after the migrations: %d entries, want 1", n)
		}
	})
}
