package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// view is what the store holds for one snapshot: the heads of the live
// entries of the snapshot's types and the scope's bindings. It keeps no
// attributes: identity key values are loaded only when some object needs
// them (loadKeys), and the diff reads attributes again as it goes
// (diffMatched), so a large scope is never held in memory whole.
type view struct {
	byID   map[int64]*ventry
	byType map[string][]*ventry
	byName map[string]map[string]*ventry // type → name → entry
	bound  map[string]int64              // object id → entry id, this scope
	counts map[string]int                // the snapshot's objects per type, to size maps
	slab   []ventry                      // entries are allocated in blocks, not one by one
}

// ventry is an entry as identification sees it.
type ventry struct {
	inventory.EntryHead
	object  string // the scope's object bound to the entry, when isBound
	isBound bool
	keys    [][]string // values per identity key of the snapshot's kind, once loaded
}

// keyValues is the entry's values for the k-th identity key; none when
// they were not loaded.
func (e *ventry) keyValues(k int) []string {
	if k < len(e.keys) {
		return e.keys[k]
	}
	return nil
}

// newView returns an empty view sized for a snapshot's objects.
func newView(snap *collectors.Snapshot) *view {
	counts := map[string]int{}
	for i := range snap.Objects {
		counts[snap.Objects[i].Type]++
	}
	n := len(snap.Objects)
	return &view{byID: make(map[int64]*ventry, n), byType: map[string][]*ventry{},
		byName: map[string]map[string]*ventry{}, bound: make(map[string]int64, n), counts: counts}
}

func (v *view) add(h inventory.EntryHead) {
	if len(v.slab) == cap(v.slab) {
		v.slab = make([]ventry, 0, 1024)
	}
	v.slab = append(v.slab, ventry{EntryHead: h})
	e := &v.slab[len(v.slab)-1]
	v.byID[e.ID] = e
	if v.byName[e.Type] == nil {
		v.byName[e.Type] = make(map[string]*ventry, v.counts[e.Type])
		v.byType[e.Type] = make([]*ventry, 0, v.counts[e.Type])
	}
	v.byType[e.Type] = append(v.byType[e.Type], e)
	v.byName[e.Type][e.Name] = e
}

// bind records a binding of the scope to an entry of the view.
func (v *view) bind(objectID string, entryID int64) {
	e := v.byID[entryID]
	if e == nil {
		return
	}
	v.bound[objectID] = entryID
	e.object, e.isBound = objectID, true
}

// boundEntry is the entry of type typ the scope binds objectID to, or nil.
func (v *view) boundEntry(objectID, typ string) *ventry {
	eid, ok := v.bound[objectID]
	if !ok {
		return nil
	}
	if e := v.byID[eid]; e != nil && e.Type == typ {
		return e
	}
	return nil
}

// identity is the outcome of identification: which entry each object is,
// and the conflicts that keep objects from being matched or created.
type identity struct {
	entry     []*ventry          // by object index; nil when new or in conflict
	blocked   []bool             // in conflict: neither diffed nor created
	dupName   map[[2]string]bool // type+name reported by two objects
	objIndex  map[collectors.Ref]int
	objName   []string // the objects' names, for references to new objects
	conflicts []Item
}

// identify matches the snapshot's objects to entries, type by type with
// referenced types first (a DNS record's zone is part of its identity):
// first by the scope's binding, then by the type's identity keys for the
// source kind in priority order. Ambiguity and duplicates become conflicts.
func identify(reg *schema.Registry, snap *collectors.Snapshot, v *view) *identity {
	n := len(snap.Objects)
	id := &identity{entry: make([]*ventry, n), blocked: make([]bool, n),
		dupName: map[[2]string]bool{}, objIndex: make(map[collectors.Ref]int, n), objName: make([]string, n)}
	byType := map[string][]int{}
	for i := range snap.Objects {
		o := &snap.Objects[i]
		id.objName[i] = o.Name
		byType[o.Type] = append(byType[o.Type], i)
	}
	id.duplicates(snap, byType)
	for _, typ := range typeOrder(reg, byType) {
		t, err := reg.Type(typ)
		if err != nil {
			for _, i := range byType[typ] {
				id.blocked[i] = true
			}
			id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: typ, Scope: snap.Scope,
				Message: fmt.Sprintf("the source reports %d objects of unknown type %q", len(byType[typ]), typ)})
			continue
		}
		id.matchType(t, snap, v, byType[typ])
	}
	return id
}

// duplicates blocks objects whose ID appears twice and notes names that do.
func (id *identity) duplicates(snap *collectors.Snapshot, byType map[string][]int) {
	for typ, idx := range byType {
		dupIDs := map[string][]int{}
		names := make(map[string]int, len(idx))
		for _, i := range idx {
			o := &snap.Objects[i]
			names[o.Name]++
			ref := collectors.Ref{Type: typ, ID: o.ID}
			if first, ok := id.objIndex[ref]; ok {
				if dupIDs[o.ID] == nil {
					dupIDs[o.ID] = []int{first}
				}
				dupIDs[o.ID] = append(dupIDs[o.ID], i)
				continue
			}
			id.objIndex[ref] = i
		}
		for oid, is := range dupIDs {
			delete(id.objIndex, collectors.Ref{Type: typ, ID: oid})
			for _, i := range is {
				id.blocked[i] = true
			}
			id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: typ, Scope: snap.Scope, ObjectID: oid,
				Message: fmt.Sprintf("object %s is reported %d times", oid, len(is))})
		}
		for name, n := range names {
			if n < 2 {
				continue
			}
			var oids []string
			for _, i := range idx {
				if snap.Objects[i].Name == name {
					oids = append(oids, snap.Objects[i].ID)
				}
			}
			sort.Strings(oids)
			id.dupName[[2]string{typ, name}] = true
			id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: typ, Scope: snap.Scope, ObjectID: "name:" + name,
				EntryName: name, Message: fmt.Sprintf("%d %s objects are named %q (%s)", len(oids), typ, name, strings.Join(oids, ", "))})
		}
	}
}

// typeOrder lists the snapshot's types with referenced types first.
func typeOrder(reg *schema.Registry, byType map[string][]int) []string {
	var names []string
	for t := range byType {
		names = append(names, t)
	}
	sort.Strings(names)
	var out []string
	placed := map[string]bool{}
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ready := true
			if t, err := reg.Type(n); err == nil {
				for _, a := range t.Refs() {
					if r := a.Type.RefType; r != n && byType[r] != nil && !placed[r] {
						ready = false
					}
				}
			}
			if ready {
				out, placed[n], progress = append(out, n), true, true
			}
		}
		if !progress { // a reference cycle: take the rest as they come
			for _, n := range names {
				if !placed[n] {
					out, placed[n] = append(out, n), true
				}
			}
		}
	}
	return out
}

// keyIndex maps one identity key's values to the entries holding them,
// built on first use: when every object has a binding, none is built.
type keyIndex struct {
	k       int // the key's place in the type's keys and in ventry.keys
	key     schema.IdentityKey
	named   bool // the key includes the entry name
	idx     map[string][]*ventry
	entries []*ventry
}

func (ki *keyIndex) lookup(val string) []*ventry {
	if ki.idx == nil {
		ki.idx = make(map[string][]*ventry, len(ki.entries))
		for _, e := range ki.entries {
			for _, v := range e.keyValues(ki.k) {
				ki.idx[v] = append(ki.idx[v], e)
			}
		}
	}
	return ki.idx[val]
}

func (id *identity) matchType(t *schema.EntityType, snap *collectors.Snapshot, v *view, objs []int) {
	keys := t.IdentityFor(snap.Kind)
	idxs := make([]*keyIndex, len(keys))
	for k, key := range keys {
		ki := &keyIndex{k: k, key: key, entries: v.byType[t.Name]}
		for _, a := range key.Attrs {
			ki.named = ki.named || a == "name"
		}
		idxs[k] = ki
	}
	claims := claims{first: make(map[int64]int, len(objs))}
	for _, i := range objs {
		if id.blocked[i] {
			continue
		}
		o := &snap.Objects[i]
		if e := v.boundEntry(o.ID, t.Name); e != nil {
			id.entry[i] = e
			claims.add(e.ID, i)
			continue
		}
		e, conflict := id.matchKeys(t, o, idxs)
		if conflict != "" {
			id.blocked[i] = true
			id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: t.Name, Scope: snap.Scope, ObjectID: o.ID,
				EntryName: o.Name, Message: conflict})
			continue
		}
		if e != nil {
			id.entry[i] = e
			claims.add(e.ID, i)
		}
	}
	for eid, is := range claims.more {
		var oids []string
		for _, i := range is {
			id.entry[i], id.blocked[i] = nil, true
			oids = append(oids, snap.Objects[i].ID)
		}
		sort.Strings(oids)
		e := v.byID[eid]
		id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: t.Name, Scope: snap.Scope, EntryID: eid, EntryName: e.Name,
			Message: fmt.Sprintf("%d objects (%s) all identify as %s %q", len(is), strings.Join(oids, ", "), t.Name, e.Name)})
	}
}

// claims records the objects that identified as each entry: an entry
// claimed twice is a conflict. Nearly every entry is claimed once, so the
// first claim is kept apart from further ones, without a slice each.
type claims struct {
	first map[int64]int
	more  map[int64][]int // every claim, for entries claimed twice or more
}

func (c *claims) add(eid int64, i int) {
	j, ok := c.first[eid]
	if !ok {
		c.first[eid] = i
		return
	}
	if c.more == nil {
		c.more = map[int64][]int{}
	}
	if c.more[eid] == nil {
		c.more[eid] = []int{j}
	}
	c.more[eid] = append(c.more[eid], i)
}

// matchKeys tries the identity keys in order. A candidate found by a key
// with the name in it is rejected when a stronger key has values on both
// sides that differ (same name, different UUID: another VM); any candidate
// is rejected when it stands for another object of this snapshot.
func (id *identity) matchKeys(t *schema.EntityType, o *collectors.Object, idxs []*keyIndex) (*ventry, string) {
	for k, ki := range idxs {
		vals := id.objectKeys(t, ki.key, o)
		var cands []*ventry
		seen := map[int64]bool{}
		for _, val := range vals {
			for _, e := range ki.lookup(val) {
				if seen[e.ID] || ki.named && id.contradicts(t, o, e, idxs[:k]) {
					continue
				}
				if e.isBound && e.object != o.ID {
					if _, present := id.objIndex[collectors.Ref{Type: t.Name, ID: e.object}]; present {
						continue
					}
				}
				seen[e.ID] = true
				cands = append(cands, e)
			}
		}
		switch len(cands) {
		case 0:
			continue
		case 1:
			return cands[0], ""
		}
		names := make([]string, len(cands))
		for j, e := range cands {
			names[j] = e.Name
		}
		sort.Strings(names)
		return nil, fmt.Sprintf("ambiguous: %s %s matches %d entries by %s (%s)", t.Name, o.ID, len(cands),
			strings.Join(ki.key.Attrs, "+"), strings.Join(names, ", "))
	}
	return nil, ""
}

func (id *identity) contradicts(t *schema.EntityType, o *collectors.Object, e *ventry, higher []*keyIndex) bool {
	for _, ki := range higher {
		if ki.named {
			continue
		}
		ov, ev := id.objectKeys(t, ki.key, o), e.keyValues(ki.k)
		if len(ov) > 0 && len(ev) > 0 && !overlap(ov, ev) {
			return true
		}
	}
	return false
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
