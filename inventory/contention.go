package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// WriteWait is how long a write waits for its turn on SQLite, where one
// write runs at a time, before it fails with schema.EBUSY: first behind
// the writes of this process (the store's writer queue), then behind
// another process's write (SQLite's busy timeout). It is longer than the
// longest batch (a bulk import of 100,000 VMs holds the database for
// about 10 s); an HTTP request's own time limit may end the first wait
// sooner.
const WriteWait = 60 * time.Second

// writerQueue lines up a SQLite store's write transactions, first come
// first served. Left to SQLite, waiting writers poll the lock with
// growing sleeps (up to 100 ms), so a writer that has waited long loses
// the lock to one that has just arrived and may starve; and the lock,
// once free, stays unused until some poller wakes up.
type writerQueue chan struct{}

func newWriterQueue() writerQueue { return make(writerQueue, 1) }

// wait takes the queue's turn, or fails with EBUSY after WriteWait or when
// ctx ends. release gives the turn to the next writer.
func (q writerQueue) wait(ctx context.Context) (release func(), err error) {
	if q == nil {
		return func() {}, nil
	}
	select { // the common case: nobody is writing
	case q <- struct{}{}:
		return q.release, nil
	default:
	}
	limit := waitLimit(ctx)
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case q <- struct{}{}:
		return q.release, nil
	case <-t.C:
		return nil, schema.Errorf(schema.EBUSY, "store busy: another write held the database for longer than this one could wait (%v); try again", limit.Round(time.Millisecond))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waitLimit is how long a write may wait for its turn: WriteWait, or less
// when ctx has a deadline sooner. Then it gives up a little before the
// deadline, so that its caller hears "busy, try again", not "timeout".
func waitLimit(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return WriteWait
	}
	left := time.Until(deadline)
	return max(min(WriteWait, left-min(left/10, 250*time.Millisecond)), time.Millisecond)
}

func (q writerQueue) release() { <-q }

// boundBusyWait shortens how long a SQLite transaction on conn waits for
// another process's write (SQLite's busy timeout, which the context cannot
// interrupt) to waitLimit. It returns the function that sets the
// connection back.
func (s *Store) boundBusyWait(ctx context.Context, conn *sqlx.Conn) (restore func(), err error) {
	limit := waitLimit(ctx)
	if s.writers == nil || limit >= WriteWait {
		return func() {}, nil
	}
	ms := max(limit.Milliseconds(), 1)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", ms)); err != nil {
		return nil, fmt.Errorf("bound the wait for the database: %w", mapError(err))
	}
	return func() {
		s.resetConn(ctx, conn, fmt.Sprintf("PRAGMA busy_timeout = %d", WriteWait.Milliseconds()))
	}, nil
}

// lostRace marks an error of a transaction that lost a race with a
// concurrent one (PostgreSQL broke a deadlock; another batch inserted an
// entry of the same name first): run again, it sees the winner's work.
type lostRace struct{ err error }

func (e *lostRace) Error() string { return e.err.Error() }
func (e *lostRace) Unwrap() error { return e.err }

// maxAttempts bounds how often a batch that lost a race runs again.
const maxAttempts = 3

// retryRaces runs fn, again while it loses a race, up to maxAttempts.
func (s *Store) retryRaces(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var lr *lostRace
		if err = fn(); !errors.As(err, &lr) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("write lost a race with a concurrent one; running it again", "attempt", attempt, "err", err)
	}
	return err
}
