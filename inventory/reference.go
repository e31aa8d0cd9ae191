package inventory

import (
	"context"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"
)

type refRow struct {
	FromName string `db:"from_name"`
	FromID   int64  `db:"from_id"`
	Attr     string `db:"attr"`
	Pos      int    `db:"pos"`
	ToID     int64  `db:"to_id"`
	ToName   string `db:"to_name"`
}

// attachRefs loads the references of entries in one query per 500 entries
// and puts them into Attrs (by name) and RefIDs (by id).
func (s *Store) attachRefs(ctx context.Context, db q, entries []*Entry) error {
	if len(entries) == 0 {
		return nil
	}
	byID, ids := indexByID(entries)
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In(`SELECT r.from_id, r.attr, r.pos, r.to_id, t.name AS to_name
			FROM refs r JOIN entries t ON t.id = r.to_id WHERE r.from_id IN (?) ORDER BY r.from_id, r.attr, r.pos`, chunk)
		if err != nil {
			return err
		}
		var rows []refRow
		if err := sqlx.SelectContext(ctx, db, &rows, db.Rebind(query), args...); err != nil {
			return fmt.Errorf("load references: %w", mapError(err))
		}
		for _, r := range rows {
			s.addRef(byID[r.FromID], r)
		}
	}
	return nil
}

// indexByID returns entries by id, and their ids in order.
func indexByID(entries []*Entry) (map[int64]*Entry, []int64) {
	byID := make(map[int64]*Entry, len(entries))
	ids := make([]int64, 0, len(entries))
	for _, e := range entries {
		byID[e.ID] = e
		ids = append(ids, e.ID)
	}
	return byID, ids
}

// attachRefsCached is attachRefs for streams: references by primary key
// without a join, and target names from a cache (id → name) the caller
// keeps across batches — a few hosts and clusters serve thousands of VMs.
func (s *Store) attachRefsCached(ctx context.Context, db q, entries []*Entry, names map[int64]string) error {
	if len(entries) == 0 {
		return nil
	}
	byID, ids := indexByID(entries)
	for _, chunk := range chunks(ids, 500) {
		rows, err := queryRefs(ctx, db, chunk)
		if err != nil {
			return err
		}
		var missing []int64
		for _, r := range rows {
			if _, ok := names[r.ToID]; !ok {
				names[r.ToID] = ""
				missing = append(missing, r.ToID)
			}
		}
		if err := loadNames(ctx, db, missing, names); err != nil {
			return err
		}
		for _, r := range rows {
			r.ToName = names[r.ToID]
			s.addRef(byID[r.FromID], r)
		}
	}
	return nil
}

func queryRefs(ctx context.Context, db q, from []int64) ([]refRow, error) {
	query, args, err := sqlx.In("SELECT from_id, attr, to_id FROM refs WHERE from_id IN (?) ORDER BY from_id, attr, pos", from)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("load references: %w", mapError(err))
	}
	defer rows.Close()
	var out []refRow
	for rows.Next() {
		var r refRow
		if err := rows.Scan(&r.FromID, &r.Attr, &r.ToID); err != nil {
			return nil, fmt.Errorf("load references: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadNames fills names for ids, deleted entries included (a reference to
// a deleted entry still shows its name).
func loadNames(ctx context.Context, db q, ids []int64, names map[int64]string) error {
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("SELECT id, name FROM entries WHERE id IN (?)", chunk)
		if err != nil {
			return err
		}
		rows, err := db.QueryContext(ctx, db.Rebind(query), args...)
		if err != nil {
			return fmt.Errorf("load referenced names: %w", mapError(err))
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("load referenced names: %w", err)
			}
			names[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// addRef sets one loaded reference on its entry.
func (s *Store) addRef(e *Entry, r refRow) {
	if e == nil {
		return
	}
	if e.RefIDs == nil {
		e.RefIDs = map[string][]int64{}
	}
	e.RefIDs[r.Attr] = append(e.RefIDs[r.Attr], r.ToID)
	list := false
	if t, err := s.reg.Type(e.Type); err == nil {
		if a := t.Attr(r.Attr); a != nil {
			list = a.Type.List
		} else {
			return
		}
	}
	if !list {
		e.Attrs[r.Attr] = r.ToName
		return
	}
	l, _ := e.Attrs[r.Attr].([]any)
	e.Attrs[r.Attr] = append(l, r.ToName)
}

// Referrers returns, for each target id, the live entries whose attribute
// attr (of type fromType) references it — the back-references — in one
// indexed query per 500 targets. Entries are sorted by name.
func (s *Store) Referrers(ctx context.Context, fromType, attr string, toIDs []int64) (map[int64][]*Entry, error) {
	out := map[int64][]*Entry{}
	for _, chunk := range chunks(toIDs, 500) {
		query, args, err := sqlx.In(`SELECT r.to_id AS ref_to, `+prefixed("e", entryCols)+`
			FROM refs r JOIN entries e ON e.id = r.from_id
			WHERE r.to_id IN (?) AND r.attr = ? AND e.type = ? AND e.deleted_at IS NULL
			ORDER BY e.name, e.id`, chunk, attr, fromType)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			RefTo int64 `db:"ref_to"`
			row
		}
		if err := sqlx.SelectContext(ctx, s.db, &rows, s.db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("load back-references %s.%s: %w", fromType, attr, mapError(err))
		}
		var list []*Entry
		seen := map[int64]*Entry{}
		for i := range rows {
			e := seen[rows[i].ID]
			if e == nil {
				if e, err = s.decode(&rows[i].row); err != nil {
					return nil, err
				}
				seen[e.ID] = e
				list = append(list, e)
			}
			out[rows[i].RefTo] = append(out[rows[i].RefTo], e)
		}
		if err := s.attachRefs(ctx, s.db, list); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func prefixed(alias, cols string) string {
	var out []byte
	for i, c := range splitCols(cols) {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = append(out, alias+"."+c...)
	}
	return string(out)
}

func splitCols(cols string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(cols); i++ {
		if i == len(cols) || cols[i] == ',' {
			c := cols[start:i]
			for len(c) > 0 && c[0] == ' ' {
				c = c[1:]
			}
			out = append(out, c)
			start = i + 1
		}
	}
	return out
}

// refKey names an entry by type and name, for resolving references.
type refKey struct{ typ, name string }

// resolveNames maps (type, name) pairs to the ids of live entries in one
// query per type and 500 names.
func resolveNames(ctx context.Context, db q, keys map[refKey]int64) error {
	byType := map[string][]string{}
	for k, id := range keys {
		if id == 0 {
			byType[k.typ] = append(byType[k.typ], k.name)
		}
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		for _, chunk := range chunks(byType[t], 500) {
			query, args, err := sqlx.In("SELECT id, name FROM entries WHERE type = ? AND deleted_at IS NULL AND name IN (?)", t, chunk)
			if err != nil {
				return err
			}
			var rows []struct {
				ID   int64  `db:"id"`
				Name string `db:"name"`
			}
			if err := sqlx.SelectContext(ctx, db, &rows, db.Rebind(query), args...); err != nil {
				return fmt.Errorf("resolve references to %s: %w", t, mapError(err))
			}
			for _, r := range rows {
				keys[refKey{t, r.Name}] = r.ID
			}
		}
	}
	return nil
}
