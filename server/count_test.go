package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// The statement counter wraps the store's database driver: every query and
// exec that reaches the driver is counted, whatever the store does above it.

type countConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c countConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countConn{Conn: conn, n: c.n}, nil
}

func (c countConnector) Driver() driver.Driver { return c.drv }

type countConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return qc.QueryContext(ctx, q, args)
}

func (c *countConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return ec.ExecContext(ctx, q, args)
}

func (c *countConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if pc, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(ctx, q)
	} else {
		st, err = c.Conn.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	c.n.Add(1) // a prepared statement is executed at least once by database/sql
	return st, nil
}

func (c *countConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	bc, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, fmt.Errorf("driver %T cannot begin with options", c.Conn)
	}
	return bc.BeginTx(ctx, opts)
}

func (c *countConn) CheckNamedValue(nv *driver.NamedValue) error {
	if nc, ok := c.Conn.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *countConn) ResetSession(ctx context.Context) error {
	if rs, ok := c.Conn.(driver.SessionResetter); ok {
		return rs.ResetSession(ctx)
	}
	return nil
}

// countStatements re-opens the store's handle through the counting driver
// and returns the counter. Call it after bulk loading: COPY on PostgreSQL
// needs the bare pgx connection.
func countStatements(tb testing.TB, s *inventory.Store, dsn string) *atomic.Int64 {
	tb.Helper()
	src := dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		src = "file:" + path + "?_foreign_keys=on&_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate"
	}
	n := &atomic.Int64{}
	h := s.DB()
	wrapped := sqlx.NewDb(sql.OpenDB(countConnector{drv: h.Driver(), dsn: src, n: n}), h.DriverName())
	wrapped.SetMaxOpenConns(8)
	old := h.DB
	*h = *wrapped
	if err := old.Close(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// openCounted opens a store on a fresh database of the dialect, keeping its
// DSN for countStatements.
func openCounted(tb testing.TB, dialect string) (*inventory.Store, string) {
	tb.Helper()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		tb.Fatal(err)
	}
	dsn := inventorytest.DSN(tb, dialect)
	return inventorytest.OpenWith(tb, dsn, reg), dsn
}

const nestedQuery = `query($n: Int) {
	vms(first: $n) { totalCount edges { node { name cpus host { name cluster { name datacenter { name } } vms { name } } cluster { name } } } }
	hosts(first: 10) { nodes { name vms { name host { name } } cluster { hosts { name } } } }
}`

// TestNoNPlusOne shows that the number of SQL statements a nested query
// costs does not grow with the number of results, nor with the number of
// distinct hosts and clusters they reference: it is one batch per field
// and level (host.vms asked at two depths is two Referrers calls). The
// first query also loads the names of referenced entries, as many
// statements as batches find names not yet in the store's name cache
// (which depends on the order the resolvers run in); the same query again
// finds them all there.
func TestNoNPlusOne(t *testing.T) {
	for _, dialect := range inventorytest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			counts, first := map[int]int64{}, map[int]int64{}
			for _, n := range []int{40, 400} {
				s, dsn := openCounted(t, dialect)
				if _, err := s.Upsert(t.Context(), inventorytest.Meta("t"), estate(n, n/2, n/4), inventory.UpsertOptions{}); err != nil {
					t.Fatal(err)
				}
				counter := countStatements(t, s, dsn)
				ts := start(t, s, func(o *Options) { o.Limits.MaxComplexity = 1 << 30 })
				for _, into := range []map[int]int64{first, counts} {
					counter.Store(0)
					var out struct {
						Vms struct {
							TotalCount int
							Edges      []struct{ Node vmNode }
						}
					}
					ts.query(t, nestedQuery, map[string]any{"n": n}, &out)
					if out.Vms.TotalCount != n || len(out.Vms.Edges) != n || out.Vms.Edges[n-1].Node.Host.Cluster.Name == "" {
						t.Fatalf("n=%d: got %d edges", n, len(out.Vms.Edges))
					}
					into[n] = counter.Load()
				}
				t.Logf("%d VMs: %d SQL statements, %d the first time", n, counts[n], first[n])
			}
			if counts[40] != counts[400] || counts[40] == 0 || counts[40] > 20 {
				t.Fatalf("statements grow with results: %v", counts)
			}
			if first[40] > 30 || first[400] > 30 {
				t.Fatalf("statements of a first query grow with results: %v", first)
			}
		})
	}
}
