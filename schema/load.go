package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed builtin.yaml
var builtinYAML []byte

// Builtin returns fresh copies of the built-in types (vm, host, cluster, …).
func Builtin() []*EntityType {
	types, err := parseTypes("builtin.yaml", builtinYAML, true)
	if err != nil {
		panic("schema: built-in types do not parse: " + err.Error())
	}
	return types
}

// Load returns a registry of the built-in types plus the user types in dir
// ("" for none). Any bad file fails the whole load: tana never runs with half
// of its types.
func Load(dir string) (*Registry, error) {
	types := Builtin()
	if dir != "" {
		user, err := LoadDir(dir)
		if err != nil {
			return nil, err
		}
		types, err = merge(types, user)
		if err != nil {
			return nil, err
		}
	}
	return NewRegistry(types...)
}

// LoadDir parses every *.yaml and *.yml file in dir, in name order.
func LoadDir(dir string) ([]*EntityType, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read types directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []*EntityType
	for _, n := range names {
		path := filepath.Join(dir, n)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read types: %w", err)
		}
		types, err := ParseTypes(path, data)
		if err != nil {
			return nil, err
		}
		out = append(out, types...)
	}
	return out, nil
}

// merge adds user types to the built-ins. A user type named like a built-in
// extends it with new attributes; it cannot change existing ones.
func merge(builtin, user []*EntityType) ([]*EntityType, error) {
	byName := map[string]*EntityType{}
	for _, t := range builtin {
		byName[t.Name] = t
	}
	out := builtin
	for _, u := range user {
		b := byName[u.Name]
		if b == nil {
			out = append(out, u)
			byName[u.Name] = u
			continue
		}
		if !b.Builtin {
			return nil, Errorf(EINVALID, "type %q defined twice", u.Name)
		}
		for _, a := range u.Attributes {
			if b.Attr(a.Name) != nil {
				return nil, FieldErrorf(EINVALID, u.Name+"."+a.Name, "built-in attribute cannot be redefined")
			}
			b.Attributes = append(b.Attributes, a)
			b.byName[a.Name] = a
		}
		b.Identity = append(b.Identity, u.Identity...)
	}
	return out, nil
}

// ParseTypes parses one types file. Errors name the file, the line and the
// field, e.g. `types/service.yaml:7: service.attributes[1].type: unknown value type "strng"`.
func ParseTypes(file string, data []byte) ([]*EntityType, error) {
	return parseTypes(file, data, false)
}

func parseTypes(file string, data []byte, builtin bool) ([]*EntityType, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if err := checkKeys(doc, "types"); err != nil {
		return nil, located(file, err)
	}
	list := mapValue(doc, "types")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, located(file, &lineError{line: doc.Line, field: "types", msg: "expected a list of types"})
	}
	var out []*EntityType
	for i, n := range list.Content {
		t, err := parseType(n)
		if err != nil {
			return nil, located(file, withField(err, fmt.Sprintf("types[%d]", i)))
		}
		if builtin {
			t.Builtin = true
			for _, a := range t.Attributes {
				a.builtin = true
			}
		}
		if err := t.init(); err != nil {
			return nil, located(file, lineOf(n, t.Name, err))
		}
		out = append(out, t)
	}
	return out, nil
}

func parseType(n *yaml.Node) (*EntityType, error) {
	if err := checkKeys(n, "name", "description", "attributes", "identity"); err != nil {
		return nil, err
	}
	t := &EntityType{}
	if err := decodeField(n, "name", &t.Name); err != nil {
		return nil, err
	}
	if err := decodeField(n, "description", &t.Description); err != nil {
		return nil, err
	}
	if attrs := mapValue(n, "attributes"); attrs != nil {
		if attrs.Kind != yaml.SequenceNode {
			return nil, &lineError{line: attrs.Line, field: "attributes", msg: "expected a list"}
		}
		for i, an := range attrs.Content {
			a, err := parseAttr(an)
			if err != nil {
				return nil, withField(err, fmt.Sprintf("%s.attributes[%d]", t.Name, i))
			}
			t.Attributes = append(t.Attributes, a)
		}
	}
	if id := mapValue(n, "identity"); id != nil {
		if err := id.Decode(&t.Identity); err != nil {
			return nil, &lineError{line: id.Line, field: t.Name + ".identity", msg: err.Error()}
		}
	}
	return t, nil
}

func parseAttr(n *yaml.Node) (*Attribute, error) {
	if err := checkKeys(n, "name", "type", "description", "required", "unique", "secret",
		"default", "authority", "sources", "renamed_from"); err != nil {
		return nil, err
	}
	var raw struct {
		Name        string    `yaml:"name"`
		Type        string    `yaml:"type"`
		Description string    `yaml:"description"`
		Required    bool      `yaml:"required"`
		Unique      bool      `yaml:"unique"`
		Secret      bool      `yaml:"secret"`
		Default     any       `yaml:"default"`
		Authority   Authority `yaml:"authority"`
		Sources     []string  `yaml:"sources"`
		RenamedFrom []string  `yaml:"renamed_from"`
	}
	if err := n.Decode(&raw); err != nil {
		return nil, &lineError{line: n.Line, msg: err.Error()}
	}
	if raw.Type == "" {
		return nil, &lineError{line: n.Line, field: "type", msg: "missing"}
	}
	return &Attribute{
		Name: raw.Name, TypeName: raw.Type, Description: raw.Description,
		Required: raw.Required, Unique: raw.Unique, Secret: raw.Secret,
		Default: raw.Default, Authority: raw.Authority, Sources: raw.Sources,
		RenamedFrom: raw.RenamedFrom,
	}, nil
}

// UnmarshalYAML accepts an identity key as a list of attributes
// ([instance_uuid]) or as {source: vsphere, attrs: [mac]}.
func (k *IdentityKey) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return n.Decode(&k.Attrs)
	}
	var raw struct {
		Source string   `yaml:"source"`
		Attrs  []string `yaml:"attrs"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	k.Source, k.Attrs = raw.Source, raw.Attrs
	return nil
}

// lineError is a parse error at a YAML line, about one field.
type lineError struct {
	line  int
	field string
	msg   string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s: %s", e.line, e.field, e.msg) }

func withField(err error, prefix string) error {
	var le *lineError
	if errors.As(err, &le) {
		f := prefix
		if le.field != "" {
			f += "." + le.field
		}
		return &lineError{line: le.line, field: f, msg: le.msg}
	}
	return err
}

// lineOf places a validation error from EntityType.init on the line of the
// node it names (attributes[i] → that attribute's line).
func lineOf(typeNode *yaml.Node, typeName string, err error) error {
	field := ErrorField(err)
	line := typeNode.Line
	var idx int
	if _, scanErr := fmt.Sscanf(field, "attributes[%d]", &idx); scanErr == nil {
		if attrs := mapValue(typeNode, "attributes"); attrs != nil && idx < len(attrs.Content) {
			line = attrs.Content[idx].Line
			if key := strings.TrimPrefix(field, fmt.Sprintf("attributes[%d].", idx)); key != field {
				if v := mapValue(attrs.Content[idx], key); v != nil {
					line = v.Line
				}
			}
		}
	}
	var e *Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Message
	}
	return &lineError{line: line, field: typeName + "." + field, msg: msg}
}

func located(file string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &Error{Code: EINVALID, Field: fmt.Sprintf("%s:%d: %s", file, le.line, le.field), Message: le.msg}
	}
	return fmt.Errorf("%s: %w", file, err)
}

func checkKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return &lineError{line: n.Line, msg: "expected a mapping"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return &lineError{line: k.Line, field: k.Value, msg: fmt.Sprintf("unknown field (want one of %s)", strings.Join(allowed, ", "))}
		}
	}
	return nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func decodeField(n *yaml.Node, key string, dst *string) error {
	v := mapValue(n, key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return &lineError{line: v.Line, field: key, msg: "expected a string"}
	}
	*dst = v.Value
	return nil
}
