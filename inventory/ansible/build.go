package ansible

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// getter finds one value of a host entry: its name, an attribute, or an
// attribute of a referenced entry.
type getter struct {
	name       bool
	address    bool // ansible_host: computed from HostAddress
	attr       string
	target     string // referenced type, for "ref.attr"
	targetAttr string
	list       bool // attr is a list of references
}

// refTables holds the needed attributes of referenced entries: type → id →
// attributes, loaded once per type for a whole inventory.
type refTables map[string]map[int64]map[string]any

func (g getter) value(e *inventory.Entry, refs refTables) any {
	switch {
	case g.name:
		return e.Name
	case g.target == "":
		return e.Attrs[g.attr]
	}
	ids := e.RefIDs[g.attr]
	tbl := refs[g.target]
	if !g.list {
		if len(ids) == 0 {
			return nil
		}
		return tbl[ids[0]][g.targetAttr]
	}
	var out []any
	for _, id := range ids {
		if v := tbl[id][g.targetAttr]; v != nil {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// included says whether an entry becomes a host: templates and powered-off
// VMs only when asked for.
func (inv *Inventory) included(e *inventory.Entry) bool {
	if !inv.opts.IncludeTemplates && e.Attrs["template"] == true {
		return false
	}
	if !inv.opts.IncludePoweredOff && e.Attrs["power_state"] == "poweredOff" {
		return false
	}
	return true
}

// address is ansible_host: the first non-empty HostAddress value (the
// first element of a list).
func (ht *hostType) addressOf(e *inventory.Entry, refs refTables) any {
	for _, g := range ht.address {
		v := g.value(e, refs)
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
func (ht *hostType) appendHostvars(b []byte, e *inventory.Entry, refs refTables, allowTemplates bool) []byte {
	b = append(b, '{')
	n := 0
	for i := range ht.fields {
		f := &ht.fields[i]
		var v any
		if f.get.address {
			v = ht.addressOf(e, refs)
		} else {
			v = f.get.value(e, refs)
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
		if !inv.included(e) {
			break
		}
		refs, err := inv.refsOf(ctx, ht, e)
		if err != nil {
			return fmt.Errorf("ansible host %s: %w", name, err)
		}
		_, err = w.Write(append(ht.appendHostvars(nil, e, refs, inv.opts.AllowTemplates), '\n'))
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
