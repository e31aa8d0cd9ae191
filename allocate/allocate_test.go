package allocate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

var ctx = context.Background()

func mustCreate(t *testing.T, s *inventory.Store, typ, name string, attrs map[string]any) *inventory.Entry {
	t.Helper()
	en, err := s.Create(ctx, inventorytest.Meta("admin"), typ, name, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

// TestStormGrantsEachAddressOnce: 64 clients on each of two store handles
// (two replicas) ask one pool of 254 addresses for one address each until
// it is exhausted. Every address is granted exactly once; the next
// request is told the pool is exhausted, with its size.
func TestStormGrantsEachAddressOnce(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, _ string, s1, s2 *inventory.Store) {
		mustCreate(t, s1, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/24"})
		allocs := []*allocate.Allocator{allocate.New(s1, allocate.Options{}), allocate.New(s2, allocate.Options{})}
		var mu sync.Mutex
		granted := map[string]int{}
		exhausted := 0
		var wg sync.WaitGroup
		for i := range 128 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := allocs[i%2]
				for {
					g, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Actor: fmt.Sprintf("client%d", i)})
					mu.Lock()
					switch {
					case schema.ErrorCode(err) == schema.EEXHAUSTED:
						exhausted++
					case err != nil:
						t.Errorf("client %d: %v", i, err)
					default:
						granted[g.Values[0]]++
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(granted) != 254 || exhausted != 128 {
			t.Fatalf("%d addresses granted, %d clients told exhausted", len(granted), exhausted)
		}
		for v, n := range granted {
			if n != 1 {
				t.Errorf("%s granted %d times", v, n)
			}
		}
		_, err := allocs[0].Allocate(ctx, allocate.Request{Pool: "lab"})
		if schema.ErrorCode(err) != schema.EEXHAUSTED || !strings.Contains(err.Error(), "pool lab (254 values) is exhausted") {
			t.Fatalf("the 255th: %v", err)
		}
	})
}

// TestKeysMakeRequestsIdempotent: a retry with the same key gets the same
// grant back, never a second; the key of a released grant grants nothing
// again; a different request under a used key is refused.
func TestKeysMakeRequestsIdempotent(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/24"})
		a := allocate.New(s, allocate.Options{})
		first, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Key: "ticket-42", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			again, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Key: "ticket-42", Count: 2})
			if err != nil || !again.Replayed || !slices.Equal(again.Values, first.Values) {
				t.Fatalf("retry: %+v, %v (first %v)", again, err, first.Values)
			}
		}
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Key: "ticket-42", Count: 3}); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("another request under the key: %v", err)
		}
		if _, err := a.Release(ctx, "lab", "ticket-42", nil, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Key: "ticket-42", Count: 2}); schema.ErrorCode(err) != schema.ECONFLICT ||
			!strings.Contains(err.Error(), "was released") {
			t.Fatalf("the key of a released grant: %v", err)
		}
		other, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Key: "ticket-43"})
		if err != nil || slices.Contains(first.Values, other.Values[0]) {
			t.Fatalf("a new key: %+v, %v (released values come back only after the pool wraps)", other, err)
		}
	})
}

// TestHoldsExpire: held values return to the pool when their hold ends,
// unless confirmed.
func TestHoldsExpire(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "tiny", map[string]any{"cidr": "192.0.2.0/30"}) // .1 and .2
		a := allocate.New(s, allocate.Options{})
		held, err := a.Allocate(ctx, allocate.Request{Pool: "tiny", Key: "a", Hold: 300 * time.Millisecond})
		if err != nil || held.Status != inventory.AllocHeld || held.ExpiresAt == nil {
			t.Fatalf("hold: %+v, %v", held, err)
		}
		kept, err := a.Allocate(ctx, allocate.Request{Pool: "tiny", Key: "b", Hold: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Confirm(ctx, "tiny", "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "tiny"}); schema.ErrorCode(err) != schema.EEXHAUSTED {
			t.Fatalf("while both are held: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
		g, err := a.Allocate(ctx, allocate.Request{Pool: "tiny"})
		if err != nil || g.Values[0] != held.Values[0] {
			t.Fatalf("after the hold ended: %+v, %v; want %v", g, err, held.Values)
		}
		if _, err := a.Confirm(ctx, "tiny", "a"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("confirming an expired hold: %v", err)
		}
		if g, err := a.Allocate(ctx, allocate.Request{Pool: "tiny", Key: "b"}); err != nil || g.Values[0] != kept.Values[0] || g.Status != inventory.AllocGranted {
			t.Fatalf("the confirmed grant: %+v, %v", g, err)
		}
	})
}

// TestNamePools: names made by hand are skipped, with the reason; each
// variant of a template numbers on its own; an entry is created per name;
// a serial pool fills an attribute.
func TestNamePools(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "name_pool", "web", map[string]any{"template": "web{seq:03}"})
		mustCreate(t, s, "name_pool", "db", map[string]any{"template": "{env}-db{seq:02}", "end": 2})
		mustCreate(t, s, "vm", "web002", nil) // made by hand
		a := allocate.New(s, allocate.Options{})
		g, err := a.Allocate(ctx, allocate.Request{Pool: "web", Count: 2, For: "vm"})
		if err != nil || !slices.Equal(g.Values, []string{"web001", "web003"}) || len(g.Skipped) != 1 ||
			!strings.Contains(g.Skipped[0].Reason, "vm web002 is named so") || !slices.Equal(g.For, []string{"vm/web001", "vm/web003"}) {
			t.Fatalf("names: %+v, %v", g, err)
		}
		if _, err := s.GetByName(ctx, "vm", "web003"); err != nil {
			t.Fatalf("no entry for the granted name: %v", err)
		}
		for _, env := range []string{"prod", "test"} {
			g, err := a.Allocate(ctx, allocate.Request{Pool: "db", Count: 2, Vars: map[string]string{"env": env}})
			if err != nil || !slices.Equal(g.Values, []string{env + "-db01", env + "-db02"}) {
				t.Fatalf("%s: %+v, %v", env, g, err)
			}
		}
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "db", Vars: map[string]string{"env": "prod"}}); schema.ErrorCode(err) != schema.EEXHAUSTED {
			t.Fatalf("past the end: %v", err)
		}
	})
}

// TestBadRequestsChangeNothing: each refusal names what is wrong and
// leaves the store as it was.
func TestBadRequestsChangeNothing(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/24"})
		mustCreate(t, s, "ip_pool", "wide", map[string]any{"cidr": "192.0.0.0/16"})
		mustCreate(t, s, "ip_pool", "nozone", map[string]any{"cidr": "198.51.100.0/24"})
		mustCreate(t, s, "name_pool", "fixed", map[string]any{"template": "web"})
		mustCreate(t, s, "vm", "web01", nil)
		mustCreate(t, s, "vm", "hasip", map[string]any{"ip": "203.0.113.9"})
		a := allocate.New(s, allocate.Options{})
		cases := []struct {
			req  allocate.Request
			want string
		}{
			{allocate.Request{Pool: "nosuch"}, `pool: no ip_pool or name_pool named "nosuch"`},
			{allocate.Request{Pool: "lab", Count: -1}, "count: want 1 to 256 values, got -1"},
			{allocate.Request{Pool: "lab", Count: 300}, "count: want 1 to 256 values, got 300"},
			{allocate.Request{Pool: "wide"}, "cidr: pool wide (192.0.0.0/16) overlaps pool lab (192.0.2.0/24)"},
			{allocate.Request{Pool: "fixed"}, `template: "web" must hold {seq} exactly once`},
			{allocate.Request{Pool: "nozone", For: "vm/web01", DNS: true}, "dns: --dns needs an ip_pool with a zone"},
			{allocate.Request{Pool: "nozone", For: "vm"}, "for: name the entry the value is for: vm/NAME"},
			{allocate.Request{Pool: "nozone", For: "nosuch/x"}, `for: "nosuch/x": unknown entity type "nosuch"`},
			{allocate.Request{Pool: "nozone", For: "vm/web01", Count: 2}, "count: one entry (vm/web01) takes one value, not 2"},
			{allocate.Request{Pool: "nozone", For: "vm/hasip"}, "for: vm/hasip has ip 203.0.113.9 already: a grant is for an entry without one"},
		}
		for _, c := range cases {
			if _, err := a.Allocate(ctx, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want %q", c.req, err, c.want)
			}
		}
		if as, err := s.Allocations(ctx, inventory.AllocationFilter{}); err != nil || len(as) != 0 {
			t.Fatalf("allocations after refusals: %v, %v", as, err)
		}
		// A second address for an entry that has one from the pool would leak the first.
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "nozone", For: "vm/web01"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "nozone", For: "vm/web01"}); schema.ErrorCode(err) != schema.ECONFLICT ||
			!strings.Contains(err.Error(), "already has 198.51.100.1 from pool nozone") {
			t.Fatalf("a second address for web01: %v", err)
		}
	})
}

// TestAddressesRealityHolds: an address an entry has — a VM's address or
// one of its addresses, an A record's value, a PTR record's name — is
// skipped, saying which entry holds it; the rest of the pool is granted.
func TestAddressesRealityHolds(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/29"}) // .1 to .6
		mustCreate(t, s, "vm", "web1", map[string]any{"ip": "192.0.2.1"})
		mustCreate(t, s, "vm", "web2", map[string]any{"ips": []any{"192.0.2.4"}})
		mustCreate(t, s, "dns_zone", "example.com.", map[string]any{"zone": "example.com."})
		mustCreate(t, s, "dns_zone", "2.0.192.in-addr.arpa.", map[string]any{"zone": "2.0.192.in-addr.arpa."})
		mustCreate(t, s, "dns_record", "db.example.com. A", map[string]any{"zone": "example.com.", "fqdn": "db.example.com.", "rtype": "A", "value": "192.0.2.2"})
		mustCreate(t, s, "dns_record", "3.2.0.192.in-addr.arpa. PTR", map[string]any{"zone": "2.0.192.in-addr.arpa.",
			"fqdn": "3.2.0.192.in-addr.arpa.", "rtype": "PTR", "value": "old.example.com."})
		a := allocate.New(s, allocate.Options{})
		g, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Count: 2})
		if err != nil || !slices.Equal(g.Values, []string{"192.0.2.5", "192.0.2.6"}) {
			t.Fatalf("grant: %+v, %v", g, err)
		}
		want := []string{
			"192.0.2.1: vm web1 has it (ip), in the store",
			"192.0.2.2: dns_record db.example.com. A has it (value), in the store",
			"192.0.2.3: dns_record 3.2.0.192.in-addr.arpa. PTR has it (fqdn), in the store",
			"192.0.2.4: vm web2 has it (ips), in the store",
		}
		var got []string
		for _, sk := range g.Skipped {
			got = append(got, sk.Value+": "+sk.Reason)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("skipped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestWrappedPoolReusesReleasedPlaces: once every address of a pool was
// handed out, released ones come back from the start of the pool, the
// first gap first.
func TestWrappedPoolReusesReleasedPlaces(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		mustCreate(t, s, "ip_pool", "lab", map[string]any{"cidr": "192.0.2.0/29"}) // .1 to .6
		a := allocate.New(s, allocate.Options{})
		if _, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Count: 6}); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			release []string
			want    []string
		}{
			{[]string{"192.0.2.4"}, []string{"192.0.2.4"}},
			{[]string{"192.0.2.5", "192.0.2.2"}, []string{"192.0.2.2", "192.0.2.5"}},
			{[]string{"192.0.2.1", "192.0.2.6"}, []string{"192.0.2.1", "192.0.2.6"}},
		} {
			if _, err := a.Release(ctx, "lab", "", step.release, "test"); err != nil {
				t.Fatal(err)
			}
			g, err := a.Allocate(ctx, allocate.Request{Pool: "lab", Count: len(step.want)})
			if err != nil || !slices.Equal(g.Values, step.want) {
				t.Fatalf("after releasing %v: %+v, %v; want %v", step.release, g, err, step.want)
			}
			if _, err := a.Allocate(ctx, allocate.Request{Pool: "lab"}); schema.ErrorCode(err) != schema.EEXHAUSTED {
				t.Fatalf("full again: %v", err)
			}
		}
	})
}
