package ansible

import (
	"slices"

	"github.com/tana-cmdb/tana/inventory"
)

// Visibility is what one caller may see (package access provides it). The
// inventory asks it per type and attribute, so a list stays one query per
// host type; only an attribute whose readability depends on the entry is
// decided host by host.
type Visibility interface {
	// Rows filters the entries of typ the caller may read (nil: all).
	Rows(typ string) *inventory.AccessFilter
	// AttrRule says whether the caller may read attr of the entries of
	// typ it sees, or that it depends on each entry (perEntry).
	AttrRule(typ, attr string) (readable, perEntry bool)
	// CanRead decides one entry's attribute.
	CanRead(en *inventory.Entry, attr string) bool
}

// For returns the inventory as one caller sees it: the hosts vis lets it
// read and, of their attributes, those it may read. A group made from an
// attribute it may not read is left out: its name would tell the value.
func (inv *Inventory) For(vis Visibility) *Inventory {
	if vis == nil {
		return inv
	}
	v := *inv
	v.vis = vis
	v.hostTypes = make([]*hostType, len(inv.hostTypes))
	for i, ht := range inv.hostTypes {
		v.hostTypes[i] = ht.forCaller(vis)
	}
	return &v
}

// forCaller is a copy of the host type's plan without what vis hides.
func (ht *hostType) forCaller(vis Visibility) *hostType {
	c := *ht
	c.vis, c.rows = vis, vis.Rows(ht.t.Name)
	c.perEntry = map[string]bool{}
	readable := func(g getter) bool {
		attr := g.attr
		if g.name || g.address || attr == "" {
			return true
		}
		ok, per := vis.AttrRule(ht.t.Name, attr)
		if per {
			c.perEntry[attr] = true
		}
		return ok || per
	}
	// Values decided host by host cannot make group names or addresses:
	// a group or address would show what the host hides.
	solid := func(g getter) bool { return readable(g) && !c.perEntry[g.attr] }
	c.fields = slices.DeleteFunc(slices.Clone(ht.fields), func(f field) bool { return !readable(f.get) })
	c.address = slices.DeleteFunc(slices.Clone(ht.address), func(g getter) bool { return !solid(g) })
	c.keyed = slices.DeleteFunc(slices.Clone(ht.keyed), func(k keyedGroup) bool { return !solid(k.get) })
	c.filters = make([][]filter, len(ht.filters))
	for i, fs := range ht.filters {
		if !slices.ContainsFunc(fs, func(f filter) bool { return !solid(f.get) }) {
			c.filters[i] = fs
		}
	}
	return &c
}

// hidden reports whether the caller may not read attr of host h.
func (ht *hostType) hidden(h *host, attr string) bool {
	if ht.vis == nil || !ht.perEntry[attr] {
		return false
	}
	return !ht.vis.CanRead(h.entry(), attr)
}

// entry is the host as an entry, its attributes decoded: for the few
// attributes whose readability depends on the entry. It is built once
// per host.
func (h *host) entry() *inventory.Entry {
	if h.ent != nil {
		return h.ent
	}
	en := &inventory.Entry{Type: h.ht.t.Name, Name: h.name, Attrs: make(map[string]any, len(h.slots))}
	h.ent = en
	for i, a := range h.ht.t.Attributes {
		if h.slots[i] != "" {
			en.Attrs[a.Name] = h.value(i)
		}
	}
	for _, r := range h.refs {
		en.Attrs[r.Attr] = r.Name
	}
	return en
}
