package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// cond is a SQL condition with its arguments.
type cond struct {
	sql  string
	args []any
}

// anyOf is the condition "col is one of values", as few statements'
// worth as the dialect allows: a batch of 100,000 names is one
// statement, not 200 of 500 parameters, each prepared and bound anew. On
// PostgreSQL the values go as one array parameter (col = ANY(?)); on
// SQLite as one JSON array (col IN (SELECT value FROM json_each(?))),
// unless a value is not valid UTF-8, which JSON cannot carry: then
// "col IN (?, …)" per 500 values.
func (s *Store) anyOf(col string, values []string) ([]cond, error) {
	if len(values) == 0 {
		return nil, nil
	}
	if s.dialect == migrations.Postgres {
		return []cond{{col + " = ANY(?)", []any{values}}}, nil
	}
	if validUTF8(values) {
		b := append(make([]byte, 0, 16*len(values)), '[')
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = schema.AppendJSONString(b, v)
		}
		return []cond{{col + " IN (SELECT value FROM json_each(?))", []any{string(append(b, ']'))}}}, nil
	}
	var out []cond
	for _, chunk := range chunks(values, 500) {
		query, args, err := sqlx.In(col+" IN (?)", chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, cond{query, args})
	}
	return out, nil
}

func validUTF8(values []string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// anyHeld is anyOf for a lookup among rows a table may hold: no
// condition, so no statement, when held (a "SELECT 1 FROM …" query) finds
// no row — a type's names, an attribute's unique values on a first
// import.
func (tx *Tx) anyHeld(ctx context.Context, held string, args []any, col string, values []string) ([]cond, error) {
	var one int
	err := tx.QueryRowxContext(ctx, tx.Rebind(held+" LIMIT 1"), args...).Scan(&one)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for rows: %w", mapError(err))
	}
	return tx.s.anyOf(col, values)
}
