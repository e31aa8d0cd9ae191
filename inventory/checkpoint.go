package inventory

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// checkpointer copies SQLite's write-ahead log into the database file in
// the background after a big write. Left to SQLite, the commit of a bulk
// import would do it synchronously (the automatic checkpoint), writing
// every page of the batch a second time before the import returns. The
// commit is as durable either way: with synchronous=NORMAL the log is
// synced by the checkpoint, not by the commit, and a crash before it
// replays the log.
type checkpointer struct {
	db   *sqlx.DB
	log  *slog.Logger
	poke chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

func newCheckpointer(db *sqlx.DB, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, poke: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		}
		start := time.Now()
		var busy, pages, copied int
		// PASSIVE never waits for readers or writers; what it cannot copy
		// now, the next checkpoint (or closing the store) does.
		err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &pages, &copied)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("sqlite checkpoint", "err", err)
			}
			continue
		}
		c.log.Debug("sqlite checkpoint", "log_pages", pages, "copied", copied, "elapsed", time.Since(start).Round(time.Millisecond))
	}
}

// request asks for a checkpoint; requests made while one runs coalesce.
func (c *checkpointer) request() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// close stops the checkpointer. Closing the database afterwards copies
// what is left of the log.
func (c *checkpointer) close() {
	c.stop()
	<-c.done
}
