package schema

import "sort"

// NormalizeAttrs validates a set of attribute values against the type and
// returns them in canonical form. A nil value means "remove this attribute"
// and is kept as nil. Unknown attributes and wrong types are errors naming
// the attribute. Required attributes are not checked here (see CheckRequired):
// a partial update is valid on its own.
func (t *EntityType) NormalizeAttrs(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for name, v := range in {
		a := t.byName[name]
		if a == nil {
			return nil, t.firstBad(in)
		}
		if v == nil {
			out[name] = nil
			continue
		}
		n, err := a.Type.Normalize(v)
		if err != nil {
			return nil, t.firstBad(in)
		}
		out[name] = n
	}
	return out, nil
}

// firstBad is the error of the first bad attribute of in by name, so that
// a batch with several reports the same one every time. NormalizeAttrs
// checks in map order and, having met one, asks for it: sorting every
// item's keys up front costs a bulk import a third of its validation.
func (t *EntityType) firstBad(in map[string]any) error {
	for _, name := range sortedKeys(in) {
		a := t.byName[name]
		if a == nil {
			return FieldErrorf(EINVALID, name, "unknown attribute for type %q", t.Name)
		}
		if in[name] == nil {
			continue
		}
		if _, err := a.Type.Normalize(in[name]); err != nil {
			return FieldErrorf(EINVALID, name, "%v", err)
		}
	}
	return nil
}

// ApplyDefaults sets the default of every attribute missing from attrs.
func (t *EntityType) ApplyDefaults(attrs map[string]any) {
	for _, a := range t.Attributes {
		if a.Default == nil {
			continue // before the map lookup: most attributes have no default
		}
		if _, ok := attrs[a.Name]; !ok {
			attrs[a.Name] = a.Default
		}
	}
}

// CheckRequired reports the first required attribute that is missing or empty.
func (t *EntityType) CheckRequired(attrs map[string]any) error {
	for _, a := range t.Attributes {
		if !a.Required {
			continue
		}
		v, ok := attrs[a.Name]
		if !ok || v == nil || v == "" {
			return FieldErrorf(EINVALID, a.Name, "required attribute of type %q is missing", t.Name)
		}
	}
	return nil
}

// ValidName checks an entry name: non-empty, at most 255 bytes, no control
// characters.
func ValidName(name string) error {
	if name == "" {
		return FieldErrorf(EINVALID, "name", "entry name is empty")
	}
	if len(name) > 255 {
		return FieldErrorf(EINVALID, "name", "entry name longer than 255 bytes")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return FieldErrorf(EINVALID, "name", "entry name contains a control character")
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
