package inventory

import (
	"context"
	"database/sql"
	"fmt"

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

// EachTransient streams every live entry of a type, with references, in
// no particular order, into one Entry and one Attrs map reused from row to
// row: fn must keep neither, only values taken out of them. Reconcile's
// diff reads a whole scope this way without allocating a map per entry.
func (s *Store) EachTransient(ctx context.Context, typ string, fn func(*Entry) error) error {
	t, err := s.reg.Type(typ)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, name, attrs, version, status, ref_ids
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
	names := map[int64]string{}
	for batch := range batches {
		if err := s.loadRefNames(ctx, batch, names); err != nil {
			return err
		}
		for i := range batch {
			if err := s.decodeInto(t, e, attrs, &batch[i], names); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return <-scanErr
}

// loadRefNames parses the references of a batch (scanned.refs) and adds
// to names the referenced entries not named yet: one query.
func (s *Store) loadRefNames(ctx context.Context, batch []scanned, names map[int64]string) error {
	var missing []int64
	for i := range batch {
		r := &batch[i]
		var err error
		if r.refs, err = refIDMap(r.refIDs); err != nil {
			return fmt.Errorf("entry %d: %w", r.id, err)
		}
		for _, ids := range r.refs {
			for _, id := range ids {
				missing = unnamed(names, missing, id)
			}
		}
	}
	return s.nameIDs(ctx, s.db, 0, missing, names)
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
			if err := rows.Scan(&r.id, &r.name, &r.raw, &r.version, &status, &r.refIDs); err != nil {
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
// after clearing it (or into a map of their own on the slow path), with
// references (parsed by loadRefNames) named from names.
func (s *Store) decodeInto(t *schema.EntityType, e *Entry, attrs map[string]any, r *scanned, names map[int64]string) error {
	e.ID, e.Name, e.Version, e.Status = r.id, r.name, r.version, r.status
	clear(attrs)
	e.Attrs = attrs
	if !decodeFlatInto(t, r.raw, attrs) {
		m, err := decodeAttrs(s.reg, t.Name, r.raw)
		if err != nil {
			return fmt.Errorf("entry %d: %w", r.id, err)
		}
		e.Attrs = m
	}
	e.RefIDs = r.refs
	s.nameRefs(e, names)
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
