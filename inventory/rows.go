package inventory

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/tana-cmdb/tana/migrations"
)

// rowWriter inserts rows into one table as they are made, a full
// statement at a time: multi-row INSERTs of up to ~30,000 parameters on
// SQLite (a full one prepared once), COPY on PostgreSQL. A writer holds a
// statement's rows at a time (and the queue up to queueDepth more), and no
// slice is made per row.
//
// Full statements run on the transaction's statement queue (see
// execQueue): the caller builds the next rows while the database inserts
// the last ones. A writer's first statement is short (firstRows), so the
// database starts soon. send queues the pending rows, flush also waits for the
// queue; a statement run outside rowWriters must drain the queue first
// (Tx.drain). The transaction closes its writers' statements at its end.
//
// The first shared columns hold values a run of rows has in common (a
// change set, an entry type and attribute). On SQLite they are bound once
// per statement and every row names them (?1, ?2, …): binding is most of
// what an INSERT costs there, so this saves a third of it for the index
// rows.
type rowWriter struct {
	tx     *Tx
	table  string
	cols   []string // the shared columns first
	shared int      // how many of cols are shared
	per    int      // rows per statement
	// rows holds the pending statement's arguments: on SQLite the shared
	// values, then the rows' own; on PostgreSQL whole rows.
	rows []any
	n    int        // pending rows
	vals []any      // the current shared values
	free chan []any // argument buffers back from the queue
	full *sql.Stmt  // the INSERT of per rows; used by the queue only
	// On SQLite the queue executes through the driver: the INSERTs by
	// number of rows, and the arguments of the statement running.
	stmts map[int]driver.Stmt
	named []driver.NamedValue
	// onConflict ends every INSERT (an upsert); COPY cannot, so such a
	// writer uses INSERTs on PostgreSQL too.
	onConflict string
	sent       bool // a statement went to the queue
}

const (
	firstRows = 1000  // rows of a writer's first statement: the database starts early
	maxParams = 30000 // below both databases' parameter limits
	maxRows   = 10000 // rows per INSERT: bigger statements gain nothing
	copyChunk = 20000 // rows per COPY on PostgreSQL
)

func (tx *Tx) rowWriter(table string, cols ...string) *rowWriter {
	return tx.sharedWriter(table, nil, cols...)
}

// sharedWriter is a rowWriter whose leading columns shared are set by
// share, not by each row.
func (tx *Tx) sharedWriter(table string, shared []string, cols ...string) *rowWriter {
	rw := &rowWriter{tx: tx, table: table, cols: append(shared[:len(shared):len(shared)], cols...), shared: len(shared),
		free: make(chan []any, queueDepth+1)}
	rw.per = min(maxRows, (maxParams-rw.shared)/len(cols))
	if tx.s.dialect == migrations.Postgres {
		rw.per = copyChunk
	}
	rw.rows = rw.start()
	tx.writers = append(tx.writers, rw)
	return rw
}

// upsertWriter is a rowWriter whose INSERTs end in onConflict.
func (tx *Tx) upsertWriter(table, onConflict string, cols ...string) *rowWriter {
	rw := tx.rowWriter(table, cols...)
	rw.per, rw.onConflict = min(maxRows, maxParams/len(cols)), " "+onConflict
	return rw
}

// sqlite reports whether shared values are bound once per statement.
func (rw *rowWriter) sqlite() bool { return rw.tx.s.dialect == migrations.SQLite }

// start is an empty statement's arguments, in rw.rows or in a buffer the
// queue is done with.
func (rw *rowWriter) start() []any {
	b := rw.rows[:0]
	if rw.n > 0 { // rw.rows went to the queue
		select {
		case b = <-rw.free:
			b = b[:0]
		default:
			b = nil
		}
	}
	if rw.sqlite() {
		return append(b, rw.vals...)
	}
	return b
}

// share sets the shared values of the rows added next, writing the
// pending rows first if they differ.
func (rw *rowWriter) share(ctx context.Context, vals ...any) error {
	if len(vals) != rw.shared {
		return fmt.Errorf("insert %s: %d shared values for %d shared columns", rw.table, len(vals), rw.shared)
	}
	same := len(rw.vals) == len(vals)
	for i := 0; same && i < len(vals); i++ {
		same = rw.vals[i] == vals[i]
	}
	if same {
		return nil
	}
	if err := rw.send(ctx); err != nil {
		return err
	}
	rw.vals = append(rw.vals[:0], vals...)
	rw.rows = rw.start()
	return nil
}

// add queues one row (its own values, without the shared ones), writing
// the pending rows once a statement is full.
func (rw *rowWriter) add(ctx context.Context, vals ...any) error {
	if !rw.sqlite() {
		rw.rows = append(rw.rows, rw.vals...)
	}
	rw.rows = append(rw.rows, vals...)
	if rw.n++; rw.n < rw.per && (rw.sent || rw.n < firstRows) {
		return nil
	}
	return rw.send(ctx)
}

// send queues the pending rows' statement.
func (rw *rowWriter) send(ctx context.Context) error {
	if rw.n == 0 {
		return nil
	}
	args, n := rw.rows, rw.n
	rw.rows = rw.start()
	rw.n, rw.sent = 0, true
	return rw.tx.enqueue(func() error {
		err := rw.write(ctx, args, n)
		select {
		case rw.free <- args:
		default:
		}
		return err
	})
}

// flush writes the pending rows and waits for every queued statement.
func (rw *rowWriter) flush(ctx context.Context) error {
	if err := rw.send(ctx); err != nil {
		_ = rw.tx.drain() // send's error is the queue's: drain returns it again
		return err
	}
	return rw.tx.drain()
}

// unsent reports rows added to a writer but never sent: a bug that
// would otherwise lose them silently at commit.
func (tx *Tx) unsent() error {
	for _, rw := range tx.writers {
		if rw.n > 0 {
			return fmt.Errorf("internal error: %d rows for %s were never written", rw.n, rw.table)
		}
	}
	return nil
}

// closeWriters closes the prepared statements of the transaction's
// writers, once the queue is done with them. It runs deferred, after
// abandon or a commit emptied the queue, so a failure is logged.
func (tx *Tx) closeWriters(ctx context.Context) {
	_ = tx.drain() // empty already: abandon ran, or InTx drained it
	for _, rw := range tx.writers {
		if rw.full != nil {
			tx.s.logClose(ctx, "insert into "+rw.table, rw.full)
		}
		for _, st := range rw.stmts {
			if err := tx.conn.Raw(func(any) error { return st.Close() }); err != nil {
				tx.s.log.WarnContext(ctx, "close insert into "+rw.table, "err", err)
			}
		}
	}
	tx.writers = nil
}

// write inserts n rows given as a statement's arguments.
func (rw *rowWriter) write(ctx context.Context, args []any, n int) error {
	var err error
	switch {
	case rw.sqlite():
		err = rw.tx.conn.Raw(func(dc any) error { return rw.execSQLite(ctx, dc, args, n) })
	case n > 100 && rw.onConflict == "":
		err = rw.tx.copyRows(ctx, rw.table, rw.cols, args)
	case n < rw.per:
		_, err = rw.tx.ExecContext(ctx, rw.insertSQL(n), args...)
	case rw.full == nil:
		if rw.full, err = rw.tx.PrepareContext(ctx, rw.insertSQL(n)); err == nil {
			_, err = rw.full.ExecContext(ctx, args...)
		}
	default:
		_, err = rw.full.ExecContext(ctx, args...)
	}
	if err != nil {
		return &insertError{table: rw.table, err: mapError(err)}
	}
	return nil
}

// insertError is a failed INSERT of a rowWriter. It names the table: a
// statement's error can surface at a later call, from another writer.
type insertError struct {
	table string
	err   error
}

func (e *insertError) Error() string { return "insert " + e.table + ": " + e.err.Error() }
func (e *insertError) Unwrap() error { return e.err }

// insertFailed reports whether err is a failed INSERT into table.
func insertFailed(err error, table string) bool {
	var ie *insertError
	return errors.As(err, &ie) && ie.table == table
}

// execSQLite runs the INSERT of n rows on the transaction's connection
// through the driver. database/sql would copy the arguments into a new
// []driver.NamedValue for every statement (160 MB of garbage for an
// import of 100,000 entries); this reuses one. A statement of fewer than
// per rows (the end of a run) is split into statements of 1,000, 100, 10
// and 1 rows, each prepared once: preparing one of thousands of rows
// costs as much as running it.
func (rw *rowWriter) execSQLite(ctx context.Context, dc any, args []any, n int) error {
	c, ok := dc.(*sqlite3.SQLiteConn)
	if !ok {
		return fmt.Errorf("not a SQLite connection: %T", dc)
	}
	for i, v := range args {
		switch v.(type) {
		case nil, string, int64, float64, bool, []byte, time.Time:
		default: // what database/sql would convert (int, Valuer, …)
			var err error
			if args[i], err = driver.DefaultParameterConverter.ConvertValue(v); err != nil {
				return fmt.Errorf("argument %d: %w", i+1, err)
			}
		}
	}
	shared, rows, k := args[:rw.shared], args[rw.shared:], len(rw.cols)-rw.shared
	for n > 0 {
		size := rw.per
		for _, s := range [...]int{1000, 100, 10, 1} {
			if size <= n {
				break
			}
			size = s
		}
		st := rw.stmts[size]
		if st == nil {
			var err error
			if st, err = c.PrepareContext(ctx, rw.insertSQL(size)); err != nil {
				return err
			}
			if rw.stmts == nil {
				rw.stmts = map[int]driver.Stmt{}
			}
			rw.stmts[size] = st
		}
		rw.named = rw.named[:0]
		for _, v := range shared {
			rw.named = append(rw.named, driver.NamedValue{Ordinal: len(rw.named) + 1, Value: v})
		}
		for _, v := range rows[:size*k] {
			rw.named = append(rw.named, driver.NamedValue{Ordinal: len(rw.named) + 1, Value: v})
		}
		if _, err := st.(driver.StmtExecContext).ExecContext(ctx, rw.named); err != nil {
			return err
		}
		rows, n = rows[size*k:], n-size
	}
	return nil
}

// insertSQL is the INSERT of n rows, with numbered parameters: ?N on
// SQLite, whose rows share the first ones; $N on PostgreSQL.
func (rw *rowWriter) insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + rw.table + " (" + strings.Join(rw.cols, ", ") + ") VALUES ")
	mark, shared := "?", rw.shared
	if !rw.sqlite() {
		mark, shared = "$", 0
	}
	next := shared + 1
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range rw.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(mark)
			if c < shared {
				b.WriteString(strconv.Itoa(c + 1))
			} else {
				b.WriteString(strconv.Itoa(next))
				next++
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(rw.onConflict)
	return b.String()
}

// insertMany inserts rows given flat, len(cols) values per row.
func (tx *Tx) insertMany(ctx context.Context, table string, cols []string, rows []any) error {
	rw := tx.rowWriter(table, cols...)
	for i := 0; i < len(rows); i += len(cols) {
		if err := rw.add(ctx, rows[i:i+len(cols)]...); err != nil {
			return err
		}
	}
	return rw.flush(ctx)
}
