package ansible

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/tana-cmdb/tana/inventory"
)

// listState is what one --list build accumulates while hostvars stream
// out: host names and group memberships (indexes, 4 bytes per membership).
type listState struct {
	// Host names, JSON-encoded once: nameBuf holds them end to end, host i
	// ending at nameEnd[i].
	nameBuf []byte
	nameEnd []int32
	groups  groupSet
	kcache  []map[string]*group // per keyed group: bare value → group
	bare    []string            // reused
}

// name is host idx's name as a JSON string.
func (st *listState) name(idx int32) []byte {
	start := int32(0)
	if idx > 0 {
		start = st.nameEnd[idx-1]
	}
	return st.nameBuf[start:st.nameEnd[idx]]
}

// appendNames appends a JSON array of the names of hosts idx.
func (st *listState) appendNames(b []byte, idx []int32) []byte {
	b = append(b, '[')
	for i, n := range idx {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, st.name(n)...)
	}
	return append(b, ']')
}

// List writes the whole inventory, the --list JSON, to w. Hostvars are
// streamed from the store as they are read (Store.Each per host type,
// merged by name); only names and group memberships stay in memory.
func (inv *Inventory) List(ctx context.Context, w io.Writer) error {
	refs, err := inv.loadRefs(ctx)
	if err != nil {
		return fmt.Errorf("ansible inventory: %w", err)
	}
	st := &listState{groups: groupSet{index: map[string]*group{}}, kcache: make([]map[string]*group, len(inv.opts.KeyedGroups))}
	for i := range st.kcache {
		st.kcache[i] = map[string]*group{}
	}
	user := make([]*group, len(inv.groups))
	for i, ug := range inv.groups {
		user[i] = st.groups.get(ug.name)
		user[i].vars = copyVars(ug.vars)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"_meta":{"hostvars":{`)
	typeGroups := make(map[*hostType]*group, len(inv.hostTypes))
	for _, ht := range inv.hostTypes {
		typeGroups[ht] = st.groups.get(ht.t.Name)
	}
	var stale *group
	var buf []byte
	err = inv.eachHost(ctx, func(h *host) error {
		ht := h.ht
		idx := int32(len(st.nameEnd))
		st.nameBuf = appendString(st.nameBuf, h.name)
		st.nameEnd = append(st.nameEnd, int32(len(st.nameBuf)))
		typeGroups[ht].add(idx)
		if h.stale {
			if stale == nil {
				stale = st.groups.get(StaleGroup)
			}
			stale.add(idx)
		}
		st.addKeyed(h, refs, idx)
		for i, g := range user {
			if matchAll(ht.filters[i], h, refs) {
				g.add(idx)
			}
		}
		buf = buf[:0]
		if idx > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, st.name(idx)...)
		buf = append(buf, ':')
		buf = ht.appendHostvars(buf, h, refs, inv.opts.AllowTemplates)
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("ansible inventory: list hosts: %w", err)
	}
	bw.WriteString("}}")
	allVars, err := inv.groupVars(ctx, &st.groups)
	if err != nil {
		return fmt.Errorf("ansible inventory: %w", err)
	}
	st.writeGroups(bw, allVars)
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ansible inventory: write: %w", err)
	}
	return nil
}

// addKeyed puts host idx into its keyed groups; names are composed and
// sanitised once per distinct value.
func (st *listState) addKeyed(h *host, refs refTables, idx int32) {
	for i, k := range h.ht.keyed {
		if k.get.plain() {
			st.bare = k.bareNamesRaw(h, st.bare[:0])
		} else {
			st.bare = k.bareNames(k.get.value(h, refs), st.bare[:0])
		}
		for _, bare := range st.bare {
			g, ok := st.kcache[i][bare]
			if !ok {
				g = st.groups.get(k.name(bare))
				st.kcache[i][bare] = g
			}
			g.add(idx)
		}
	}
}

// groupVars gives the groups named by entries of the GroupVarsFrom types
// those entries' attributes (over vars from tana.yaml); an entry named
// "all" gives vars to every host.
func (inv *Inventory) groupVars(ctx context.Context, gs *groupSet) (map[string]any, error) {
	allVars := map[string]any{}
	reg := inv.store.Registry()
	for _, typ := range inv.opts.GroupVarsFrom {
		t, err := reg.Type(typ)
		if err != nil {
			return nil, err
		}
		err = inv.store.Each(ctx, typ, func(e *inventory.Entry) error {
			vars := allVars
			if name := sanitize(e.Name); name != "all" {
				g := gs.get(name)
				if g == nil {
					inv.warn("ansible inventory: %s %q names no usable group", typ, e.Name)
					return nil
				}
				if g.vars == nil {
					g.vars = map[string]any{}
				}
				vars = g.vars
			}
			for k, v := range e.Attrs {
				if t.Attr(k) != nil && !t.Hides(k, inv.secrets()) {
					if !inv.opts.AllowTemplates {
						v = cmdbValue{v}
					}
					vars[k] = v
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("group vars from %s: %w", typ, err)
		}
	}
	return allVars, nil
}

// writeGroups writes "all" and every group, sorted (keys too, so the
// whole document is in sorted order). Host lists are sorted already: hosts
// were numbered in name order.
func (st *listState) writeGroups(bw *bufio.Writer, allVars map[string]any) {
	groups := st.groups.sorted()
	children := make([]string, 0, len(groups)+1)
	for _, g := range groups {
		children = append(children, g.name)
	}
	if st.groups.index["ungrouped"] == nil {
		children = append(children, "ungrouped")
		sort.Strings(children)
	}
	b := []byte(`,"all":{"children":[`)
	for i, c := range children {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
	}
	b = append(b, ']')
	if len(allVars) > 0 {
		b = append(b, `,"vars":`...)
		b = appendObject(b, allVars)
	}
	b = append(b, '}')
	bw.Write(b)
	for _, g := range groups {
		b = append(b[:0], ',')
		b = appendString(b, g.name)
		b = append(b, `:{"children":[],"hosts":`...)
		b = st.appendNames(b, g.hosts)
		b = append(b, `,"vars":`...)
		b = appendObject(b, g.vars)
		b = append(b, '}')
		bw.Write(b)
	}
}

func copyVars(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
