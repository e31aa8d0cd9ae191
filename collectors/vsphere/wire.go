package vsphere

import (
	"reflect"
	"sort"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// raw is one managed object as the property collector returned it: the
// requested property paths that were set, with their wire values.
type raw struct {
	Ref   types.ManagedObjectReference
	Props map[string]any
}

// inventory is everything one retrieval (or the watcher) knows, by moref.
type inventory map[types.ManagedObjectReference]*raw

func (inv inventory) get(ref types.ManagedObjectReference, path string) (any, bool) {
	r, ok := inv[ref]
	if !ok {
		return nil, false
	}
	v, ok := r.Props[path]
	return unwrap(v), ok && v != nil
}

func (inv inventory) str(ref types.ManagedObjectReference, path string) (string, bool) {
	v, _ := inv.get(ref, path)
	return asString(v)
}

func (inv inventory) ref(ref types.ManagedObjectReference, path string) (types.ManagedObjectReference, bool) {
	v, _ := inv.get(ref, path)
	return asRef(v)
}

// refsOf lists the objects of one type, sorted for stable output.
func (inv inventory) refsOf(typ string) []types.ManagedObjectReference {
	var out []types.ManagedObjectReference
	for ref := range inv {
		if ref.Type == typ {
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// datacenter walks up the parents to the enclosing datacenter.
func (inv inventory) datacenter(ref types.ManagedObjectReference) (types.ManagedObjectReference, bool) {
	for range 64 { // inventory depth is small; the bound stops a cycle
		if ref.Type == "Datacenter" {
			return ref, true
		}
		p, ok := inv.ref(ref, "parent")
		if !ok {
			return types.ManagedObjectReference{}, false
		}
		ref = p
	}
	return types.ManagedObjectReference{}, false
}

// path is the inventory path of ref ("/DC0/vm/web"), from the names of the
// objects read; the root folder is not part of the view, so it stops there.
func (inv inventory) path(ref types.ManagedObjectReference) (string, bool) {
	var names []string
	for range 64 {
		n, ok := inv.str(ref, "name")
		if !ok {
			break
		}
		names = append(names, n)
		p, ok := inv.ref(ref, "parent")
		if !ok {
			break
		}
		ref = p
	}
	if len(names) == 0 {
		return "", false
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return "/" + strings.Join(names, "/"), true
}

// unwrap turns the ArrayOfX wrappers of the SOAP encoding into slices.
func unwrap(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Struct && rv.NumField() == 1 && strings.HasPrefix(rv.Type().Name(), "ArrayOf") {
		return rv.Field(0).Interface()
	}
	return v
}

// asString accepts string and the enum types based on it; "" is absent.
func asString(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.String || rv.String() == "" {
		return "", false
	}
	return rv.String(), true
}

func asInt(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Pointer:
		if rv.IsNil() {
			return 0, false
		}
		return asInt(rv.Elem().Interface())
	}
	return 0, false
}

func asBool(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case *bool:
		if b != nil {
			return *b, true
		}
	}
	return false, false
}

func asRef(v any) (types.ManagedObjectReference, bool) {
	switch r := v.(type) {
	case types.ManagedObjectReference:
		return r, r.Value != ""
	case *types.ManagedObjectReference:
		if r != nil {
			return *r, r.Value != ""
		}
	}
	return types.ManagedObjectReference{}, false
}

func asRefs(v any) []types.ManagedObjectReference {
	refs, _ := unwrap(v).([]types.ManagedObjectReference)
	return refs
}
