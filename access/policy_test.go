package access_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

var ctx = context.Background()

// grant stores a grant: where is "attr=value" conditions.
func grant(t *testing.T, s *inventory.Store, subject, level, typ, attr string, where ...string) {
	t.Helper()
	var fs []inventory.Filter
	for _, w := range where {
		a, v, _ := strings.Cut(w, "=")
		fs = append(fs, inventory.Filter{Attr: a, Op: inventory.OpEq, Values: []any{v}})
	}
	rec := &inventory.GrantRecord{Subject: subject, Level: level, Type: typ, Attr: attr, CreatedBy: "test"}
	if len(fs) > 0 {
		b, _ := json.Marshal(fs)
		rec.Filter = string(b)
	}
	if err := s.AddGrant(ctx, inventory.By{Actor: "test"}, rec, "test grant"); err != nil {
		t.Fatal(err)
	}
}

// The self-service rule: teams edit the VMs they own, see the others;
// owner is for admins to set; nobody but admins sees a secret.
func seedPolicy(t *testing.T, s *inventory.Store) {
	grant(t, s, "anyone", "read", "vm", "")
	grant(t, s, "team:web", "write", "vm", "", "owner=$team")
	grant(t, s, "team:db", "write", "vm", "", "owner=$team")
	grant(t, s, "anyone", "read", "vm", "owner")
	grant(t, s, "team:web", "none", "vm", "", "role=quarantined")
	for _, vm := range []struct{ name, owner, role string }{
		{"web01", "web", "frontend"}, {"web02", "web", "quarantined"}, {"db01", "db", "database"}, {"mail01", "", "mail"},
	} {
		attrs := map[string]any{"cpus": 2, "role": vm.role}
		if vm.owner != "" {
			attrs["owner"] = vm.owner
		}
		if _, err := s.Create(ctx, inventorytest.Meta("admin"), "vm", vm.name, attrs); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEffectiveLevels(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seedPolicy(t, s)
		p, err := access.LoadPolicy(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		web := p.For(&access.Principal{Kind: "user", Name: "alice", User: "alice", Teams: []string{"web"}})
		db := p.For(&access.Principal{Kind: "user", Name: "bob", User: "bob", Teams: []string{"db"}})
		nobody := p.For(&access.Principal{Kind: "user", Name: "eve", User: "eve"})
		admin := p.For(&access.Principal{Kind: "token", Name: "root", Role: "admin"})
		get := func(name string) *inventory.Entry {
			en, err := s.GetByName(ctx, "vm", name)
			if err != nil {
				t.Fatal(err)
			}
			return en
		}
		cases := []struct {
			who   *access.Access
			vm    string
			attr  string
			level access.Level
		}{
			{web, "web01", "", access.Write},
			{web, "web01", "cpus", access.Write},
			{web, "web01", "owner", access.Read}, // the attribute grant is more specific than the entry grant
			{web, "db01", "", access.Read},
			{db, "db01", "", access.Write},
			{db, "web01", "cpus", access.Read},
			{nobody, "mail01", "", access.Read},
			{nobody, "web01", "cpus", access.Read},
			{admin, "web02", "owner", access.Admin},
		}
		for _, c := range cases {
			en := get(c.vm)
			var got access.Level
			if c.attr == "" {
				got = c.who.EntryLevel(en)
			} else {
				got = c.who.AttrLevel(en, c.attr)
			}
			if got != c.level {
				t.Errorf("%s on %s.%s: %s, want %s", c.who.Principal().Name, c.vm, c.attr, got, c.level)
			}
		}
		// Two entry grants of one tier that match: the higher level wins.
		if got := web.EntryLevel(get("web02")); got != access.Write {
			t.Errorf("web on web02 (owner=web: write, role=quarantined: none): %s, want write", got)
		}
	})
}

// TestRowsAgreeWithEntryLevel: the SQL the evaluator hands the store keeps
// exactly the entries whose level, evaluated in Go, is high enough — for
// every persona and level.
func TestRowsAgreeWithEntryLevel(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seedPolicy(t, s)
		grant(t, s, "team:ops", "read", "vm", "", "role=mail")
		grant(t, s, "team:ops", "none", "vm", "")
		p, err := access.LoadPolicy(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Find(ctx, inventory.Query{Type: "vm"})
		if err != nil {
			t.Fatal(err)
		}
		personas := []*access.Principal{
			{Kind: "user", User: "alice", Teams: []string{"web"}},
			{Kind: "user", User: "bob", Teams: []string{"db", "web"}},
			{Kind: "user", User: "olga", Teams: []string{"ops"}},
			{Kind: "user", User: "eve"},
			{Kind: "token", Role: "reader"},
			{Kind: "token", Role: "writer"},
			{Kind: "anonymous"},
		}
		for _, pr := range personas {
			a := p.For(pr)
			for _, need := range []access.Level{access.Read, access.Write} {
				page, err := s.Find(ctx, inventory.Query{Type: "vm", Access: a.Rows("vm", need)})
				if err != nil {
					t.Fatal(err)
				}
				var got, want []string
				for _, en := range page.Entries {
					got = append(got, en.Name)
				}
				for _, en := range all.Entries {
					if a.EntryLevel(en) >= need {
						want = append(want, en.Name)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%+v at %s: the store kept %v, Go says %v", pr, need, got, want)
				}
			}
		}
	})
}
