package server

import (
	"strconv"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/schema"
)

// attrInput is <Type>Input: the attributes of a type as typed input fields;
// references by name.
func (b *builder) attrInput(t *schema.EntityType) *graphql.InputObject {
	f := graphql.InputObjectConfigFieldMap{}
	for _, a := range t.Attributes {
		var typ graphql.Input = kindType(a.Type.Kind)
		if a.Type.List {
			typ = graphql.NewList(graphql.NewNonNull(typ))
		}
		f[a.FieldName()] = &graphql.InputObjectFieldConfig{Type: typ, Description: a.Description}
	}
	if len(f) == 0 {
		// GraphQL forbids empty input objects.
		f["_"] = &graphql.InputObjectFieldConfig{Type: graphql.Boolean, Description: "unused: this type has no attributes"}
	}
	return graphql.NewInputObject(graphql.InputObjectConfig{Name: typeName(t) + "Input", Fields: f})
}

// typedAttrs maps a <Type>Input value back onto attribute names.
func typedAttrs(t *schema.EntityType, in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for _, a := range t.Attributes {
		if v, ok := in[a.FieldName()]; ok {
			out[a.Name] = v
		}
	}
	return out
}

// typedMutations adds create<Type>, update<Type> and delete<Type>.
func (b *builder) typedMutations(f graphql.Fields, t *schema.EntityType, id, version, reason *graphql.ArgumentConfig) {
	obj, input, n := b.objects[t.Name], b.inputs[t.Name], typeName(t)
	f["create"+n] = &graphql.Field{Type: obj, Args: graphql.FieldConfigArgument{
		"name": {Type: graphql.NewNonNull(graphql.String)}, "attrs": {Type: input}, "reason": reason,
	}, Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
		name, _ := p.Args["name"].(string)
		in, _ := p.Args["attrs"].(map[string]any)
		return b.store.Create(p.Context, meta(p.Context, p.Args), t.Name, name, typedAttrs(t, in))
	})}
	f["update"+n] = &graphql.Field{Type: obj, Args: graphql.FieldConfigArgument{
		"id": id, "version": version, "name": {Type: graphql.String, Description: "rename"}, "attrs": {Type: input, Description: "merged into the entry"}, "reason": reason,
	}, Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
		if err := b.checkType(p, t); err != nil {
			return nil, err
		}
		in, _ := p.Args["attrs"].(map[string]any)
		return b.update(p, typedAttrs(t, in))
	})}
	f["delete"+n] = &graphql.Field{Type: obj, Args: graphql.FieldConfigArgument{"id": id, "version": version, "reason": reason},
		Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
			if err := b.checkType(p, t); err != nil {
				return nil, err
			}
			return b.delete(p)
		})}
}

// checkType makes a typed mutation refuse an entry of another type.
func (b *builder) checkType(p graphql.ResolveParams, t *schema.EntityType) error {
	eid, err := parseID(p.Args["id"])
	if err != nil {
		return err
	}
	e, err := b.store.Get(p.Context, eid)
	if err != nil {
		return err
	}
	if e.Type != t.Name {
		return schema.Errorf(schema.ENOTFOUND, "entry %d is a %s, not a %s", eid, e.Type, t.Name)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
