package inventory

import (
	"errors"
	"runtime"
	"sync"
)

// execQueue runs a transaction's bulk statements on one goroutine, in the
// order they were queued, so that building rows (Go) and inserting them
// (the database) overlap: on a two-core machine this hides most of the Go
// side of a bulk import. The first error stops the queue; later jobs are
// skipped and every later enqueue returns it.
type execQueue struct {
	jobs chan func() error
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// queueDepth is how many statements may wait: enough to keep the
// database busy, few enough to bound the memory of their arguments.
const queueDepth = 2

func (q *execQueue) run() {
	defer close(q.done)
	for job := range q.jobs {
		if q.failed() != nil {
			continue
		}
		if err := job(); err != nil {
			q.mu.Lock()
			q.err = err
			q.mu.Unlock()
		}
	}
}

func (q *execQueue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// enqueue queues a statement, starting the queue if needed. It returns
// the error of an earlier statement, if one failed.
func (tx *Tx) enqueue(job func() error) error {
	q := tx.queue
	if q == nil {
		q = &execQueue{jobs: make(chan func() error, queueDepth), done: make(chan struct{})}
		tx.queue = q
		go q.run()
	}
	if err := q.failed(); err != nil {
		return err
	}
	q.jobs <- job
	return nil
}

// errAbandoned stops the statements still queued when a transaction ends
// in an error or a panic.
var errAbandoned = errors.New("transaction abandoned")

// abandon stops the queue without running what is still queued, and
// waits for the statement running: nothing may run on the connection
// after the transaction rolls back.
func (tx *Tx) abandon() {
	if q := tx.queue; q != nil {
		q.mu.Lock()
		if q.err == nil {
			q.err = errAbandoned
		}
		q.mu.Unlock()
		// The transaction rolls back with the error that ended it; the
		// queue's own (errAbandoned, or an earlier failure) adds nothing.
		_ = tx.drain()
	}
}

// drain waits for every queued statement and stops the queue, returning
// the first error.
func (tx *Tx) drain() error {
	q := tx.queue
	if q == nil {
		return nil
	}
	tx.queue = nil
	close(q.jobs)
	<-q.done
	return q.err
}

// parallelMin is the batch size from which per-write work is split across
// CPUs; below it goroutines cost more than they save.
const parallelMin = 2000

// parallel runs fn over [0, n) split into one range per CPU and returns
// the error of the lowest failing range, which is the error a sequential
// loop would have met first.
func parallel(n int, fn func(lo, hi int) error) error {
	parts := runtime.GOMAXPROCS(0)
	if n < parallelMin || parts == 1 {
		return fn(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { errs[p] = fn(p*n/parts, (p+1)*n/parts) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
