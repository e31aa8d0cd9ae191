package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// view is what the store holds for one snapshot: the live entries of the
// snapshot's types and the scope's bindings.
type view struct {
	byID    map[int64]*inventory.Entry
	byType  map[string][]*inventory.Entry
	byName  map[string]map[string]*inventory.Entry // type → name → entry
	bound   map[string]int64                       // object id → entry id, this scope
	boundTo map[int64]string                       // entry id → object id, this scope
}

func newView() *view {
	return &view{byID: map[int64]*inventory.Entry{}, byType: map[string][]*inventory.Entry{},
		byName: map[string]map[string]*inventory.Entry{}, bound: map[string]int64{},
		boundTo: map[int64]string{}}
}

func (v *view) add(e *inventory.Entry) {
	v.byID[e.ID] = e
	v.byType[e.Type] = append(v.byType[e.Type], e)
	if v.byName[e.Type] == nil {
		v.byName[e.Type] = map[string]*inventory.Entry{}
	}
	v.byName[e.Type][e.Name] = e
}

func (v *view) bind(objectID string, entryID int64) {
	v.bound[objectID] = entryID
	v.boundTo[entryID] = objectID
}

// identity is the outcome of identification: which entry each object is,
// and the conflicts that keep objects from being matched or created.
type identity struct {
	entry     []*inventory.Entry // by object index; nil when new or in conflict
	by        []string           // which key matched
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
	id := &identity{entry: make([]*inventory.Entry, n), by: make([]string, n), blocked: make([]bool, n),
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
	key     schema.IdentityKey
	named   bool // the key includes the entry name
	idx     map[string][]*inventory.Entry
	t       *schema.EntityType
	entries []*inventory.Entry
}

func (ki *keyIndex) lookup(val string) []*inventory.Entry {
	if ki.idx == nil {
		ki.idx = make(map[string][]*inventory.Entry, len(ki.entries))
		for _, e := range ki.entries {
			for _, v := range entryKeys(ki.t, ki.key, e) {
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
		ki := &keyIndex{key: key, t: t, entries: v.byType[t.Name]}
		for _, a := range key.Attrs {
			ki.named = ki.named || a == "name"
		}
		idxs[k] = ki
	}
	claims := map[int64][]int{}
	for _, i := range objs {
		if id.blocked[i] {
			continue
		}
		o := &snap.Objects[i]
		if eid, ok := v.bound[o.ID]; ok && v.byID[eid] != nil && v.byID[eid].Type == t.Name {
			id.entry[i], id.by[i] = v.byID[eid], "binding"
			claims[eid] = append(claims[eid], i)
			continue
		}
		e, by, conflict := id.matchKeys(t, o, v, idxs)
		if conflict != "" {
			id.blocked[i] = true
			id.conflicts = append(id.conflicts, Item{Kind: Conflict, Type: t.Name, Scope: snap.Scope, ObjectID: o.ID,
				EntryName: o.Name, Message: conflict})
			continue
		}
		if e != nil {
			id.entry[i], id.by[i] = e, by
			claims[e.ID] = append(claims[e.ID], i)
		}
	}
	for eid, is := range claims {
		if len(is) < 2 {
			continue
		}
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

// matchKeys tries the identity keys in order. A candidate found by a key
// with the name in it is rejected when a stronger key has values on both
// sides that differ (same name, different UUID: another VM); any candidate
// is rejected when it stands for another object of this snapshot.
func (id *identity) matchKeys(t *schema.EntityType, o *collectors.Object, v *view, idxs []*keyIndex) (*inventory.Entry, string, string) {
	for k, ki := range idxs {
		vals := id.objectKeys(t, ki.key, o)
		var cands []*inventory.Entry
		seen := map[int64]bool{}
		for _, val := range vals {
			for _, e := range ki.lookup(val) {
				if seen[e.ID] || ki.named && id.contradicts(t, o, e, idxs[:k]) {
					continue
				}
				if other, ok := v.boundTo[e.ID]; ok && other != o.ID {
					if _, present := id.objIndex[collectors.Ref{Type: t.Name, ID: other}]; present {
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
			return cands[0], strings.Join(ki.key.Attrs, "+"), ""
		}
		names := make([]string, len(cands))
		for j, e := range cands {
			names[j] = e.Name
		}
		sort.Strings(names)
		return nil, "", fmt.Sprintf("ambiguous: %s %s matches %d entries by %s (%s)", t.Name, o.ID, len(cands),
			strings.Join(ki.key.Attrs, "+"), strings.Join(names, ", "))
	}
	return nil, "", ""
}

func (id *identity) contradicts(t *schema.EntityType, o *collectors.Object, e *inventory.Entry, higher []*keyIndex) bool {
	for _, ki := range higher {
		if ki.named {
			continue
		}
		ov, ev := id.objectKeys(t, ki.key, o), entryKeys(t, ki.key, e)
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
