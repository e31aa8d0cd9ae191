package inventory

import (
	"context"
	"fmt"
	"maps"

	"github.com/tana-cmdb/tana/schema"
)

// Patch changes an entry: Attrs are merged (a nil value removes the
// attribute), Name renames it. Version is the version the caller read; a
// newer stored version fails the update with a conflict.
type Patch struct {
	Version int64
	Name    *string
	Attrs   map[string]any
}

// Create adds an entry.
func (s *Store) Create(ctx context.Context, meta Meta, typ, name string, attrs map[string]any) (*Entry, error) {
	var e *Entry
	err := s.InTx(ctx, func(tx *Tx) (err error) {
		e, err = tx.Create(ctx, meta, typ, name, attrs)
		return err
	})
	return e, err
}

// Create adds an entry in the transaction.
func (tx *Tx) Create(ctx context.Context, meta Meta, typ, name string, attrs map[string]any) (*Entry, error) {
	t, err := tx.s.reg.Type(typ)
	if err != nil {
		return nil, err
	}
	norm, err := t.NormalizeAttrs(attrs)
	if err != nil {
		return nil, err
	}
	dropNils(norm)
	t.ApplyDefaults(norm)
	w := &write{label: t.Name + " " + fmt.Sprintf("%q", name), t: t, op: OpCreate, name: name, attrs: norm}
	if _, err := tx.apply(ctx, meta, []*write{w}); err != nil {
		return nil, err
	}
	return getEntry(ctx, tx, tx.s, "id = ?", w.id)
}

// Update changes an entry, checking the version the caller read.
func (s *Store) Update(ctx context.Context, meta Meta, id int64, p Patch) (*Entry, error) {
	var e *Entry
	err := s.InTx(ctx, func(tx *Tx) (err error) {
		e, err = tx.Update(ctx, meta, id, p)
		return err
	})
	return e, err
}

// Update changes an entry in the transaction.
func (tx *Tx) Update(ctx context.Context, meta Meta, id int64, p Patch) (*Entry, error) {
	old, err := getEntry(ctx, tx, tx.s, "id = ?"+tx.forUpdate(), id)
	if err != nil {
		return nil, err
	}
	if old.Deleted() {
		return nil, schema.Errorf(schema.ECONFLICT, "%s is deleted; restore it first", old)
	}
	if p.Version != 0 && p.Version != old.Version {
		return nil, schema.FieldErrorf(schema.ECONFLICT, "version", "%s was changed by someone else: you read version %d, it is now version %d; reload and retry", old, p.Version, old.Version)
	}
	w, err := patchWrite(tx.s.reg, old, p)
	if err != nil {
		return nil, err
	}
	if _, err := tx.apply(ctx, meta, []*write{w}); err != nil {
		return nil, err
	}
	return getEntry(ctx, tx, tx.s, "id = ?", id)
}

// patchWrite turns a patch of old into a write of its complete new state.
func patchWrite(reg *schema.Registry, old *Entry, p Patch) (*write, error) {
	t, err := reg.Type(old.Type)
	if err != nil {
		return nil, err
	}
	norm, err := t.NormalizeAttrs(p.Attrs)
	if err != nil {
		return nil, err
	}
	attrs := maps.Clone(old.Attrs)
	for k, v := range norm {
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	name := old.Name
	if p.Name != nil {
		name = *p.Name
	}
	return &write{label: old.String(), t: t, old: old, op: OpUpdate, name: name, attrs: attrs, expect: p.Version}, nil
}

// Delete soft-deletes an entry: it leaves searches and frees its name and
// unique values, but keeps its attributes, references and history.
// version 0 skips the version check.
func (s *Store) Delete(ctx context.Context, meta Meta, id, version int64) (*Entry, error) {
	var e *Entry
	err := s.InTx(ctx, func(tx *Tx) (err error) {
		e, err = tx.Delete(ctx, meta, id, version)
		return err
	})
	return e, err
}

// Delete soft-deletes an entry in the transaction.
func (tx *Tx) Delete(ctx context.Context, meta Meta, id, version int64) (*Entry, error) {
	return tx.setDeleted(ctx, meta, id, version, OpDelete)
}

// Restore brings back a soft-deleted entry with its attributes and
// references. It fails if its name or a unique value was taken meanwhile.
func (s *Store) Restore(ctx context.Context, meta Meta, id int64) (*Entry, error) {
	var e *Entry
	err := s.InTx(ctx, func(tx *Tx) (err error) {
		e, err = tx.Restore(ctx, meta, id)
		return err
	})
	return e, err
}

// Restore brings back a soft-deleted entry in the transaction.
func (tx *Tx) Restore(ctx context.Context, meta Meta, id int64) (*Entry, error) {
	return tx.setDeleted(ctx, meta, id, 0, OpRestore)
}

func (tx *Tx) setDeleted(ctx context.Context, meta Meta, id, version int64, op Op) (*Entry, error) {
	old, err := getEntry(ctx, tx, tx.s, "id = ?"+tx.forUpdate(), id)
	if err != nil {
		return nil, err
	}
	if op == OpDelete && old.Deleted() {
		return nil, schema.Errorf(schema.ECONFLICT, "%s is already deleted", old)
	}
	if op == OpRestore && !old.Deleted() {
		return nil, schema.Errorf(schema.ECONFLICT, "%s is not deleted", old)
	}
	if version != 0 && version != old.Version {
		return nil, schema.FieldErrorf(schema.ECONFLICT, "version", "%s was changed by someone else: you read version %d, it is now version %d", old, version, old.Version)
	}
	t, err := tx.s.reg.Type(old.Type)
	if err != nil {
		return nil, err
	}
	w := &write{label: old.String(), t: t, old: old, op: op, name: old.Name, attrs: old.Attrs, changes: map[string]Change{}}
	if op == OpDelete {
		w.reason = meta.Reason
	}
	if _, err := tx.apply(ctx, meta, []*write{w}); err != nil {
		if op == OpRestore && schema.ErrorCode(err) == schema.ECONFLICT {
			return nil, schema.Errorf(schema.ECONFLICT, "cannot restore %s: its name or a unique value is taken by a live entry", old)
		}
		return nil, err
	}
	return getEntry(ctx, tx, tx.s, "id = ?", id)
}

func dropNils(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
}
