package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RawEntry is a live entry as the store keeps it: attributes as their
// stored JSON object, references as ids with the referenced entries'
// names. It is for bulk readers that re-encode entries (the Ansible
// inventory) and need not build a map per entry.
type RawEntry struct {
	ID      int64
	Name    string
	Version int64
	Attrs   string   // JSON object of every non-reference attribute
	Refs    []RawRef // in list order per attribute
	Stale   bool     // its source no longer reports it (status stale)
}

// RawRef is one reference of a RawEntry.
type RawRef struct {
	Attr string
	ID   int64
	Name string
}

// EachRaw streams every live entry of a type in name order, as Each does,
// but without decoding attributes. Entries are read a batch ahead in
// another goroutine, so reading overlaps with fn's work. The entry passed
// to fn is reused: fn must not keep it.
func (s *Store) EachRaw(ctx context.Context, typ string, fn func(*RawEntry) error) error {
	return s.EachRawVisible(ctx, typ, nil, fn)
}

// EachRawVisible is EachRaw over the entries an access filter keeps (nil
// keeps all): still one query.
func (s *Store) EachRawVisible(ctx context.Context, typ string, af *AccessFilter, fn func(*RawEntry) error) error {
	t, err := s.reg.Type(typ)
	if err != nil {
		return err
	}
	cond, args := "1 = 1", []any{typ}
	if !af.All() {
		var aargs []any
		if cond, aargs, err = s.accessSQL(t, af); err != nil {
			return err
		}
		args = append(args, aargs...)
	}
	//nolint:rowserrcheck // readRaw checks rows.Err
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT e.id, e.name, e.attrs, e.version, e.ref_ids, e.status = 'stale'
		FROM entries e WHERE e.type = ? AND e.deleted_at IS NULL AND `+cond+` ORDER BY `+s.collate("e.name")+", e.id"), args...)
	if err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, mapError(err))
	}
	batches := make(chan []RawEntry, 2)
	free := make(chan []RawEntry, 3) // batches fn is done with, reused with their Refs
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		defer rows.Close()
		readErr <- s.readRaw(ctx, typ, rows, batches, free, done)
	}()
	defer func() {
		close(done)
		for range batches { // let the reader finish
		}
	}()
	for batch := range batches {
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		select {
		case free <- batch:
		default:
		}
	}
	return <-readErr
}

// readRaw scans rows into batches, names their references and sends them
// until the rows end or done is closed.
func (s *Store) readRaw(ctx context.Context, typ string, rows *sql.Rows, batches, free chan []RawEntry, done chan struct{}) error {
	names := map[int64]string{}
	refIDs := make([]string, 0, eachBatch)
	newBatch := func() []RawEntry {
		select {
		case b := <-free:
			return b[:0]
		default:
			return make([]RawEntry, 0, eachBatch)
		}
	}
	send := func(batch []RawEntry) error {
		if err := s.nameRawRefs(ctx, batch, refIDs, names); err != nil {
			return err
		}
		refIDs = refIDs[:0]
		select {
		case batches <- batch:
			return nil
		case <-done:
			return errStopped
		}
	}
	batch := newBatch()
	for rows.Next() {
		batch = batch[:len(batch)+1] // reuse the slot, and its Refs
		e := &batch[len(batch)-1]
		var ids string
		if err := rows.Scan(&e.ID, &e.Name, &e.Attrs, &e.Version, &ids, &e.Stale); err != nil {
			return fmt.Errorf("stream %s entries: %w", typ, err)
		}
		refIDs = append(refIDs, ids)
		if len(batch) == eachBatch {
			if err := send(batch); err != nil {
				return err
			}
			batch = newBatch()
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, mapError(err))
	}
	if len(batch) > 0 {
		return send(batch)
	}
	return nil
}

// errStopped ends a reader whose consumer has returned.
var errStopped = errors.New("stopped")

// nameRawRefs fills the references of a batch from their entries'
// ref_ids, with names from the cache or, for ids not seen yet, one query.
func (s *Store) nameRawRefs(ctx context.Context, batch []RawEntry, refIDs []string, names map[int64]string) error {
	var missing []int64
	for i := range batch {
		refs, err := parseRefIDs(refIDs[i], batch[i].Refs[:0])
		if err != nil {
			return fmt.Errorf("entry %d: %w", batch[i].ID, err)
		}
		batch[i].Refs = refs
		for _, r := range refs {
			missing = unnamed(names, missing, r.ID)
		}
	}
	if err := s.nameIDs(ctx, s.db, 0, missing, names); err != nil {
		return err
	}
	for i := range batch {
		for j := range batch[i].Refs {
			batch[i].Refs[j].Name = names[batch[i].Refs[j].ID]
		}
	}
	return nil
}

// parseRefIDs appends the references of an entries.ref_ids value
// ("attr:id,attr:id") to out.
func parseRefIDs(s string, out []RawRef) ([]RawRef, error) {
	err := eachRefID(s, func(attr string, id int64) { out = append(out, RawRef{Attr: attr, ID: id}) })
	return out, err
}

// eachRefID calls fn with each reference of an entries.ref_ids value.
func eachRefID(s string, fn func(attr string, id int64)) error {
	for s != "" {
		var tok string
		tok, s, _ = strings.Cut(s, ",")
		attr, id, ok := strings.Cut(tok, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("malformed ref_ids %q", tok)
		}
		fn(attr, n)
	}
	return nil
}
