package inventory_test

import (
	"context"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestUnchangedResultHasID: an upsert that changes nothing still names the
// entry it matched (callers bind objects to it and set its status).
func TestUnchangedResultHasID(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		en, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "web1", map[string]any{"cpus": 2})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := s.Upsert(ctx, inventorytest.Meta("t"), []inventory.Item{{Type: "vm", Name: "web1", Attrs: map[string]any{"cpus": 2}}}, inventory.UpsertOptions{})
		if err != nil || len(rs) != 1 || rs[0].Op != inventory.OpUnchanged || rs[0].ID != en.ID {
			t.Fatalf("unchanged upsert = %+v, %v; want op unchanged, id %d", rs, err, en.ID)
		}
	})
}
