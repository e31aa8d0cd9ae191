package reconcile

import (
	"fmt"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// objectKeys returns the key values of an object: one per list item for a
// one-attribute list key (any shared MAC identifies), else one joined value.
// An object missing part of the key has none.
func (id *identity) objectKeys(t *schema.EntityType, key schema.IdentityKey, o *collectors.Object) []string {
	return keyValues(t, key, o.Name, func(attr string) (any, bool) {
		raw, ok := o.Attrs[attr]
		if !ok {
			return nil, false
		}
		if a := t.Attr(attr); a != nil && a.Type.Kind == schema.KindRef {
			r, ok := id.resolveRef(raw)
			return r, ok
		}
		return raw, true
	})
}

func entryKeys(t *schema.EntityType, key schema.IdentityKey, e *inventory.Entry) []string {
	return keyValues(t, key, e.Name, func(attr string) (any, bool) {
		v, ok := e.Attrs[attr]
		return v, ok
	})
}

// entryKeySets is an entry's values for each of keys, as strings of their
// own: decoded values share the stored JSON, which the view must not keep.
func entryKeySets(t *schema.EntityType, keys []schema.IdentityKey, e *inventory.Entry) [][]string {
	out := make([][]string, len(keys))
	for k, key := range keys {
		vals := entryKeys(t, key, e)
		for j := range vals {
			vals[j] = strings.Clone(vals[j])
		}
		out[k] = vals
	}
	return out
}

func keyValues(t *schema.EntityType, key schema.IdentityKey, name string, get func(string) (any, bool)) []string {
	parts := make([]string, 0, len(key.Attrs))
	for _, attr := range key.Attrs {
		if attr == "name" {
			parts = append(parts, name)
			continue
		}
		raw, ok := get(attr)
		a := t.Attr(attr)
		if !ok || raw == nil || a == nil {
			return nil
		}
		if str, ok := raw.(string); ok && len(key.Attrs) == 1 && a.Type.Kind == schema.KindString {
			if str == "" {
				return nil
			}
			return []string{str}
		}
		nv := normalize(a, raw)
		if l, isList := nv.([]any); isList {
			if len(l) == 0 {
				return nil
			}
			if len(key.Attrs) == 1 {
				out := make([]string, len(l))
				for i, x := range l {
					out[i] = fmt.Sprint(x)
				}
				return out
			}
		}
		s := fmt.Sprint(nv)
		if s == "" {
			return nil
		}
		parts = append(parts, s)
	}
	return []string{strings.Join(parts, "\x00")}
}

// resolveRef turns a Ref (or []Ref) into the name(s) of the entries the
// referenced objects are; ok is false when one cannot be resolved.
func (id *identity) resolveRef(raw any) (any, bool) {
	switch r := raw.(type) {
	case collectors.Ref:
		return id.refName(r)
	case []collectors.Ref:
		out := make([]any, 0, len(r))
		for _, x := range r {
			n, ok := id.refName(x)
			if !ok {
				return nil, false
			}
			out = append(out, n)
		}
		return out, true
	case []any:
		out := make([]any, 0, len(r))
		for _, x := range r {
			n, ok := id.resolveRef(x)
			if !ok {
				return nil, false
			}
			out = append(out, n)
		}
		return out, true
	case string:
		return r, true // already a name
	}
	return nil, false
}

// refName is the entry name an object is, or will have when created.
func (id *identity) refName(r collectors.Ref) (string, bool) {
	i, ok := id.objIndex[r]
	if !ok || id.blocked[i] {
		return "", false
	}
	if e := id.entry[i]; e != nil {
		return e.Name, true
	}
	return id.objName[i], true
}
