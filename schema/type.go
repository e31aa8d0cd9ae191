// Package schema is tana's dependency-free core: entity types, their typed
// attributes, value normalisation and validation, and the coded error type
// every other package shares.
package schema

import (
	"fmt"
	"regexp"
	"sort"
)

// Authority says who owns an attribute's value.
type Authority string

const (
	// Observed values belong to reality: drift updates the store.
	Observed Authority = "observed"
	// Declared values belong to people: drift changes reality or is reported.
	Declared Authority = "declared"
	// Manual values have no source and never drift.
	Manual Authority = "manual"
)

// Attribute is one typed attribute of an entity type.
type Attribute struct {
	Name        string    `json:"name"`
	Type        ValueType `json:"-"`
	TypeName    string    `json:"type"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	Unique      bool      `json:"unique,omitempty"`
	Secret      bool      `json:"secret,omitempty"`
	Default     any       `json:"default,omitempty"`
	Authority   Authority `json:"authority"`
	// Sources ranks the sources (by kind or name, e.g. "vsphere", "dns")
	// allowed to write an observed attribute, best first.
	Sources []string `json:"sources,omitempty"`
	// RenamedFrom lists former names; the store moves their data on start-up.
	RenamedFrom []string `json:"renamed_from,omitempty"`

	builtin bool // from builtin.yaml: may keep a name older than the reserved ones
}

// IdentityKey is one way of recognising an entry from a source: the values
// of Attrs together. Source "" applies to every source.
type IdentityKey struct {
	Source string   `json:"source,omitempty"`
	Attrs  []string `json:"attrs"`
}

// EntityType is a kind of entry (vm, host, dns_record, or a user type).
type EntityType struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Attributes  []*Attribute  `json:"attributes"`
	Identity    []IdentityKey `json:"identity,omitempty"`
	Builtin     bool          `json:"builtin,omitempty"`

	byName map[string]*Attribute
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// Attr returns the named attribute, or nil.
func (t *EntityType) Attr(name string) *Attribute { return t.byName[name] }

// Refs returns the attributes that reference other entries.
func (t *EntityType) Refs() []*Attribute {
	var out []*Attribute
	for _, a := range t.Attributes {
		if a.Type.Kind == KindRef {
			out = append(out, a)
		}
	}
	return out
}

// IdentityFor returns the identity keys that apply to a source kind, in
// priority order.
func (t *EntityType) IdentityFor(sourceKind string) []IdentityKey {
	var out []IdentityKey
	for _, k := range t.Identity {
		if k.Source == "" || k.Source == sourceKind {
			out = append(out, k)
		}
	}
	return out
}

// init validates the type on its own and builds its lookup table.
func (t *EntityType) init() error {
	if !validName(t.Name) {
		return FieldErrorf(EINVALID, "name", "bad type name %q (lower case letters, digits and _; starts with a letter)", t.Name)
	}
	t.byName = make(map[string]*Attribute, len(t.Attributes))
	for i, a := range t.Attributes {
		field := fmt.Sprintf("attributes[%d]", i)
		if !validName(a.Name) {
			return FieldErrorf(EINVALID, field+".name", "bad attribute name %q", a.Name)
		}
		if t.byName[a.Name] != nil {
			return FieldErrorf(EINVALID, field+".name", "duplicate attribute %q", a.Name)
		}
		vt, err := ParseValueType(a.TypeName)
		if err != nil {
			return FieldErrorf(EINVALID, field+".type", "%v", err)
		}
		a.Type = vt
		switch a.Authority {
		case "":
			a.Authority = Manual
		case Observed, Declared, Manual:
		default:
			return FieldErrorf(EINVALID, field+".authority", "unknown authority %q (want observed, declared or manual)", a.Authority)
		}
		if a.Default != nil {
			d, err := vt.Normalize(a.Default)
			if err != nil {
				return FieldErrorf(EINVALID, field+".default", "%v", err)
			}
			a.Default = d
		}
		t.byName[a.Name] = a
	}
	if err := t.checkFieldNames(); err != nil {
		return err
	}
	for i, k := range t.Identity {
		if len(k.Attrs) == 0 {
			return FieldErrorf(EINVALID, fmt.Sprintf("identity[%d]", i), "empty identity key")
		}
		for _, n := range k.Attrs {
			if n != "name" && t.byName[n] == nil {
				return FieldErrorf(EINVALID, fmt.Sprintf("identity[%d]", i), "unknown attribute %q", n)
			}
		}
	}
	return nil
}

// Registry holds the entity types known to one tana instance.
type Registry struct {
	types map[string]*EntityType
	names []string
}

// NewRegistry validates the types together (references must resolve, names
// must be distinct) and returns them as a registry.
func NewRegistry(types ...*EntityType) (*Registry, error) {
	r := &Registry{types: make(map[string]*EntityType, len(types))}
	for _, t := range types {
		if err := t.init(); err != nil {
			return nil, fmt.Errorf("type %q: %w", t.Name, err)
		}
		if r.types[t.Name] != nil {
			return nil, Errorf(EINVALID, "type %q defined twice", t.Name)
		}
		r.types[t.Name] = t
		r.names = append(r.names, t.Name)
	}
	for _, t := range types {
		for _, a := range t.Refs() {
			if r.types[a.Type.RefType] == nil {
				return nil, FieldErrorf(EINVALID, t.Name+"."+a.Name, "references unknown type %q", a.Type.RefType)
			}
		}
	}
	sort.Strings(r.names)
	return r, nil
}

// Type returns the named type or a not-found error.
func (r *Registry) Type(name string) (*EntityType, error) {
	t := r.types[name]
	if t == nil {
		return nil, FieldErrorf(ENOTFOUND, "type", "unknown entity type %q", name)
	}
	return t, nil
}

// Types returns every type sorted by name.
func (r *Registry) Types() []*EntityType {
	out := make([]*EntityType, len(r.names))
	for i, n := range r.names {
		out[i] = r.types[n]
	}
	return out
}

// BackRef is an attribute of some type that references a given type.
type BackRef struct {
	From *EntityType
	Attr *Attribute
}

// BackRefs returns the attributes, of any type, that reference type name.
func (r *Registry) BackRefs(name string) []BackRef {
	var out []BackRef
	for _, t := range r.Types() {
		for _, a := range t.Refs() {
			if a.Type.RefType == name {
				out = append(out, BackRef{From: t, Attr: a})
			}
		}
	}
	return out
}
