// What the diff reads from the store: entry heads and bindings (load),
// identity key values when objects need them (loadKeys), and the
// attributes of matched entries while they are diffed (diffMatched).

package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
)

// load reads the heads of the live entries of the snapshot's types and,
// at the same time, the scope's bindings; then the identity key values of
// the types whose objects will be looked up by key.
func (e *Engine) load(ctx context.Context, snap *collectors.Snapshot) (*view, error) {
	type binding struct {
		oid string
		eid int64
	}
	var binds []binding
	bindErr := make(chan error, 1)
	go func() {
		bindErr <- e.store.EachBinding(ctx, snap.Scope, func(oid string, eid int64) {
			binds = append(binds, binding{oid, eid})
		})
	}()
	v := newView(snap)
	for _, t := range e.knownTypes(snap) {
		if err := e.store.EachHead(ctx, t, v.add); err != nil {
			<-bindErr //nolint:errcheck // wait for the reader; this error is the one to return
			return nil, fmt.Errorf("load %s entries: %w", t, err)
		}
	}
	if err := <-bindErr; err != nil {
		return nil, err
	}
	for _, b := range binds {
		v.bind(b.oid, b.eid)
	}
	if err := e.loadKeys(ctx, snap, v); err != nil {
		return nil, err
	}
	return v, nil
}

// knownTypes lists the snapshot's types, declared or reported, that the
// registry knows; identify reports the others as conflicts.
func (e *Engine) knownTypes(snap *collectors.Snapshot) []string {
	types := map[string]bool{}
	for _, t := range snap.Types {
		types[t] = true
	}
	for i := range snap.Objects {
		types[snap.Objects[i].Type] = true
	}
	var out []string
	for t := range types {
		if _, err := e.reg.Type(t); err == nil {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// loadKeys reads the identity key values of the entries of every type with
// an object no binding identifies: only such objects are looked up by key
// (matchType), so a scope whose objects are all bound reads none.
func (e *Engine) loadKeys(ctx context.Context, snap *collectors.Snapshot, v *view) error {
	for _, typ := range v.unbound(snap) {
		t, err := e.reg.Type(typ)
		if err != nil {
			continue
		}
		keys := t.IdentityFor(snap.Kind)
		if len(keys) == 0 || len(v.byType[typ]) == 0 {
			continue
		}
		err = e.store.EachTransient(ctx, typ, func(en *inventory.Entry) error {
			if ve := v.byID[en.ID]; ve != nil {
				ve.keys = entryKeySets(t, keys, en)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load %s identity keys: %w", typ, err)
		}
	}
	return nil
}

// unbound lists the types of the objects that no binding ties to a live
// entry of their type.
func (v *view) unbound(snap *collectors.Snapshot) []string {
	types := map[string]bool{}
	for i := range snap.Objects {
		o := &snap.Objects[i]
		if !types[o.Type] && v.boundEntry(o.ID, o.Type) == nil {
			types[o.Type] = true
		}
	}
	out := make([]string, 0, len(types))
	for t := range types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// diffMatched diffs every matched object against its entry, reading the
// entries' attributes type by type and dropping each as soon as it is
// diffed: the view keeps no attributes, so memory does not grow with the
// scope's data. Items come back by object index; changes a better-ranked
// source may own are settled after the read, so no query runs inside it.
func (e *Engine) diffMatched(ctx context.Context, r *Result) (map[int][]Item, error) {
	out := map[int][]Item{}
	var pending []ranked
	for typ, objs := range r.matched() {
		t, err := e.reg.Type(typ)
		if err != nil {
			return nil, err
		}
		err = e.store.EachTransient(ctx, typ, func(en *inventory.Entry) error {
			i, ok := objs[en.ID]
			if !ok {
				return nil
			}
			items, checks := e.diffEntry(r, t, i, en)
			if len(items) > 0 {
				out[i] = append(out[i], items...)
			}
			pending = append(pending, checks...)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("diff %s entries: %w", typ, err)
		}
	}
	if err := e.keepUnowned(ctx, out, pending); err != nil {
		return nil, err
	}
	return out, nil
}

// matched maps, per type, the entries objects were identified as to the
// objects' indexes.
func (r *Result) matched() map[string]map[int64]int {
	out := map[string]map[int64]int{}
	for i, en := range r.ident.entry {
		if en == nil || r.ident.blocked[i] {
			continue
		}
		if out[en.Type] == nil {
			out[en.Type] = make(map[int64]int, len(r.view.byType[en.Type]))
		}
		out[en.Type][en.ID] = i
	}
	return out
}
