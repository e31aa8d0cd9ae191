package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"
)

// attachRefs puts the names of decoded entries' references (RefIDs, read
// from ref_ids) into their Attrs. epoch is the name epoch the entries were
// read at (0 if unknown): names cached at it are used, the rest loaded in
// one query.
func (s *Store) attachRefs(ctx context.Context, db q, epoch int64, entries []*Entry) error {
	return s.attachRefsCached(ctx, db, epoch, entries, map[int64]string{})
}

// attachRefsCached is attachRefs with a map of names (id → name) the
// caller keeps across batches of one read.
func (s *Store) attachRefsCached(ctx context.Context, db q, epoch int64, entries []*Entry, names map[int64]string) error {
	var missing []int64
	for _, e := range entries {
		for _, ids := range e.RefIDs {
			for _, id := range ids {
				missing = unnamed(names, missing, id)
			}
		}
	}
	if err := s.nameIDs(ctx, db, epoch, missing, names); err != nil {
		return err
	}
	for _, e := range entries {
		s.nameRefs(e, names)
	}
	return nil
}

// nameIDs fills names for ids: from the store's name cache for a read at
// epoch (see nameCache), the rest with loadNames. Reads in a transaction
// (db is not the store's) neither use nor fill the cache.
func (s *Store) nameIDs(ctx context.Context, db q, epoch int64, ids []int64, names map[int64]string) error {
	shared := db == q(s.db)
	if shared {
		ids = s.names.lookup(epoch, ids, names)
	}
	at, err := loadNames(ctx, db, ids, names)
	if err != nil {
		return err
	}
	if shared {
		s.names.keep(at, ids, names)
	}
	return nil
}

// decodeAll turns rows into entries with their references named (from
// the name cache, or one query on db). A row that repeats an earlier row's
// id shares its entry.
func (s *Store) decodeAll(ctx context.Context, db q, rows []*row) ([]*Entry, error) {
	list := make([]*Entry, len(rows))
	seen := make(map[int64]*Entry, len(rows))
	unique := make([]*Entry, 0, len(rows))
	for i := range rows {
		if list[i] = seen[rows[i].ID]; list[i] != nil {
			continue
		}
		e, err := s.decode(rows[i])
		if err != nil {
			return nil, err
		}
		list[i], seen[e.ID] = e, e
		unique = append(unique, e)
	}
	var epoch int64
	if len(rows) > 0 {
		epoch = rows[0].Epoch
	}
	if err := s.attachRefs(ctx, db, epoch, unique); err != nil {
		return nil, err
	}
	return list, nil
}

// unnamed adds id to missing, for loadNames, unless names has it or it is
// already there.
func unnamed(names map[int64]string, missing []int64, id int64) []int64 {
	if _, ok := names[id]; !ok {
		names[id] = ""
		missing = append(missing, id)
	}
	return missing
}

// nameRefs puts the names of e's references into e.Attrs: the name, or
// the list of names.
func (s *Store) nameRefs(e *Entry, names map[int64]string) {
	t, err := s.reg.Type(e.Type)
	if err != nil {
		return
	}
	for attr, ids := range e.RefIDs {
		a := t.Attr(attr)
		if a == nil || len(ids) == 0 {
			continue
		}
		if !a.Type.List {
			e.Attrs[attr] = names[ids[0]]
			continue
		}
		l := make([]any, len(ids))
		for i, id := range ids {
			l[i] = names[id]
		}
		e.Attrs[attr] = l
	}
}

// refIDMap parses an entries.ref_ids value into Entry.RefIDs form. The
// ids share one array: an attribute's ids are consecutive in ref_ids.
func refIDMap(s string) (map[string][]int64, error) {
	if s == "" {
		return nil, nil
	}
	n := strings.Count(s, ",") + 1
	ids := make([]int64, 0, n)
	m := make(map[string][]int64, min(n, 8))
	start, cur := 0, ""
	// put gives cur its run of ids; an attribute seen before (ref_ids not
	// grouped) gets them appended to its own.
	put := func() {
		run := ids[start:len(ids):len(ids)]
		if prev, ok := m[cur]; ok {
			run = append(prev, run...)
		}
		m[cur], start = run, len(ids)
	}
	err := eachRefID(s, func(attr string, id int64) {
		if attr != cur && len(ids) > start {
			put()
		}
		cur, ids = attr, append(ids, id)
	})
	if err != nil {
		return nil, err
	}
	put()
	return m, nil
}

// loadNames fills names for ids, deleted entries included (a reference to
// a deleted entry still shows its name), in one query per 500 ids. It
// returns the name epoch the names were read at, or 0 if the queries saw
// different ones.
func loadNames(ctx context.Context, db q, ids []int64, names map[int64]string) (epoch int64, err error) {
	read, mixed := false, false
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("SELECT id, name, "+epochCol+" FROM entries WHERE id IN (?)", chunk)
		if err != nil {
			return 0, err
		}
		rows, err := db.QueryContext(ctx, db.Rebind(query), args...)
		if err != nil {
			return 0, fmt.Errorf("load referenced names: %w", mapError(err))
		}
		for rows.Next() {
			var id, at int64
			var name string
			if err := rows.Scan(&id, &name, &at); err != nil {
				rows.Close()
				return 0, fmt.Errorf("load referenced names: %w", err)
			}
			names[id] = name
			mixed = mixed || read && at != epoch
			epoch, read = at, true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	if mixed {
		return 0, nil
	}
	return epoch, nil
}

// Referrers returns, for each target id, the live entries whose attribute
// attr (of type fromType) references it — the back-references — in one
// indexed query per 500 targets. Entries are sorted by name.
func (s *Store) Referrers(ctx context.Context, fromType, attr string, toIDs []int64) (map[int64][]*Entry, error) {
	out := map[int64][]*Entry{}
	for _, chunk := range chunks(toIDs, 500) {
		query, args, err := sqlx.In(`SELECT r.to_id AS ref_to, `+prefixed("e", entryCols)+`, `+epochCol+`
			FROM refs r JOIN entries e ON e.id = r.from_id
			WHERE r.to_id IN (?) AND r.attr = ? AND e.type = ? AND e.deleted_at IS NULL`, chunk, attr, fromType)
		if err != nil {
			return nil, err
		}
		rows, err := s.selectPlanned(ctx, s.db.Rebind(query), args)
		if err != nil {
			return nil, fmt.Errorf("load back-references %s.%s: %w", fromType, attr, mapError(err))
		}
		list, err := s.decodeAll(ctx, s.db, rows)
		if err != nil {
			return nil, err
		}
		type pair struct{ to, from int64 }
		seen := make(map[pair]bool, len(list))
		for i, e := range list {
			// A list naming the target twice is one referrer.
			if p := (pair{rows[i].RefTo, e.ID}); !seen[p] {
				seen[p] = true
				out[p.to] = append(out[p.to], e)
			}
		}
	}
	for _, list := range out {
		sortByName(list)
	}
	return out, nil
}

// CheckReferences reports a refs row whose referrer or target is not an
// entry. refs has no foreign keys (see migration 0009): the store keeps
// this true by construction, and the tests check it after every test.
func (s *Store) CheckReferences(ctx context.Context) error {
	var bad []struct {
		From int64  `db:"from_id"`
		Attr string `db:"attr"`
		To   int64  `db:"to_id"`
	}
	err := sqlx.SelectContext(ctx, s.db, &bad, `SELECT r.from_id, r.attr, r.to_id FROM refs r
		WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = r.to_id)
		   OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = r.from_id)
		ORDER BY r.from_id, r.attr, r.pos LIMIT 1`)
	if err != nil {
		return fmt.Errorf("check references: %w", mapError(err))
	}
	if len(bad) > 0 {
		return fmt.Errorf("check references: entry %d's %s references entry %d, and one of them does not exist", bad[0].From, bad[0].Attr, bad[0].To)
	}
	return nil
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
// query per type (see anyOf).
func (tx *Tx) resolveNames(ctx context.Context, keys map[refKey]int64) error {
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
		conds, err := tx.s.anyOf("name", byType[t])
		if err != nil {
			return err
		}
		for _, c := range conds {
			var rows []struct {
				ID   int64  `db:"id"`
				Name string `db:"name"`
			}
			query := "SELECT id, name FROM entries WHERE type = ? AND deleted_at IS NULL AND " + c.sql
			if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(query), append([]any{t}, c.args...)...); err != nil {
				return fmt.Errorf("resolve references to %s: %w", t, mapError(err))
			}
			for _, r := range rows {
				keys[refKey{t, r.Name}] = r.ID
			}
		}
	}
	return nil
}

// sortByName orders entries by name in byte order, then id: the order
// Find gives, whichever database's collation.
func sortByName(list []*Entry) {
	slices.SortFunc(list, func(a, b *Entry) int { return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
}
