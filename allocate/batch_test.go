package allocate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// lineUp runs fns as one batch of pool's line: a first grant holds the
// line until all of them wait in it. It returns each one's error.
func lineUp(t *testing.T, a *Allocator, pool int64, ctxs []context.Context, fns []grantFn) []error {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- a.inPool(context.Background(), pool, true, func(context.Context, *inventory.Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = a.inPool(ctxs[i], pool, true, fn) })
		waitFor(t, func() bool { return a.lines.waiting(pool) == i+1 }) // in order
	}
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	return errs
}

// waiting is how many grants wait in pool's line.
func (l *lines) waiting(pool int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if q := l.pools[pool]; q != nil {
		return len(q.waiting)
	}
	return 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// recorder makes grant functions that record one allocation of a value
// and count their runs.
type recorder struct {
	pool int64
	runs sync.Map // value → *atomic.Int32
}

func (r *recorder) grant(value string, then error) grantFn {
	n := &atomic.Int32{}
	r.runs.Store(value, n)
	return func(ctx context.Context, tx *inventory.Tx) error {
		n.Add(1)
		err := tx.AddAllocations(ctx, []inventory.Allocation{{ID: uuid.Must(uuid.NewV7()).String(), PoolID: r.pool, Seq: int64(len(value)) + int64(value[len(value)-1]),
			Value: value, Status: inventory.AllocGranted, Actor: "test"}})
		return errors.Join(err, then)
	}
}

func (r *recorder) runsOf(value string) int32 {
	n, _ := r.runs.Load(value)
	return n.(*atomic.Int32).Load()
}

func stored(t *testing.T, s *inventory.Store) []string {
	t.Helper()
	as, err := s.Allocations(context.Background(), inventory.AllocationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Value)
	}
	slices.Sort(out)
	return out
}

func background(n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = context.Background()
	}
	return ctxs
}

// TestBatchCommitsTogether: grants that wait in a pool's line run in one
// transaction, each once; one told the pool is exhausted (which writes
// nothing) and one whose client left before its turn do not stop the
// others.
func TestBatchCommitsTogether(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		a := New(s, Options{})
		r := &recorder{pool: 7}
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		exhausted := schema.Errorf(schema.EEXHAUSTED, "pool 7 is exhausted")
		ctxs := background(4)
		ctxs[2] = gone
		errs := lineUp(t, a, 7, ctxs, []grantFn{r.grant("a", nil), func(context.Context, *inventory.Tx) error { return exhausted }, r.grant("c", nil), r.grant("d", nil)})
		if errs[0] != nil || errs[1] != exhausted || !errors.Is(errs[2], context.Canceled) || errs[3] != nil {
			t.Fatalf("errors: %v", errs)
		}
		if got := stored(t, s); !slices.Equal(got, []string{"a", "d"}) {
			t.Fatalf("stored %v", got)
		}
		if r.runsOf("a") != 1 || r.runsOf("c") != 0 || r.runsOf("d") != 1 {
			t.Fatalf("runs: a %d, c %d, d %d", r.runsOf("a"), r.runsOf("c"), r.runsOf("d"))
		}
	})
}

// TestBatchFailureRunsEachAlone: when a grant of a batch fails otherwise
// than for want of values, the batch rolls back and each of its grants
// runs alone: each gets the answer it would have had alone, and what the
// batch wrote before the failure is written once.
func TestBatchFailureRunsEachAlone(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		a := New(s, Options{})
		r := &recorder{pool: 7}
		broken := errors.New("broken")
		errs := lineUp(t, a, 7, background(3), []grantFn{r.grant("a", nil), r.grant("b", broken), r.grant("c", nil)})
		if errs[0] != nil || !errors.Is(errs[1], broken) || errs[2] != nil {
			t.Fatalf("errors: %v", errs)
		}
		// b's allocation, written before it failed alone, rolled back with it.
		if got := stored(t, s); !slices.Equal(got, []string{"a", "c"}) {
			t.Fatalf("stored %v", got)
		}
		if r.runsOf("a") != 2 || r.runsOf("b") != 2 || r.runsOf("c") != 1 {
			t.Fatalf("runs: a %d, b %d, c %d", r.runsOf("a"), r.runsOf("b"), r.runsOf("c"))
		}
	})
}

// TestBatchCommitFailureFailsAll: a batch whose commit fails tells every
// grant of it so; none is told it got values the store does not have.
// (A failed statement makes PostgreSQL roll the transaction back at its
// commit; SQLite has no such failure to force.)
func TestBatchCommitFailureFailsAll(t *testing.T) {
	s := inventorytest.Open(t, migrations.Postgres)
	a := New(s, Options{})
	r := &recorder{pool: 7}
	poison := func(ctx context.Context, tx *inventory.Tx) error {
		var n int
		err := tx.GetContext(ctx, &n, "SELECT 1/0")
		return errors.Join(err, schema.Errorf(schema.EEXHAUSTED, "as if it was: %v", err)) // a refusal, but the transaction is done for
	}
	errs := lineUp(t, a, 7, background(2), []grantFn{r.grant("a", nil), poison})
	if errs[0] == nil || errs[1] == nil {
		t.Fatalf("errors: %v", errs)
	}
	if got := stored(t, s); len(got) != 0 {
		t.Fatalf("stored %v", got)
	}
}

// TestBatchReplaysAKeyOfTheSameBatch: two requests with one key in one
// batch get one grant: the second replays the first's.
func TestBatchReplaysAKeyOfTheSameBatch(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		en, err := s.Create(ctx, inventorytest.Meta("t"), IPPool, "lab", map[string]any{"cidr": "192.0.2.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		a := New(s, Options{})
		hold, held := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- a.inPool(ctx, en.ID, true, func(context.Context, *inventory.Tx) error { close(held); <-hold; return nil })
		}()
		<-held
		grants := make([]*Grant, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { grants[i], errs[i] = a.Allocate(ctx, Request{Pool: "lab", Key: "k", Actor: fmt.Sprint(i)}) })
		}
		waitFor(t, func() bool { return a.lines.waiting(en.ID) == 2 })
		close(hold)
		wg.Wait()
		if err := errors.Join(<-first, errs[0], errs[1]); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(grants[0].Values, grants[1].Values) || grants[0].Replayed == grants[1].Replayed {
			t.Fatalf("grants: %+v, %+v", grants[0], grants[1])
		}
		if got := stored(t, s); len(got) != 1 {
			t.Fatalf("stored %v", got)
		}
	})
}

// TestBatchPanicReachesAll: a grant that panics in a batch panics its
// batch's runner; the other grants of the batch fail, none waits for
// ever, and the line goes on.
func TestBatchPanicReachesAll(t *testing.T) {
	s := inventorytest.Open(t, migrations.SQLite)
	a := New(s, Options{})
	r := &recorder{pool: 7}
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = a.inPool(context.Background(), 7, true, func(context.Context, *inventory.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	errs := make(chan error, 2)
	panicked := make(chan any, 1)
	go func() { // runs the batch: it joined first
		defer func() { panicked <- recover() }()
		errs <- a.inPool(context.Background(), 7, true, r.grant("a", nil))
	}()
	waitFor(t, func() bool { return a.lines.waiting(7) == 1 })
	go func() {
		errs <- a.inPool(context.Background(), 7, true, func(context.Context, *inventory.Tx) error { panic("boom") })
	}()
	waitFor(t, func() bool { return a.lines.waiting(7) == 2 })
	close(hold)
	select {
	case v := <-panicked:
		if v != "boom" {
			t.Fatalf("the batch's runner: %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the batch's runner did not panic")
	}
	select {
	case err := <-errs:
		if err == nil || err.Error() != "a grant of the batch panicked: boom" {
			t.Fatalf("the other grant: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other grant of the batch still waits")
	}
	if err := a.inPool(context.Background(), 7, true, r.grant("z", nil)); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}
