package inventory

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// EntryHead is a live entry without its attributes: what identifying a
// snapshot's objects by binding and name, and reporting drift against the
// entry, needs.
type EntryHead struct {
	ID      int64
	Type    string
	Name    string
	Version int64
	Status  string
}

// EachHead streams the head of every live entry of a type, in no particular
// order. Reconcile's diff identifies a whole scope with these and reads
// attributes (EachTransient) only while it diffs, so it never holds every
// entry's attributes at once.
func (s *Store) EachHead(ctx context.Context, typ string, fn func(EntryHead)) error {
	if _, err := s.reg.Type(typ); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, name, version, status
		FROM entries WHERE type = ? AND deleted_at IS NULL`), typ)
	if err != nil {
		return fmt.Errorf("stream %s entry heads: %w", typ, mapError(err))
	}
	defer rows.Close()
	h := EntryHead{Type: typ}
	var status sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&h.ID, &h.Name, &h.Version, &status); err != nil {
			return fmt.Errorf("stream %s entry heads: %w", typ, err)
		}
		h.Status = internStatus(status)
		fn(h)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream %s entry heads: %w", typ, mapError(err))
	}
	return nil
}

// internStatus returns the known statuses as constants: one string per
// status instead of one per row of a 100,000-entry scope.
func internStatus(b []byte) string {
	switch string(b) {
	case StatusActive:
		return StatusActive
	case StatusStale:
		return StatusStale
	}
	return string(b)
}

// EachTransient streams every live entry of a type, with references, like
// EachUnordered, but into one Entry and one Attrs map reused from row to
// row: fn must keep neither, only values taken out of them. Reconcile's
// diff reads a whole scope this way without allocating a map per entry.
func (s *Store) EachTransient(ctx context.Context, typ string, fn func(*Entry) error) error {
	t, err := s.reg.Type(typ)
	if err != nil {
		return err
	}
	refs, err := s.typeRefs(ctx, t)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, name, attrs, version, status
		FROM entries WHERE type = ? AND deleted_at IS NULL`), typ)
	if err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, mapError(err))
	}
	defer rows.Close()
	done := make(chan struct{})
	defer close(done)
	batches, scanErr := scanBatches(rows, typ, done)
	e := &Entry{Type: typ}
	attrs := make(map[string]any, len(t.Attributes))
	for batch := range batches {
		for i := range batch {
			if err := s.decodeInto(t, e, attrs, &batch[i], refs[batch[i].id]); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return <-scanErr
}

// typeRefs loads the references of a type's live entries, by entry.
func (s *Store) typeRefs(ctx context.Context, t *schema.EntityType) (map[int64][]refRow, error) {
	refs := map[int64][]refRow{}
	if len(t.Refs()) == 0 {
		return refs, nil
	}
	var rs []refRow
	err := sqlx.SelectContext(ctx, s.db, &rs, s.db.Rebind(`SELECT e.name AS from_name, r.from_id, r.attr, r.pos, r.to_id, t.name AS to_name
		FROM refs r JOIN entries e ON e.id = r.from_id JOIN entries t ON t.id = r.to_id
		WHERE e.type = ? AND e.deleted_at IS NULL ORDER BY r.from_id, r.attr, r.pos`), t.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s references: %w", t.Name, mapError(err))
	}
	for _, r := range rs {
		refs[r.FromID] = append(refs[r.FromID], r)
	}
	return refs, nil
}

// scanBatches reads rows in batches on its own goroutine, so that the
// driver's scanning and the caller's decoding overlap. The error channel
// gets the outcome once batches is closed; closing done stops the reader.
func scanBatches(rows *sql.Rows, typ string, done <-chan struct{}) (<-chan []scanned, <-chan error) {
	batches := make(chan []scanned, 4)
	scanErr := make(chan error, 1)
	send := func(b []scanned) bool {
		select {
		case batches <- b:
			return true
		case <-done:
			return false
		}
	}
	go func() {
		defer close(batches)
		batch := make([]scanned, 0, scanBatch)
		var status sql.RawBytes
		for rows.Next() {
			var r scanned
			if err := rows.Scan(&r.id, &r.name, &r.raw, &r.version, &status); err != nil {
				scanErr <- fmt.Errorf("stream %s entries: %w", typ, err)
				return
			}
			r.status = internStatus(status)
			if batch = append(batch, r); len(batch) == scanBatch {
				if !send(batch) {
					return
				}
				batch = make([]scanned, 0, scanBatch)
			}
		}
		if len(batch) > 0 && !send(batch) {
			return
		}
		scanErr <- rows.Err()
	}()
	return batches, scanErr
}

// decodeInto makes e the scanned row, decoding its attributes into attrs
// after clearing it (or into a map of their own on the slow path).
func (s *Store) decodeInto(t *schema.EntityType, e *Entry, attrs map[string]any, r *scanned, refs []refRow) error {
	e.ID, e.Name, e.Version, e.Status, e.RefIDs = r.id, r.name, r.version, r.status, nil
	clear(attrs)
	e.Attrs = attrs
	if !decodeFlatInto(t, r.raw, attrs) {
		m, err := decodeAttrs(s.reg, t.Name, r.raw)
		if err != nil {
			return fmt.Errorf("entry %d: %w", r.id, err)
		}
		e.Attrs = m
	}
	for _, rr := range refs {
		s.addRef(e, rr)
	}
	return nil
}

// decodeFlatInto is decodeFlat filling a caller's map; on false the map
// holds part of the object.
func decodeFlatInto(t *schema.EntityType, s string, m map[string]any) bool {
	p := flatParser{s: s}
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return p.i == len(p.s)
	}
	for {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		a := t.Attr(key)
		kind := schema.KindString
		if a != nil {
			kind = a.Type.Kind
		}
		v, ok := p.value(kind)
		if !ok {
			return false
		}
		if a != nil {
			m[key] = v
		}
		if p.eat('}') {
			return p.i == len(p.s)
		}
		if !p.eat(',') {
			return false
		}
	}
}

// value reads a scalar or a list of scalars.
func (p *flatParser) value(k schema.Kind) (any, bool) {
	if !p.eat('[') {
		return p.scalar(k)
	}
	l := []any{}
	if p.eat(']') {
		return l, true
	}
	for {
		x, ok := p.scalar(k)
		if !ok {
			return nil, false
		}
		l = append(l, x)
		if p.eat(']') {
			return l, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}
