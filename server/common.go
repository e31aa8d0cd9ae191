package server

import (
	"strconv"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// common builds the types every schema has, whatever the entity types.
func (b *builder) common() {
	b.json = graphql.NewScalar(graphql.ScalarConfig{
		Name:         "JSON",
		Description:  "Any JSON value.",
		Serialize:    func(v any) any { return v },
		ParseValue:   func(v any) any { return v },
		ParseLiteral: jsonLiteral,
	})
	b.order = graphql.NewEnum(graphql.EnumConfig{
		Name: "EntryOrder",
		Values: graphql.EnumValueConfigMap{
			"NAME_ASC": {Value: "name"}, "NAME_DESC": {Value: "name desc"},
			"ID_ASC": {Value: "id"}, "ID_DESC": {Value: "id desc"},
		},
	})
	b.pageInfo = graphql.NewObject(graphql.ObjectConfig{Name: "PageInfo", Fields: graphql.Fields{
		"hasNextPage":     {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(c *connection) any { return c.next != "" })},
		"hasPreviousPage": {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(c *connection) any { return c.query.After != "" })},
		"startCursor":     {Type: graphql.String, Resolve: prop(func(c *connection) any { return c.cursorAt(0) })},
		"endCursor":       {Type: graphql.String, Resolve: prop(func(c *connection) any { return c.cursorAt(len(c.entries) - 1) })},
	}})
	b.entry = graphql.NewObject(graphql.ObjectConfig{
		Name:        "Entry",
		Description: "An entry of any type; attributes as JSON.",
		Fields:      graphql.FieldsThunk(b.metaFields),
	})
	b.entryConn = b.connection("Entry", b.entry)
	b.version = graphql.NewObject(graphql.ObjectConfig{Name: "EntryVersion", Fields: graphql.Fields{
		"version":   {Type: graphql.NewNonNull(graphql.Int), Resolve: prop(func(v inventory.Version) any { return v.Version })},
		"changeSet": {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return v.ChangeSet })},
		"op":        {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return string(v.Op) })},
		"name":      {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return v.Name })},
		"changes":   {Type: b.json, Resolve: prop(func(v inventory.Version) any { return v.Changes })},
		"actor":     {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return v.Actor })},
		"source":    {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return v.Source })},
		"reason":    {Type: graphql.String, Resolve: prop(func(v inventory.Version) any { return v.Reason })},
		"at":        {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(v inventory.Version) any { return timeString(v.At) })},
	}})
	b.typeInfo = b.typeInfoType()
	b.writeResult = graphql.NewObject(graphql.ObjectConfig{Name: "WriteResult", Fields: graphql.Fields{
		"index":   {Type: graphql.NewNonNull(graphql.Int), Resolve: prop(func(r inventory.Result) any { return r.Index })},
		"id":      {Type: graphql.NewNonNull(graphql.ID), Resolve: prop(func(r inventory.Result) any { return idString(r.ID) })},
		"type":    {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(r inventory.Result) any { return r.Type })},
		"name":    {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(r inventory.Result) any { return r.Name })},
		"op":      {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(r inventory.Result) any { return string(r.Op) })},
		"version": {Type: graphql.NewNonNull(graphql.Int), Resolve: prop(func(r inventory.Result) any { return r.Version })},
		"changes": {Type: b.json, Resolve: func(p graphql.ResolveParams) (any, error) {
			r, ok := p.Source.(inventory.Result)
			if !ok {
				return nil, nil
			}
			return b.visibleChanges(p.Context, &inventory.Entry{ID: r.ID, Type: r.Type, Name: r.Name, Attrs: r.Attrs()}, r.Changes()), nil
		}},
	}})
	b.scalarFilters = b.scalarFilterTypes()
}

func (b *builder) typeInfoType() *graphql.Object {
	attr := graphql.NewObject(graphql.ObjectConfig{Name: "AttributeInfo", Fields: graphql.Fields{
		"name":        {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(a *schema.Attribute) any { return a.Name })},
		"field":       {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(a *schema.Attribute) any { return a.FieldName() })},
		"type":        {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(a *schema.Attribute) any { return a.Type.String() })},
		"description": {Type: graphql.String, Resolve: prop(func(a *schema.Attribute) any { return a.Description })},
		"required":    {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(a *schema.Attribute) any { return a.Required })},
		"unique":      {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(a *schema.Attribute) any { return a.Unique })},
		"secret":      {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(a *schema.Attribute) any { return a.Secret })},
		"authority":   {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(a *schema.Attribute) any { return string(a.Authority) })},
	}})
	return graphql.NewObject(graphql.ObjectConfig{Name: "EntityType", Fields: graphql.Fields{
		"name":        {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(t *schema.EntityType) any { return t.Name })},
		"graphqlType": {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(t *schema.EntityType) any { return typeName(t) })},
		"description": {Type: graphql.String, Resolve: prop(func(t *schema.EntityType) any { return t.Description })},
		"builtin":     {Type: graphql.NewNonNull(graphql.Boolean), Resolve: prop(func(t *schema.EntityType) any { return t.Builtin })},
		"attributes":  {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(attr))), Resolve: prop(func(t *schema.EntityType) any { return t.Attributes })},
	}})
}

// prop makes a resolver from a getter on the source value.
func prop[T any](get func(T) any) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		src, ok := p.Source.(T)
		if !ok {
			return nil, nil
		}
		return get(src), nil
	}
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// jsonLiteral turns an inline GraphQL value into plain Go values.
func jsonLiteral(v ast.Value) any {
	switch v := v.(type) {
	case *ast.StringValue:
		return v.Value
	case *ast.EnumValue:
		return v.Value
	case *ast.BooleanValue:
		return v.Value
	case *ast.IntValue:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return nil
		}
		return n
	case *ast.FloatValue:
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil {
			return nil
		}
		return f
	case *ast.ListValue:
		out := make([]any, len(v.Values))
		for i, x := range v.Values {
			out[i] = jsonLiteral(x)
		}
		return out
	case *ast.ObjectValue:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			out[f.Name.Value] = jsonLiteral(f.Value)
		}
		return out
	}
	return nil
}
