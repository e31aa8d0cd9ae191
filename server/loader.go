package server

import (
	"context"
	"sort"
	"sync"

	"github.com/tana-cmdb/tana/inventory"
)

// loader batches the loading of referenced entries and back-references for
// one request. graphql-go resolves a whole level of the result before it
// calls the thunks fields returned, so resolvers only note the ids they
// need and return a thunk; the first thunk of a level loads every id noted
// so far in one GetMany or Referrers call. The query count then grows with
// the depth of the query, not with the number of results.
type loader struct {
	store *inventory.Store
	ctx   context.Context

	mu       sync.Mutex
	entries  map[int64]*inventory.Entry
	pending  map[int64]bool
	backrefs map[backrefKey]map[int64][]*inventory.Entry
	brWanted map[backrefKey]map[int64]bool
}

// backrefKey names a back-reference: entries of From whose Attr points here.
type backrefKey struct{ From, Attr string }

type loaderKey struct{}

func newLoader(s *inventory.Store) *loader {
	return &loader{
		store:    s,
		entries:  map[int64]*inventory.Entry{},
		pending:  map[int64]bool{},
		backrefs: map[backrefKey]map[int64][]*inventory.Entry{},
		brWanted: map[backrefKey]map[int64]bool{},
	}
}

func withLoader(ctx context.Context, l *loader) context.Context {
	l.ctx = ctx
	return context.WithValue(ctx, loaderKey{}, l)
}

// loaderFrom returns the request's loader, or a fresh one for callers (a
// resolver run outside the HTTP handler) that did not install one.
func loaderFrom(ctx context.Context, s *inventory.Store) *loader {
	if l, ok := ctx.Value(loaderKey{}).(*loader); ok {
		return l
	}
	l := newLoader(s)
	l.ctx = ctx
	return l
}

// prime caches entries already loaded (a page of a connection), so a later
// reference to them costs nothing.
func (l *loader) prime(es []*inventory.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range es {
		l.entries[e.ID] = e
	}
}

// refs notes ids and returns a thunk yielding their entries in order
// (missing ones skipped).
func (l *loader) refs(ids []int64) func() (any, error) {
	l.mu.Lock()
	for _, id := range ids {
		if l.entries[id] == nil {
			l.pending[id] = true
		}
	}
	l.mu.Unlock()
	return func() (any, error) {
		if err := l.flushUnless(ids...); err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		out := make([]*inventory.Entry, 0, len(ids))
		for _, id := range ids {
			if e := l.entries[id]; e != nil {
				out = append(out, e)
			}
		}
		return out, nil
	}
}

// ref is refs for a single reference: the thunk yields one entry or nil.
func (l *loader) ref(id int64) func() (any, error) {
	l.mu.Lock()
	if l.entries[id] == nil {
		l.pending[id] = true
	}
	l.mu.Unlock()
	return func() (any, error) {
		if err := l.flushUnless(id); err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if e := l.entries[id]; e != nil {
			return e, nil
		}
		return nil, nil
	}
}

// flushUnless loads every pending id in one batch, unless the ids a thunk
// needs are loaded already. That check keeps levels apart: a thunk's
// completion notes the next level's ids (a host's cluster), and the next
// thunk of this level must not load those early, a few at a time.
func (l *loader) flushUnless(ids ...int64) error {
	l.mu.Lock()
	missing := false
	for _, id := range ids {
		if l.entries[id] == nil && l.pending[id] {
			missing = true
		}
	}
	if !missing || len(l.pending) == 0 {
		l.mu.Unlock()
		return nil
	}
	batch := sortedIDs(l.pending)
	l.pending = map[int64]bool{}
	l.mu.Unlock()
	got, err := l.store.GetMany(l.ctx, batch)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, e := range got {
		l.entries[id] = e
	}
	return nil
}

// referrers notes a target id and returns a thunk yielding the entries of
// key.From whose key.Attr references it.
func (l *loader) referrers(key backrefKey, id int64) func() (any, error) {
	l.mu.Lock()
	if _, done := l.backrefs[key][id]; !done {
		if l.brWanted[key] == nil {
			l.brWanted[key] = map[int64]bool{}
		}
		l.brWanted[key][id] = true
	}
	l.mu.Unlock()
	return func() (any, error) {
		l.mu.Lock()
		_, done := l.backrefs[key][id]
		l.mu.Unlock()
		if done {
			return l.loadedReferrers(key, id), nil
		}
		if err := l.flushReferrers(key); err != nil {
			return nil, err
		}
		return l.loadedReferrers(key, id), nil
	}
}

func (l *loader) loadedReferrers(key backrefKey, id int64) []*inventory.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.backrefs[key][id]
}

func (l *loader) flushReferrers(key backrefKey) error {
	l.mu.Lock()
	wanted := l.brWanted[key]
	if len(wanted) == 0 {
		l.mu.Unlock()
		return nil
	}
	delete(l.brWanted, key)
	l.mu.Unlock()
	ids := sortedIDs(wanted)
	got, err := l.store.Referrers(l.ctx, key.From, key.Attr, ids)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.backrefs[key]
	if m == nil {
		m = map[int64][]*inventory.Entry{}
		l.backrefs[key] = m
	}
	for _, id := range ids {
		m[id] = got[id] // nil marks "loaded, none"
		for _, e := range got[id] {
			l.entries[e.ID] = e
		}
	}
	return nil
}

func sortedIDs(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
