package inventory_test

import (
	"errors"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestRenamesReachCachedNames checks that reads naming references from
// the store's name cache see every committed rename, whether this store
// or another process (a second store on the same database) made it, and
// never a rename that rolled back.
func TestRenamesReachCachedNames(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			reg, err := schema.NewRegistry(schema.Builtin()...)
			if err != nil {
				t.Fatal(err)
			}
			dsn := inventorytest.DSN(t, d)
			s := inventorytest.OpenWith(t, dsn, reg)
			other := inventorytest.OpenWith(t, dsn, reg)
			seed(t, s, 2) // vm000 on esx01, vm001 on esx02
			vm, _ := s.GetByName(ctx, "vm", "vm000")
			host, _ := s.GetByName(ctx, "host", "esx01")

			// hostSeen reads vm000's host by every read that names references.
			hostSeen := func(want string) {
				t.Helper()
				got := map[string]any{}
				if e, err := s.Get(ctx, vm.ID); err == nil {
					got["Get"] = e.Attrs["host"]
				}
				if m, err := s.GetMany(ctx, []int64{vm.ID}); err == nil {
					got["GetMany"] = m[vm.ID].Attrs["host"]
				}
				if p, err := s.Find(ctx, inventory.Query{Type: "vm", Filters: []inventory.Filter{{Attr: "name", Op: inventory.OpEq, Values: []any{"vm000"}}}}); err == nil && len(p.Entries) == 1 {
					got["Find"] = p.Entries[0].Attrs["host"]
				}
				if m, err := s.Referrers(ctx, "vm", "host", []int64{host.ID}); err == nil && len(m[host.ID]) == 1 {
					got["Referrers"] = m[host.ID][0].Attrs["host"]
				}
				for _, read := range []string{"Get", "GetMany", "Find", "Referrers"} {
					if got[read] != want {
						t.Errorf("%s: host = %v, want %q", read, got[read], want)
					}
				}
			}
			hostSeen("esx01") // and cached

			rename := func(st *inventory.Store, id int64, name string) {
				t.Helper()
				if _, err := st.Update(ctx, inventorytest.Meta("t"), id, inventory.Patch{Name: &name}); err != nil {
					t.Fatal(err)
				}
			}
			rename(s, host.ID, "esx01-a")
			hostSeen("esx01-a")
			rename(other, host.ID, "esx01-b")
			hostSeen("esx01-b")

			// A rename that rolls back is never seen, not even by a read
			// inside its transaction filling the cache.
			errUndo := errors.New("undo")
			err = s.InTx(ctx, func(tx *inventory.Tx) error {
				name := "esx01-c"
				if _, err := tx.Update(ctx, inventorytest.Meta("t"), host.ID, inventory.Patch{Name: &name}); err != nil {
					return err
				}
				// Update reads vm000 back inside the transaction.
				e, err := tx.Update(ctx, inventorytest.Meta("t"), vm.ID, inventory.Patch{Attrs: map[string]any{"cpus": 3}})
				if err != nil || e.Attrs["host"] != "esx01-c" {
					t.Errorf("inside the transaction: %v, %v", e, err)
				}
				return errUndo
			})
			if !errors.Is(err, errUndo) {
				t.Fatal(err)
			}
			hostSeen("esx01-b")

			// Another entry renamed elsewhere moves the epoch on; names
			// read since stay right.
			other2, _ := other.GetByName(ctx, "host", "esx02")
			rename(other, other2.ID, "esx02-a")
			hostSeen("esx01-b")
			vm1, _ := s.GetByName(ctx, "vm", "vm001")
			if vm1.Attrs["host"] != "esx02-a" {
				t.Errorf("vm001 host = %v, want esx02-a", vm1.Attrs["host"])
			}
		})
	}
}
