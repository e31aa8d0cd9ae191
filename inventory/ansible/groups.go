package ansible

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/tana-cmdb/tana/schema"
)

// sanitize makes a group name valid as Ansible's to_safe_group_name does
// with force: every match of ^[\d\W]|[^\w] (Python, Unicode) becomes "_".
func sanitize(s string) string {
	if validGroupName(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	first := true
	for _, r := range s {
		if !isWord(r) || first && unicode.IsDigit(r) {
			r = '_'
		}
		b.WriteRune(r)
		first = false
	}
	return b.String()
}

func validGroupName(s string) bool {
	for i, r := range s {
		if !isWord(r) || i == 0 && unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// isWord is Python's Unicode \w: letters, numbers and the underscore.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyString formats a value as Python's str() does, since Ansible builds
// group names with '%s'.
func pyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

// truthy is Python's truth of a value, which decides whether the
// constructed plugin makes a keyed group at all.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	}
	return true
}

// keyedGroup is a compiled KeyedGroup.
type keyedGroup struct {
	get    getter
	prefix string
	sep    string
	def    string
}

func (inv *Inventory) compileKeyed(reg *schema.Registry, t *schema.EntityType, kg KeyedGroup) (keyedGroup, error) {
	if kg.Key == "" {
		return keyedGroup{}, fmt.Errorf("key is empty")
	}
	g, err := inv.resolve(reg, t, kg.Key)
	if err != nil {
		return keyedGroup{}, err
	}
	k := keyedGroup{get: g, prefix: kg.Prefix, sep: "_", def: kg.Default}
	if k.prefix == "" {
		k.prefix = kg.Key
	}
	if kg.Separator != nil {
		k.sep = *kg.Separator
	}
	return k, nil
}

// bareNames lists the values of v that name groups, as the constructed
// plugin does: nothing for a false value unless it is empty and there is a
// default; one name per list element, an empty element taking the default.
// An absent value counts as empty (the store does not keep nulls).
func (k keyedGroup) bareNames(v any, out []string) []string {
	if v == nil {
		v = ""
	}
	if !truthy(v) && !(v == "" && k.def != "") {
		return out
	}
	if l, ok := v.([]any); ok {
		for _, it := range l {
			if it == "" && k.def != "" {
				it = k.def
			}
			out = append(out, pyString(it))
		}
		return out
	}
	if v == "" {
		return append(out, k.def)
	}
	return append(out, pyString(v))
}

// bareNamesRaw is bareNames of a stored attribute, read from its JSON
// when it is a string or a list of strings without escapes (the common
// case: tags, roles, states), decoded otherwise.
func (k keyedGroup) bareNamesRaw(h *host, out []string) []string {
	raw := h.slots[k.get.idx]
	if s, ok := plainString(raw); ok && s != "" {
		return append(out, s)
	}
	if len(raw) < 2 || raw[0] != '[' {
		return k.bareNames(h.value(k.get.idx), out)
	}
	start, plain := len(out), true
	ok := eachElement(raw, func(el string) {
		if s, isString := plainString(el); isString && s != "" {
			out = append(out, s)
		} else {
			plain = false
		}
	})
	if !ok || !plain { // decode the whole list instead
		return k.bareNames(h.value(k.get.idx), out[:start])
	}
	return out
}

// plainString is the value of a JSON string without escapes.
func plainString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	return s, strings.IndexByte(s, '\\') < 0
}

// name is the sanitised group name of one bare value.
func (k keyedGroup) name(bare string) string {
	return sanitize(k.prefix + k.sep + bare)
}

// userGroup is a configured group, sorted by name.
type userGroup struct {
	name string
	vars map[string]any
}

// filter is one compiled Group filter: the value's string forms that
// match, or absent when the filter asks for no value.
type filter struct {
	get    getter
	want   map[string]bool
	absent bool
}

var reserved = map[string]bool{"all": true, "ungrouped": true, "_meta": true}

func (inv *Inventory) compileGroups() problems {
	var errs problems
	names := make([]string, 0, len(inv.opts.Groups))
	for n := range inv.opts.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if reserved[n] {
			errs.add("groups."+n, fmt.Errorf("%q is reserved by Ansible", n))
			continue
		}
		if s := sanitize(n); s != n {
			errs.add("groups."+n, fmt.Errorf("not a valid Ansible group name (try %q)", s))
			continue
		}
		inv.groups = append(inv.groups, userGroup{name: n, vars: inv.opts.Groups[n].Vars})
	}
	return errs
}

// compileFilters compiles a group's filters for one host type; nil when
// the type lacks a filtered attribute, so no host of it can match.
func (inv *Inventory) compileFilters(reg *schema.Registry, t *schema.EntityType, ug userGroup) ([]filter, error) {
	spec := inv.opts.Groups[ug.name].Filters
	attrs := make([]string, 0, len(spec))
	for a := range spec {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	fs := []filter{}
	for _, a := range attrs {
		head, _, _ := strings.Cut(a, ".")
		if head != "name" && t.Attr(head) == nil {
			return nil, nil
		}
		g, err := inv.resolve(reg, t, a)
		if err != nil {
			return nil, err
		}
		fs = append(fs, newFilter(g, spec[a]))
	}
	return fs, nil
}

// match reports whether every filter matches the entry.
func matchAll(fs []filter, h *host, refs refTables) bool {
	if fs == nil {
		return false
	}
	for _, f := range fs {
		if !f.match(h, refs) {
			return false
		}
	}
	return true
}

func (f filter) match(h *host, refs refTables) bool {
	v := f.get.value(h, refs)
	if v == nil || v == "" {
		return f.absent
	}
	if l, ok := v.([]any); ok {
		for _, it := range l {
			if f.want[pyString(it)] {
				return true
			}
		}
		return false
	}
	return f.want[pyString(v)]
}

// group is one output group: hosts as indexes into the host names.
type group struct {
	name  string
	hosts []int32
	vars  map[string]any
}

// add puts host idx into g (nil: a reserved name) once, though a list
// value may repeat or two kinds of group may share a name. Hosts come in
// increasing idx, so a repeat can only be the last one.
func (g *group) add(idx int32) {
	if g != nil && (len(g.hosts) == 0 || g.hosts[len(g.hosts)-1] != idx) {
		g.hosts = append(g.hosts, idx)
	}
}

// groupSet holds the groups of one inventory build.
type groupSet struct {
	index map[string]*group
}

// get returns the named group, creating it; nil for names Ansible reserves
// for itself.
func (gs *groupSet) get(name string) *group {
	if g := gs.index[name]; g != nil {
		return g
	}
	if name == "all" || name == "_meta" {
		return nil
	}
	g := &group{name: name}
	gs.index[name] = g
	return g
}

// sorted returns the groups by name.
func (gs *groupSet) sorted() []*group {
	out := make([]*group, 0, len(gs.index))
	for _, g := range gs.index {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// newFilter matches an attribute against want: null means absent, a list
// means any of its values, anything else that one value.
func newFilter(get getter, want any) filter {
	f := filter{get: get, want: map[string]bool{}}
	switch w := want.(type) {
	case nil:
		f.absent = true
	case []any:
		for _, x := range w {
			f.want[pyString(x)] = true
		}
	default:
		f.want[pyString(w)] = true
	}
	return f
}
