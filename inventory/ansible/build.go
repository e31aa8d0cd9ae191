package ansible

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// getter finds one value of a host: its name, an attribute, or an
// attribute of a referenced entry.
type getter struct {
	name       bool
	address    bool // ansible_host: computed from HostAddress
	attr       string
	idx        int    // attr's index in the host type's attributes
	ref        bool   // attr is a reference
	target     string // referenced type, for "ref.attr"
	targetAttr string
	list       bool // attr is a list of references
	family     bool // the guest OS family of attr (guest_os)
}

// plain reports whether the getter is a stored, non-reference attribute,
// whose raw JSON can be written as it is.
func (g getter) plain() bool {
	return !g.name && !g.address && !g.ref && !g.family
}

// refTables holds the needed attributes of referenced entries: type → id →
// attributes, loaded once per type for a whole inventory.
type refTables map[string]map[int64]map[string]any

func (g getter) value(h *host, refs refTables) any {
	switch {
	case g.name:
		return h.name
	case g.family:
		return osFamily(h.value(g.idx))
	case !g.ref:
		return h.value(g.idx)
	case g.target == "":
		return h.refNames(g)
	}
	tbl := refs[g.target]
	var out []any
	for _, r := range h.refs {
		if r.Attr != g.attr {
			continue
		}
		v := tbl[r.ID][g.targetAttr]
		if !g.list {
			return v
		}
		if v != nil {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// host is the host being written: its stored attribute JSON cut into one
// raw value per attribute of its type, and its references.
type host struct {
	ht    *hostType
	name  string
	slots []string // raw JSON by attribute index; "" when absent
	refs  []inventory.RawRef
	vals  []any // slots decoded on demand
	done  []bool
	order []keySlot        // the previous entry's keys, in stored order
	stale bool             // its source no longer reports it: it goes in StaleGroup
	ent   *inventory.Entry // the host decoded, when a caller's view needs it
}

// keySlot is a stored key and its slot (-1: not an attribute of the type).
type keySlot struct {
	key string
	idx int
}

func (ht *hostType) newHost() *host {
	n := len(ht.t.Attributes)
	return &host{ht: ht, slots: make([]string, n), vals: make([]any, n), done: make([]bool, n)}
}

// load makes h the entry e. Its references are copied: e is reused by
// the store.
func (h *host) load(e *inventory.RawEntry) error {
	h.name, h.stale, h.ent = e.Name, e.Stale, nil
	h.refs = append(h.refs[:0], e.Refs...)
	clear(h.slots)
	clear(h.vals)
	clear(h.done)
	k := 0
	ok := eachMember(e.Attrs, func(key, raw string) {
		// Entries of a type mostly store the same keys in the same order:
		// check the key at this position last time before hashing.
		if k < len(h.order) && h.order[k].key == key {
			if i := h.order[k].idx; i >= 0 {
				h.slots[i] = raw
			}
			k++
			return
		}
		i, ok := h.ht.index[key]
		if !ok {
			i = -1
		} else {
			h.slots[i] = raw
		}
		if k < len(h.order) {
			h.order[k] = keySlot{key, i}
		} else {
			h.order = append(h.order, keySlot{key, i})
		}
		k++
	})
	if !ok {
		return fmt.Errorf("%s %q: stored attributes are not a JSON object", h.ht.t.Name, e.Name)
	}
	return nil
}

// hostOf is the host of a decoded entry (for --host).
func (ht *hostType) hostOf(e *inventory.Entry) (*host, error) {
	h := ht.newHost()
	h.name = e.Name
	for i, a := range ht.t.Attributes {
		v, ok := e.Attrs[a.Name]
		if !ok {
			continue
		}
		if ids := e.RefIDs[a.Name]; len(ids) > 0 {
			names, _ := v.([]any)
			for j, id := range ids {
				r := inventory.RawRef{Attr: a.Name, ID: id}
				if !a.Type.List {
					r.Name, _ = v.(string)
				} else if j < len(names) {
					r.Name, _ = names[j].(string)
				}
				h.refs = append(h.refs, r)
			}
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %s: %w", ht.t.Name, e.Name, a.Name, err)
		}
		h.slots[i] = string(raw)
	}
	return h, nil
}

// value is attribute i, decoded.
func (h *host) value(i int) any {
	if !h.done[i] {
		h.vals[i] = decodeRaw(h.slots[i], h.ht.t.Attributes[i].Type.Kind)
		h.done[i] = true
	}
	return h.vals[i]
}

// refNames is a reference attribute as the store shows it: the name of
// the referenced entry, or the list of names (an empty list is stored).
func (h *host) refNames(g getter) any {
	var names []any
	for _, r := range h.refs {
		if r.Attr == g.attr {
			if !g.list {
				return r.Name
			}
			names = append(names, r.Name)
		}
	}
	if names == nil {
		return h.value(g.idx)
	}
	return names
}

func (h *host) hasRefs(attr string) bool {
	for _, r := range h.refs {
		if r.Attr == attr {
			return true
		}
	}
	return false
}

// appendRefNames appends what refNames returns, without building it.
func (h *host) appendRefNames(b []byte, g getter, allowTemplates bool) []byte {
	if g.list {
		b = append(b, '[')
	}
	n := 0
	for _, r := range h.refs {
		if r.Attr != g.attr {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendCMDBString(b, r.Name, allowTemplates)
		if !g.list {
			return b
		}
	}
	return append(b, ']')
}

// included says whether an entry becomes a host: templates and powered-off
// VMs only when asked for.
func (inv *Inventory) included(h *host) bool {
	if i := h.ht.template; i >= 0 && !inv.opts.IncludeTemplates && h.value(i) == true {
		return false
	}
	if i := h.ht.power; i >= 0 && !inv.opts.IncludePoweredOff && h.value(i) == "poweredOff" {
		return false
	}
	return true
}

// address is ansible_host: the first non-empty HostAddress value (the
// first element of a list).
func (ht *hostType) addressOf(h *host, refs refTables) any {
	for _, g := range ht.address {
		v := g.value(h, refs)
		if l, ok := v.([]any); ok {
			if len(l) == 0 {
				continue
			}
			v = l[0]
		}
		if v == nil || v == "" {
			continue
		}
		return pyString(v)
	}
	return nil
}

// appendHostvars appends one host's vars as a JSON object, keys sorted.
// Stored attributes are copied from the store's JSON.
func (ht *hostType) appendHostvars(b []byte, h *host, refs refTables, allowTemplates bool) []byte {
	b = append(b, '{')
	n := 0
	for i := range ht.fields {
		f := &ht.fields[i]
		if ht.hidden(h, f.get.attr) {
			continue
		}
		if f.get.plain() {
			raw := h.slots[f.get.idx]
			if raw == "" || raw == "null" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, f.key...)
			b = appendRaw(b, raw, ht.t.Attributes[f.get.idx].Type.Kind, allowTemplates)
			continue
		}
		if f.get.ref && f.get.target == "" && h.hasRefs(f.get.attr) {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, f.key...)
			b = h.appendRefNames(b, f.get, allowTemplates)
			continue
		}
		var v any
		if f.get.address {
			v = ht.addressOf(h, refs)
		} else {
			v = f.get.value(h, refs)
		}
		if v == nil {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, f.key...)
		b = appendCMDBValue(b, v, allowTemplates)
	}
	return append(b, '}')
}

// loadRefs reads, once per referenced type, the attributes RefAttrs, keyed
// groups and filters need.
func (inv *Inventory) loadRefs(ctx context.Context) (refTables, error) {
	types := make([]string, 0, len(inv.refTypes))
	for t := range inv.refTypes {
		types = append(types, t)
	}
	sort.Strings(types)
	refs := refTables{}
	for _, typ := range types {
		need := inv.refTypes[typ]
		tbl := map[int64]map[string]any{}
		err := inv.store.Each(ctx, typ, func(e *inventory.Entry) error {
			m := make(map[string]any, len(need))
			for _, a := range need {
				if v, ok := e.Attrs[a]; ok {
					m[a] = v
				}
			}
			tbl[e.ID] = m
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load referenced %s entries: %w", typ, err)
		}
		refs[typ] = tbl
	}
	return refs, nil
}

// Host writes the vars of one host as JSON, or {} when no host of that
// name is in the inventory, as inventory scripts answer --host.
func (inv *Inventory) Host(ctx context.Context, w io.Writer, name string) error {
	for _, ht := range inv.hostTypes {
		e, err := inv.store.GetByName(ctx, ht.t.Name, name)
		if schema.ErrorCode(err) == schema.ENOTFOUND {
			continue
		}
		if err != nil {
			return fmt.Errorf("ansible host %s: %w", name, err)
		}
		if ht.vis != nil && !ht.vis.CanRead(e, "name") {
			break // the caller may not see it: as if it were not there
		}
		h, err := ht.hostOf(e)
		if err != nil {
			return fmt.Errorf("ansible host %s: %w", name, err)
		}
		if !inv.included(h) {
			break
		}
		refs, err := inv.refsOf(ctx, ht, e)
		if err != nil {
			return fmt.Errorf("ansible host %s: %w", name, err)
		}
		_, err = w.Write(append(ht.appendHostvars(nil, h, refs, inv.opts.AllowTemplates), '\n'))
		return err
	}
	_, err := io.WriteString(w, "{}\n")
	return err
}

// refsOf loads only the entries one host references.
func (inv *Inventory) refsOf(ctx context.Context, ht *hostType, e *inventory.Entry) (refTables, error) {
	var ids []int64
	for _, f := range ht.fields {
		if f.get.target != "" {
			ids = append(ids, e.RefIDs[f.get.attr]...)
		}
	}
	for _, g := range ht.address {
		if g.target != "" {
			ids = append(ids, e.RefIDs[g.attr]...)
		}
	}
	refs := refTables{}
	if len(ids) == 0 {
		return refs, nil
	}
	got, err := inv.store.GetMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load referenced entries: %w", err)
	}
	for id, r := range got {
		if refs[r.Type] == nil {
			refs[r.Type] = map[int64]map[string]any{}
		}
		refs[r.Type][id] = r.Attrs
	}
	return refs, nil
}
