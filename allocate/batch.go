package allocate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Group commit. A grant holds its pool's lock from its first statement to
// its commit, so a pool hands out no faster than one transaction after
// another: a few milliseconds each on PostgreSQL, most of them round
// trips and the commit's flush. Grants of one pool that arrive while
// another runs wait in line here instead, and the next of them runs the
// line's grants one after another in one transaction — one lock, one
// expiry of holds, one commit — each finding its values inside the lock
// as it would alone, after the ones before it.
//
// Only grants that write nothing but their allocations join a line (no
// entry to bind): a grant that fails otherwise than for want of values
// (EXHAUSTED, which writes nothing) sends every grant of its batch back
// to run alone, in a transaction of its own, so each gets the answer it
// would have had without the others. A failed commit fails them all, as
// it would have failed each one.

// maxBatch bounds the grants of one transaction: the last of them waits
// for all the others.
const maxBatch = 64

// grantFn is a grant's work in its pool's transaction; ctx is the
// transaction's.
type grantFn func(ctx context.Context, tx *inventory.Tx) error

// pending is a grant in line.
type pending struct {
	ctx   context.Context
	fn    grantFn
	err   error
	alone bool          // run it alone: its batch failed before its commit
	done  chan struct{} // closed when err (or alone) is set
	lead  chan struct{} // closed when it is to run the next batch
}

// lines holds the grants waiting for each pool of this allocator.
type lines struct {
	mu    sync.Mutex
	pools map[int64]*line
}

type line struct {
	waiting []*pending
	busy    bool // a batch of the pool runs
}

// inPool runs fn in a transaction holding pool's lock, after ending its
// expired holds: alone, or with the grants of the pool that wait beside
// it when batch is set.
func (a *Allocator) inPool(ctx context.Context, pool int64, batch bool, fn grantFn) error {
	if !batch {
		return a.alone(ctx, pool, fn)
	}
	me := &pending{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	if !a.lines.join(pool, me) {
		select {
		case <-me.done:
		case <-me.lead:
			a.runBatch(pool, a.lines.take(pool))
		}
	} else {
		a.runBatch(pool, a.lines.take(pool))
	}
	<-me.done
	if me.alone {
		return a.alone(ctx, pool, fn)
	}
	return me.err
}

// join puts p in pool's line; it reports whether p runs the next batch.
func (l *lines) join(pool int64, p *pending) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pools == nil {
		l.pools = map[int64]*line{}
	}
	q := l.pools[pool]
	if q == nil {
		q = &line{}
		l.pools[pool] = q
	}
	q.waiting = append(q.waiting, p)
	if q.busy {
		return false
	}
	q.busy = true
	return true
}

// take returns the next batch of pool's line: its first grants, the one
// that runs it among them.
func (l *lines) take(pool int64) []*pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.pools[pool]
	n := min(len(q.waiting), maxBatch)
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	return batch
}

// next hands pool's line to its first waiting grant, or ends it.
func (l *lines) next(pool int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.pools[pool]
	if len(q.waiting) > 0 {
		close(q.waiting[0].lead)
		return
	}
	q.busy = false
	delete(l.pools, pool)
}

// alone runs fn in a transaction of its own.
func (a *Allocator) alone(ctx context.Context, pool int64, fn grantFn) error {
	return a.store.InPoolTx(ctx, pool, func(tx *inventory.Tx) error {
		if err := tx.ExpireHolds(ctx, pool); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
}

// errAlone stops a batch whose grants must run alone.
var errAlone = errors.New("a grant of the batch failed: each runs alone")

// runBatch runs the grants of batch in one transaction and tells each its
// outcome, then hands the line on.
func (a *Allocator) runBatch(pool int64, batch []*pending) {
	defer a.lines.next(pool)
	defer func() {
		// A panic reaches the caller of the grant running the batch; the
		// others hear of it rather than wait for ever.
		if v := recover(); v != nil {
			for _, p := range batch {
				p.err = fmt.Errorf("a grant of the batch panicked: %v", v)
				close(p.done)
			}
			panic(v)
		}
	}()
	if len(batch) == 1 {
		p := batch[0]
		p.err = a.alone(p.ctx, pool, p.fn)
		close(p.done)
		return
	}
	// Not the first grant's context: its client leaving must not fail the
	// others. The batch may take as long as the most patient of them.
	ctx, cancel := batchContext(batch)
	defer cancel()
	ran := false
	err := a.store.InPoolTx(ctx, pool, func(tx *inventory.Tx) error {
		if err := tx.ExpireHolds(ctx, pool); err != nil {
			return err
		}
		for _, p := range batch {
			if p.err = p.ctx.Err(); p.err != nil {
				continue // gone before its turn: nothing written
			}
			if p.err = p.fn(ctx, tx); p.err != nil && schema.ErrorCode(p.err) != schema.EEXHAUSTED {
				return errAlone
			}
		}
		ran = true
		return nil
	})
	for _, p := range batch {
		switch {
		case err != nil && !ran:
			p.alone = true // rolled back before any commit: as if never run
		case err != nil:
			p.err = err // the commit failed: for all of them
		}
		close(p.done)
	}
	if err != nil && !errors.Is(err, errAlone) && !ran {
		a.log.Warn("batch of grants failed before its commit: each runs alone", "err", err)
	}
}

// batchContext is a batch's context: the values of its first grant's, no
// cancellation, and the latest deadline of its grants (none if one has
// none).
func batchContext(batch []*pending) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(batch[0].ctx)
	var latest time.Time
	for _, p := range batch {
		d, ok := p.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}
