package inventory

import (
	"context"
	"log/slog"
	"sync"
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
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

func newCheckpointer(db *sqlx.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, poke: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.poke:
		}
		start := time.Now()
		var busy, pages, copied int
		// PASSIVE never waits for readers or writers; what it cannot copy
		// now, the next checkpoint (or closing the store) does. It is not
		// cancelled: a connection interrupted mid-checkpoint and closed
		// at once keeps SQLite from cleaning up the log when the store
		// closes.
		err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &pages, &copied)
		if err != nil {
			c.log.Warn("sqlite checkpoint", "err", err)
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

// close stops the checkpointer once a checkpoint under way is done.
// Closing the database afterwards copies what is left of the log and
// removes it.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
