package allocate_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestPoolsUsage: every pool's size, granted, held and free values; a
// name pool with no end has no size; a template's variants fill on their
// own; a pool that cannot hand out anything (a name_pool named as an
// ip_pool is one) says why. Allocations lists
// a pool's, live or all.
func TestPoolsUsage(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/29"}) // 6 addresses
		mustCreate(t, s, "name_pool", "web", map[string]any{"template": "web{seq:03}"})
		mustCreate(t, s, "name_pool", "db", map[string]any{"template": "{env}-db{seq:02}", "end": 5})
		mustCreate(t, s, "name_pool", "bad", map[string]any{"template": "web"})
		mustCreate(t, s, "ip_pool", "left", map[string]any{"cidr": "198.51.100.0/24"})
		mustCreate(t, s, "ip_pool", "right", map[string]any{"cidr": "198.51.100.128/25"})
		mustCreate(t, s, "ip_pool", "twin", map[string]any{"cidr": "203.0.113.0/30"})
		mustCreate(t, s, "name_pool", "twin", map[string]any{"template": "twin{seq}"})
		a := allocate.New(s, allocate.Options{})
		for _, r := range []allocate.Request{
			{Pool: "lab", Count: 2},
			{Pool: "lab", Hold: time.Hour},
			{Pool: "lab", Hold: time.Millisecond}, // over by the time Pools counts
			{Pool: "web"},
			{Pool: "db", Count: 3, Vars: map[string]string{"env": "prod"}},
			{Pool: "db", Vars: map[string]string{"env": "test"}},
		} {
			if _, err := a.Allocate(ctx, r); err != nil {
				t.Fatalf("%+v: %v", r, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
		got, err := a.Pools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []allocate.PoolUsage{
			{Name: "bad", Type: "name_pool", Problem: `template: "web" must hold {seq} exactly once (it holds it 0 times), e.g. web{seq:03}`},
			{Name: "db", Type: "name_pool", Size: 5, Granted: 4, Free: 2},
			{Name: "lab", Type: "ip_pool", Size: 6, Granted: 2, Held: 1, Free: 3},
			{Name: "left", Type: "ip_pool", Problem: "cidr: 198.51.100.0/24 overlaps pool right (198.51.100.128/25): an address would have two pools"},
			{Name: "right", Type: "ip_pool", Problem: "cidr: 198.51.100.128/25 overlaps pool left (198.51.100.0/24): an address would have two pools"},
			{Name: "twin", Type: "ip_pool", Size: 2, Free: 2},
			{Name: "twin", Type: "name_pool", Problem: "an ip_pool is named twin too: allocate reaches that one"},
			{Name: "web", Type: "name_pool", Size: -1, Granted: 1, Free: -1},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pools (-want +got):\n%s", d)
		}
		if u, ok := got[2].Utilisation(); !ok || u != 0.5 {
			t.Errorf("lab's utilisation: %v, %v", u, ok)
		}
		for _, c := range []struct {
			live  bool
			limit int
			want  int
		}{{true, 0, 3}, {false, 0, 4}, {false, 2, 2}} {
			if as, err := a.Allocations(ctx, "lab", c.live, c.limit); err != nil || len(as) != c.want {
				t.Errorf("lab's allocations (live %v, limit %d): %d, %v; want %d", c.live, c.limit, len(as), err, c.want)
			}
		}
		if _, err := a.Allocations(ctx, "nosuch", false, 0); schema.ErrorCode(err) != schema.ENOTFOUND || schema.ErrorField(err) != "pool" {
			t.Errorf("allocations of no pool: %v", err)
		}
		for _, i := range []int{0, 7} {
			if _, ok := got[i].Utilisation(); ok {
				t.Errorf("%s has a utilisation", got[i].Name)
			}
		}
	})
}
