package access_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestGuard: every write goes through the principal's guard in the
// store's transaction — what it refuses changes nothing and names the
// attribute; what the principal cannot see it cannot change, and a write
// that does not name it keeps it (netbox #18987).
func TestGuard(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seedPolicy(t, s)
		grant(t, s, "team:web", "none", "vm", "annotation")
		p, err := access.LoadPolicy(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		alice := p.For(&access.Principal{Kind: "user", Name: "alice", User: "alice", Teams: []string{"web"}})
		reader := p.For(&access.Principal{Kind: "token", Name: "ro", Role: "reader"})
		get := func(name string) *inventory.Entry {
			t.Helper()
			en, err := s.GetByName(ctx, "vm", name)
			if err != nil {
				t.Fatal(err)
			}
			return en
		}
		web01 := get("web01")
		if _, err := s.Update(ctx, inventorytest.Meta("admin"), web01.ID, inventory.Patch{Version: web01.Version, Attrs: map[string]any{"annotation": "backed up nightly"}}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			who   *access.Access
			write func(context.Context, *inventory.Store) error
			field string // "" allowed, else refused naming it ("-": no field)
		}{
			{"own vm's cpus", alice, update("web01", map[string]any{"cpus": 4}), ""},
			{"other team's vm", alice, update("db01", map[string]any{"cpus": 4}), "cpus"},
			{"owner is admins'", alice, update("web01", map[string]any{"owner": "db"}), "owner"},
			{"hidden attribute", alice, update("web01", map[string]any{"annotation": "x"}), "annotation"},
			{"rename other's", alice, rename("db01", "db99"), "name"},
			{"create unowned", alice, create("web09", map[string]any{"cpus": 1}), "-"},
			{"delete other's", alice, remove("db01"), "-"},
			{"reader writes", reader, update("mail01", map[string]any{"cpus": 8}), "cpus"},
			{"upsert own, unnamed hidden kept", alice, upsert("web01", map[string]any{"cpus": 6, "role": "frontend"}), ""},
		}
		for _, c := range cases {
			before := state(t, s)
			err := c.write(inventory.WithWriteGuard(ctx, c.who.Guard()), s)
			switch {
			case c.field == "" && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.field != "" && schema.ErrorCode(err) != schema.EFORBIDDEN:
				t.Errorf("%s: got %v, want FORBIDDEN", c.name, err)
			case c.field != "" && c.field != "-" && schema.ErrorField(err) != c.field:
				t.Errorf("%s: the error names %q, want %q: %v", c.name, schema.ErrorField(err), c.field, err)
			case c.field != "" && state(t, s) != before:
				t.Errorf("%s: refused, yet the store changed", c.name)
			}
		}
		if got := get("web01"); got.Attrs["annotation"] != "backed up nightly" || got.Attrs["owner"] != "web" || got.Attrs["cpus"] != int64(6) {
			t.Errorf("web01 after alice's writes: %v; want annotation and owner kept, cpus 6", got.Attrs)
		}
	})
}

// state is every vm with its version and attributes.
func state(t *testing.T, s *inventory.Store) string {
	t.Helper()
	page, err := s.Find(ctx, inventory.Query{Type: "vm", IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, en := range page.Entries {
		out += fmt.Sprintf("%s %d %s %v\n", en.Name, en.Version, en.Status, en.Attrs)
	}
	return out
}

var meta = inventorytest.Meta("guarded")

func update(name string, attrs map[string]any) func(context.Context, *inventory.Store) error {
	return func(c context.Context, s *inventory.Store) error {
		en, err := s.GetByName(c, "vm", name)
		if err != nil {
			return err
		}
		_, err = s.Update(c, meta, en.ID, inventory.Patch{Version: en.Version, Attrs: attrs})
		return err
	}
}

func rename(name, to string) func(context.Context, *inventory.Store) error {
	return func(c context.Context, s *inventory.Store) error {
		en, err := s.GetByName(c, "vm", name)
		if err != nil {
			return err
		}
		_, err = s.Update(c, meta, en.ID, inventory.Patch{Version: en.Version, Name: &to})
		return err
	}
}

func create(name string, attrs map[string]any) func(context.Context, *inventory.Store) error {
	return func(c context.Context, s *inventory.Store) error {
		_, err := s.Create(c, meta, "vm", name, attrs)
		return err
	}
}

func remove(name string) func(context.Context, *inventory.Store) error {
	return func(c context.Context, s *inventory.Store) error {
		en, err := s.GetByName(c, "vm", name)
		if err != nil {
			return err
		}
		_, err = s.Delete(c, meta, en.ID, en.Version)
		return err
	}
}

func upsert(name string, attrs map[string]any) func(context.Context, *inventory.Store) error {
	return func(c context.Context, s *inventory.Store) error {
		_, err := s.Upsert(c, meta, []inventory.Item{{Type: "vm", Name: name, Attrs: attrs}}, inventory.UpsertOptions{})
		return err
	}
}
