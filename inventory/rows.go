package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tana-cmdb/tana/migrations"
)

// rowWriter inserts rows into one table as they are made, a full
// statement at a time: multi-row INSERTs of ~30,000 parameters on SQLite
// (a full one prepared once), COPY on PostgreSQL. A big batch never holds
// all its rows, and no slice is made per row.
type rowWriter struct {
	tx    *Tx
	table string
	cols  []string
	per   int       // rows per statement
	rows  []any     // pending rows, flat: len(cols) values each
	full  *sql.Stmt // the INSERT of per rows
	// onConflict ends every INSERT (an upsert); COPY cannot, so such a
	// writer uses INSERTs on PostgreSQL too.
	onConflict string
}

// copyChunk is how many rows one COPY takes on PostgreSQL.
const copyChunk = 20000

func (tx *Tx) rowWriter(table string, cols ...string) *rowWriter {
	per := 30000 / len(cols) // below both databases' parameter limits
	if tx.s.dialect == migrations.Postgres {
		per = copyChunk
	}
	return &rowWriter{tx: tx, table: table, cols: cols, per: per}
}

// upsertWriter is a rowWriter whose INSERTs end in onConflict.
func (tx *Tx) upsertWriter(table, onConflict string, cols ...string) *rowWriter {
	return &rowWriter{tx: tx, table: table, cols: cols, per: 30000 / len(cols), onConflict: " " + onConflict}
}

// add queues one row, writing the pending rows once a statement is full.
func (rw *rowWriter) add(ctx context.Context, vals ...any) error {
	rw.rows = append(rw.rows, vals...)
	if len(rw.rows) < rw.per*len(rw.cols) {
		return nil
	}
	return rw.flush(ctx)
}

// flush writes the pending rows.
func (rw *rowWriter) flush(ctx context.Context) error {
	for start := 0; start < len(rw.rows); {
		end := min(len(rw.rows), start+rw.per*len(rw.cols))
		if err := rw.write(ctx, rw.rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	rw.rows = rw.rows[:0]
	return nil
}

// release closes the prepared statement.
func (rw *rowWriter) release() {
	if rw.full != nil {
		rw.full.Close()
	}
}

// write inserts args: whole rows, at most a statement's worth.
func (rw *rowWriter) write(ctx context.Context, args []any) error {
	n := len(args) / len(rw.cols)
	var err error
	switch {
	case rw.tx.s.dialect == migrations.Postgres && n > 100 && rw.onConflict == "":
		err = rw.tx.copyRows(ctx, rw.table, rw.cols, args)
	case n < rw.per:
		_, err = rw.tx.ExecContext(ctx, rw.tx.Rebind(insertSQL(rw.table, rw.cols, n)+rw.onConflict), args...)
	case rw.full == nil:
		if rw.full, err = rw.tx.PrepareContext(ctx, rw.tx.Rebind(insertSQL(rw.table, rw.cols, n)+rw.onConflict)); err == nil {
			_, err = rw.full.ExecContext(ctx, args...)
		}
	default:
		_, err = rw.full.ExecContext(ctx, args...)
	}
	if err != nil {
		return fmt.Errorf("insert %s: %w", rw.table, mapError(err))
	}
	return nil
}

// insertMany inserts rows given flat, len(cols) values per row.
func (tx *Tx) insertMany(ctx context.Context, table string, cols []string, rows []any) error {
	rw := tx.rowWriter(table, cols...)
	defer rw.release()
	rw.rows = rows
	return rw.flush(ctx)
}

func insertSQL(table string, cols []string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}
