package inventory_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/migrations"
)

// rawOf reads one entry with EachRaw, as a map of its stored attributes
// and its references by attribute.
func rawOf(t *testing.T, s *inventory.Store, typ, name string) (map[string]any, map[string][]string) {
	t.Helper()
	var attrs map[string]any
	var refs map[string][]string
	err := s.EachRaw(ctx, typ, func(e *inventory.RawEntry) error {
		if e.Name != name {
			return nil
		}
		refs = map[string][]string{}
		for _, r := range e.Refs {
			refs[r.Attr] = append(refs[r.Attr], r.Name)
		}
		return json.Unmarshal([]byte(e.Attrs), &attrs)
	})
	if err != nil {
		t.Fatal(err)
	}
	return attrs, refs
}

// TestEachRawKeepsReferencesInStep checks that entries.ref_ids, read by
// EachRaw, follows every write of references: create, update, delete and
// restore (which keep them), and an attribute rename.
func TestEachRawKeepsReferencesInStep(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			open := func(vmsAttr string, renamed string) *inventory.Store {
				y := "types:\n  - name: service\n    attributes:\n      - {name: port, type: integer}\n      - {name: " + vmsAttr + `, type: "list:ref:vm"` + renamed + "}\n      - {name: lead, type: \"ref:vm\"}\n"
				return inventorytest.OpenWithTypes(t, dsn, y)
			}
			s := open("vms", "")
			seed(t, s, 3)
			web, err := s.Create(ctx, inventorytest.Meta("t"), "service", "web", map[string]any{"port": 443, "vms": []any{"vm002", "vm000"}, "lead": "vm001"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, inventorytest.Meta("t"), "service", "empty", map[string]any{"vms": []any{}}); err != nil {
				t.Fatal(err)
			}
			check := func(name string, wantAttrs map[string]any, wantRefs map[string][]string) {
				t.Helper()
				attrs, refs := rawOf(t, s, "service", name)
				if diff := cmp.Diff(wantAttrs, attrs); diff != "" {
					t.Errorf("%s attrs (-want +got):\n%s", name, diff)
				}
				if diff := cmp.Diff(wantRefs, refs); diff != "" {
					t.Errorf("%s refs (-want +got):\n%s", name, diff)
				}
			}
			check("web", map[string]any{"port": 443.0}, map[string][]string{"vms": {"vm002", "vm000"}, "lead": {"vm001"}})
			check("empty", map[string]any{"vms": []any{}}, map[string][]string{})

			web, err = s.Update(ctx, inventorytest.Meta("t"), web.ID, inventory.Patch{Version: web.Version, Attrs: map[string]any{"vms": []any{"vm001"}, "lead": nil}})
			if err != nil {
				t.Fatal(err)
			}
			check("web", map[string]any{"port": 443.0}, map[string][]string{"vms": {"vm001"}})

			if _, err := s.Delete(ctx, inventorytest.Meta("t"), web.ID, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Restore(ctx, inventorytest.Meta("t"), web.ID); err != nil {
				t.Fatal(err)
			}
			check("web", map[string]any{"port": 443.0}, map[string][]string{"vms": {"vm001"}})

			inventorytest.MustClose(t, s)
			s = open("members", ", renamed_from: [vms]")
			check("web", map[string]any{"port": 443.0}, map[string][]string{"members": {"vm001"}})
			e, err := s.GetByName(ctx, "service", "web")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"port": int64(443), "members": []any{"vm001"}}, e.Attrs); diff != "" {
				t.Errorf("Get after rename (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEachRawOrderAndAttrs checks EachRaw against Each: same entries, in
// the same (name) order, same attributes.
func TestEachRawOrderAndAttrs(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 1200) // more than one batch
		var want, got []string
		wantAttrs := map[string]map[string]any{}
		if err := s.Each(ctx, "vm", func(e *inventory.Entry) error {
			want = append(want, e.Name)
			wantAttrs[e.Name] = e.Attrs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		err := s.EachRaw(ctx, "vm", func(e *inventory.RawEntry) error {
			got = append(got, e.Name)
			var m map[string]any
			if err := json.Unmarshal([]byte(e.Attrs), &m); err != nil {
				return err
			}
			for _, r := range e.Refs {
				m[r.Attr] = r.Name
			}
			if m["cpus"] != float64(wantAttrs[e.Name]["cpus"].(int64)) || m["host"] != wantAttrs[e.Name]["host"] || m["ip"] != wantAttrs[e.Name]["ip"] {
				t.Errorf("%s: raw %v, Each %v", e.Name, m, wantAttrs[e.Name])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EachRaw order (-Each +EachRaw):\n%s", diff)
		}
	})
}

// TestRefIDsMigrationBackfills checks migration 0004: rolled back and
// applied again, it rebuilds entries.ref_ids from refs.
func TestRefIDsMigrationBackfills(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 5)
		refsOf := func() map[string][]inventory.RawRef {
			out := map[string][]inventory.RawRef{}
			for _, typ := range []string{"cluster", "host", "vm"} {
				err := s.EachRaw(ctx, typ, func(e *inventory.RawEntry) error {
					out[e.Name] = append([]inventory.RawRef(nil), e.Refs...)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		want := refsOf()
		if len(want["vm003"]) != 1 || want["vm003"][0].Name != "esx02" {
			t.Fatalf("vm003 refs before: %v", want["vm003"])
		}
		if err := migrations.DownTo(ctx, s.DB().DB, s.Dialect(), 3); err != nil {
			t.Fatal(err)
		}
		if _, err := migrations.Up(ctx, s.DB().DB, s.Dialect()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, refsOf()); diff != "" {
			t.Errorf("refs after re-applying 0004 (-before +after):\n%s", diff)
		}
	})
}
