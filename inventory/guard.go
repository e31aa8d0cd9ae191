package inventory

import (
	"context"
	"slices"
)

// WriteCheck is one write a guard may refuse: the entry as it was (nil for
// a create), as it will be, and the attributes that change ("name" for a
// rename; every attribute set, for a create).
type WriteCheck struct {
	Op      Op
	Old     *Entry
	New     *Entry
	Changed []string
}

// WriteGuard refuses a write by returning an error. It runs inside the
// write's transaction, on the state the write is made from, before
// anything is written: what it allows is what happens.
type WriteGuard func(WriteCheck) error

type guardKey struct{}

// WithWriteGuard returns ctx whose writes guard checks (package access
// puts a caller's permissions there).
func WithWriteGuard(ctx context.Context, g WriteGuard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

// guard runs ctx's write guard, if any, on the writes of a batch.
func guard(ctx context.Context, ws []*write) error {
	g, _ := ctx.Value(guardKey{}).(WriteGuard)
	if g == nil {
		return nil
	}
	for _, w := range ws {
		if w.op == OpUnchanged {
			continue
		}
		if err := g(w.check()); err != nil {
			return err
		}
	}
	return nil
}

// check describes a write for a guard.
func (w *write) check() WriteCheck {
	c := WriteCheck{Op: w.op, Old: w.old, New: &Entry{Type: w.t.Name, Name: w.name, Attrs: w.attrs}}
	switch {
	case w.op == OpCreate:
		for k := range w.attrs {
			c.Changed = append(c.Changed, k)
		}
	case w.op == OpUpdate:
		for k := range w.changes {
			c.Changed = append(c.Changed, k)
		}
	}
	if w.old != nil {
		c.New.ID, c.New.Status = w.old.ID, w.old.Status
	}
	slices.Sort(c.Changed)
	return c
}
