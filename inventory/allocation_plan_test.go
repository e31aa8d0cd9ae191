package inventory_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/migrations"
)

// history is how many ended allocations the pool of the plan tests has
// behind it, and as many live ones: a grant must read neither.
const history = 20000

// seedHistory gives pool 1 a long history of released values, as many
// granted ones but one (place 20010), one hold whose time is over and one
// still running. The tables are not analyzed: a pool fills faster than
// autovacuum runs.
func seedHistory(t *testing.T, s *inventory.Store) {
	t.Helper()
	rows := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) SELECT i FROM n`
	if s.Dialect() == migrations.Postgres {
		rows = `SELECT generate_series(1, 40000) AS i`
	}
	now := time.Now().UTC()
	stmts := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO allocations (id, pool_id, variant, seq, value, status, actor, created_at)
			SELECT 'h' || i, 1, '', i, 'v' || i, CASE WHEN i <= 20000 OR i = 20010 THEN 'released' ELSE 'granted' END, 'test', ? FROM (` + rows + `) r`, []any{now}},
		{`INSERT INTO allocations (id, pool_id, variant, seq, value, status, actor, created_at, expires_at) VALUES
			('over', 1, '', 40001, 'v40001', 'held', 'test', ?, ?), ('running', 1, '', 40002, 'v40002', 'held', 'test', ?, ?)`,
			[]any{now, now.Add(-time.Minute), now, now.Add(time.Hour)}},
	}
	for _, st := range stmts {
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(st.query), st.args...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGrantStatementsReadNoHistory: the statements a grant runs under its
// pool's lock read what they need, not the pool's history nor its live
// values. Ending holds read every allocation the pool ever made, and on
// PostgreSQL so did the prepared MAX(seq) once its generic plan was
// chosen: grants slowed as pools filled and aged, each one holding the
// pool's lock the while.
func TestGrantStatementsReadNoHistory(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		cases := []struct {
			name, query string
			args        []any
			sqliteIndex string // the index SQLite must search
		}{
			{"expire holds", inventory.ExpireHoldsSQL, []any{"expired", 1, time.Now().UTC()}, "allocations_holds"},
			{"last place", inventory.MaxSeqSQL, []any{1, ""}, "allocations_seq"},
			// The next free place of a wrapped pool, 9 places on.
			{"next free place", inventory.NextFreeSeqSQL(s.Dialect()), []any{20001, 1, "", 20001, 1, "", 20001, 65533}, "allocations_live_seq"},
		}
		seedHistory(t, s)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if s.Dialect() == migrations.SQLite {
					checkSQLitePlan(t, s, c.query, c.args, c.sqliteIndex)
					return
				}
				// Counted at every node of the plan: a row may count more
				// than once.
				for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
					if n := postgresRowsRead(t, s, mode, c.query, c.args); n > 100 {
						t.Errorf("%s: read %d rows of a pool with %d ended and %d live allocations", mode, n, history, history)
					}
				}
			})
		}
	})
}

// checkSQLitePlan fails unless SQLite answers query by searching index,
// with no scan of a table and no sort of its own.
func checkSQLitePlan(t *testing.T, s *inventory.Store, query string, args []any, index string) {
	t.Helper()
	rows, err := s.DB().QueryxContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "; ")
	if !strings.Contains(all, "SEARCH ") || !strings.Contains(all, index) || tableScan.MatchString(all) || strings.Contains(all, "B-TREE") {
		t.Errorf("plan: %s; want a search of %s", all, index)
	}
}

// tableScan is a plan's scan of the allocations table (a, b: its aliases).
var tableScan = regexp.MustCompile(`SCAN (allocations|a|b)\b`)

// postgresRowsRead runs query under EXPLAIN ANALYZE, prepared as pgx
// prepares it, in plan_cache_mode mode, and counts the rows its plan
// read: those its nodes returned and those their filters dropped. It
// rolls back what the query wrote.
func postgresRowsRead(t *testing.T, s *inventory.Store, mode, query string, args []any) int {
	t.Helper()
	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }() // only undoes what EXPLAIN ANALYZE wrote
	// PREPARE outlives a rollback: DEALLOCATE ends it.
	for _, q := range []string{"SET LOCAL plan_cache_mode = " + mode, "PREPARE q AS " + s.DB().Rebind(query)} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var out string
	err = tx.GetContext(ctx, &out, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q("+literals(args)+")")
	if _, derr := tx.ExecContext(ctx, "DEALLOCATE q"); err == nil {
		err = derr
	}
	if err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("read plan %s: %v", out, err)
	}
	return plans[0].Plan.rowsRead()
}

// literals writes args as SQL literals: EXECUTE takes no parameters.
func literals(args []any) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case time.Time:
			out[i] = "'" + v.Format(time.RFC3339Nano) + "'"
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(out, ", ")
}

// planNode is a node of a PostgreSQL plan in EXPLAIN's JSON.
type planNode struct {
	Rows     float64    `json:"Actual Rows"`
	Loops    float64    `json:"Actual Loops"`
	Filtered float64    `json:"Rows Removed by Filter"`
	Rechecks float64    `json:"Rows Removed by Index Recheck"`
	Joined   float64    `json:"Rows Removed by Join Filter"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) rowsRead() int {
	total := (n.Rows + n.Filtered + n.Rechecks + n.Joined) * max(n.Loops, 1)
	for _, c := range n.Plans {
		total += float64(c.rowsRead())
	}
	return int(total)
}
