package allocate_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// BenchmarkAllocate: 1, 8 and 64 clients, spread over two store handles
// (two replicas on one database), each asking one /16 pool for single
// addresses, over an estate of 2,000 VMs and their drift-free store. It
// reports allocations per second and checks, at the end, that no address
// was granted twice (by the answers and by the store).
//
//	go test -run '^$' -bench BenchmarkAllocate -benchtime 2000x ./allocate
func BenchmarkAllocate(b *testing.B) {
	for _, d := range inventorytest.Dialects {
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", d, clients), func(b *testing.B) {
				benchAllocate(b, d, clients)
			})
		}
	}
}

func benchAllocate(b *testing.B, dialect string, clients int) {
	dsn := inventorytest.DSN(b, dialect)
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		b.Fatal(err)
	}
	s1, s2 := inventorytest.OpenWith(b, dsn, reg), inventorytest.OpenWith(b, dsn, reg)
	if _, err := s1.Upsert(ctx, inventorytest.Meta("seed"), inventorytest.Estate(2000), inventory.UpsertOptions{}); err != nil {
		b.Fatal(err)
	}
	const size = 65534 // 10.200.0.0/16 but the network and broadcast addresses
	if b.N > size {
		b.Fatalf("%d allocations do not fit a /16: use -benchtime %dx or less", b.N, size)
	}
	if _, err := s1.Create(ctx, inventorytest.Meta("seed"), "ip_pool", "big", map[string]any{"cidr": "10.200.0.0/16"}); err != nil {
		b.Fatal(err)
	}
	allocs := []*allocate.Allocator{allocate.New(s1, allocate.Options{}), allocate.New(s2, allocate.Options{})}
	var next atomic.Int64
	var mu sync.Mutex
	granted := make(map[string]int, b.N)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			a := allocs[i%2]
			for next.Add(1) <= int64(b.N) {
				g, err := a.Allocate(ctx, allocate.Request{Pool: "big", Actor: "bench"})
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				granted[g.Values[0]]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allocs/s")
	checkNoDuplicates(b, s1, granted)
}

// checkNoDuplicates fails unless every answer was a distinct address and
// the store holds exactly those, each once.
func checkNoDuplicates(b *testing.B, s *inventory.Store, granted map[string]int) {
	total := 0
	for v, n := range granted {
		total += n
		if n != 1 {
			b.Errorf("%s granted %d times", v, n)
		}
	}
	if total != b.N {
		b.Fatalf("%d grants for %d requests", total, b.N)
	}
	as, err := s.Allocations(ctx, inventory.AllocationFilter{Live: true})
	if err != nil {
		b.Fatal(err)
	}
	stored := map[string]bool{}
	for _, a := range as {
		if stored[a.Value] || granted[a.Value] != 1 {
			b.Errorf("the store holds %s twice or never answered it", a.Value)
		}
		stored[a.Value] = true
	}
	if len(stored) != b.N {
		b.Fatalf("the store holds %d live allocations, want %d", len(stored), b.N)
	}
}
