package server

import (
	"fmt"
	"sort"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Filter input kinds; each has the operators that make sense for it.
const (
	fString = "StringFilter"
	fInt    = "IntFilter"
	fFloat  = "FloatFilter"
	fBool   = "BooleanFilter"
	fDate   = "DateFilter"
	fRef    = "RefFilter"
)

// filterOps maps input field names onto store operators.
var filterOps = map[string]inventory.FilterOp{
	"eq": inventory.OpEq, "in": inventory.OpIn, "contains": inventory.OpContains,
	"lt": inventory.OpLt, "lte": inventory.OpLte, "gt": inventory.OpGt, "gte": inventory.OpGte,
	"id": inventory.OpRefID,
}

func (b *builder) scalarFilterTypes() map[string]*graphql.InputObject {
	mk := func(name, desc string, s graphql.Input, ops ...string) *graphql.InputObject {
		f := graphql.InputObjectConfigFieldMap{"isNull": {Type: graphql.Boolean, Description: "true: absent; false: present"}}
		for _, op := range ops {
			switch op {
			case "in":
				f[op] = &graphql.InputObjectFieldConfig{Type: graphql.NewList(graphql.NewNonNull(s))}
			case "contains":
				f[op] = &graphql.InputObjectFieldConfig{Type: graphql.String, Description: "case-insensitive substring"}
			default:
				f[op] = &graphql.InputObjectFieldConfig{Type: s}
			}
		}
		return graphql.NewInputObject(graphql.InputObjectConfig{Name: name, Description: desc, Fields: f})
	}
	ref := mk(fRef, "Reference filter: eq/in/contains compare the referenced entry's name.", graphql.String, "eq", "in", "contains")
	ref.AddFieldConfig("id", &graphql.InputObjectFieldConfig{Type: graphql.NewList(graphql.NewNonNull(graphql.ID)), Description: "references one of these entry ids"})
	return map[string]*graphql.InputObject{
		fString: mk(fString, "", graphql.String, "eq", "in", "contains", "lt", "lte", "gt", "gte"),
		fInt:    mk(fInt, "", graphql.Int, "eq", "in", "lt", "lte", "gt", "gte"),
		fFloat:  mk(fFloat, "", graphql.Float, "eq", "in", "lt", "lte", "gt", "gte"),
		fBool:   mk(fBool, "", graphql.Boolean, "eq"),
		fDate:   mk(fDate, "Dates and times as ISO 8601 text.", graphql.String, "eq", "in", "lt", "lte", "gt", "gte"),
		fRef:    ref,
	}
}

func filterKind(a *schema.Attribute) string {
	switch a.Type.Kind {
	case schema.KindRef:
		return fRef
	case schema.KindInteger:
		return fInt
	case schema.KindNumber:
		return fFloat
	case schema.KindBoolean:
		return fBool
	case schema.KindDate, schema.KindDateTime:
		return fDate
	}
	return fString
}

// searchable says whether the store can filter on an attribute.
func searchable(a *schema.Attribute) bool {
	return !a.Secret && a.Type.Kind != schema.KindText
}

// filterInput is <Type>Filter: one field per searchable attribute, ANDed.
func (b *builder) filterInput(t *schema.EntityType) *graphql.InputObject {
	f := graphql.InputObjectConfigFieldMap{"name": {Type: b.scalarFilters[fString]}}
	for _, a := range t.Attributes {
		if searchable(a) {
			f[a.FieldName()] = &graphql.InputObjectFieldConfig{Type: b.scalarFilters[filterKind(a)], Description: a.Description}
		}
	}
	return graphql.NewInputObject(graphql.InputObjectConfig{Name: typeName(t) + "Filter", Fields: f})
}

// typedFilters turns a <Type>Filter argument into store filters.
func typedFilters(t *schema.EntityType, in map[string]any) ([]inventory.Filter, error) {
	byField := map[string]string{"name": "name"}
	for _, a := range t.Attributes {
		byField[a.FieldName()] = a.Name
	}
	var out []inventory.Filter
	for _, field := range sortedKeys(in) {
		ops, _ := in[field].(map[string]any)
		attr := byField[field]
		for _, op := range sortedKeys(ops) {
			f, err := oneFilter(attr, op, ops[op])
			if err != nil {
				return nil, schema.FieldErrorf(schema.EINVALID, "filter."+field+"."+op, "%v", err)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func oneFilter(attr, op string, v any) (inventory.Filter, error) {
	f := inventory.Filter{Attr: attr}
	if op == "isNull" {
		f.Op = inventory.OpNotNull
		if is, _ := v.(bool); is {
			f.Op = inventory.OpIsNull
		}
		return f, nil
	}
	f.Op = filterOps[op]
	if f.Op == "" {
		return f, fmt.Errorf("unknown operator %q", op)
	}
	if list, ok := v.([]any); ok {
		f.Values = list
	} else {
		f.Values = []any{v}
	}
	for i, x := range f.Values {
		if n, ok := x.(int); ok {
			f.Values[i] = int64(n)
		}
		if f.Op == inventory.OpRefID {
			id, err := parseID(x)
			if err != nil {
				return f, err
			}
			f.Values[i] = id
		}
	}
	return f, nil
}

// genericFilterInput is AttrFilter, the filter of entries(type:).
func (b *builder) genericFilterInput() *graphql.InputObject {
	return graphql.NewInputObject(graphql.InputObjectConfig{Name: "AttrFilter", Fields: graphql.InputObjectConfigFieldMap{
		"attr":   {Type: graphql.NewNonNull(graphql.String), Description: "attribute name, or name"},
		"op":     {Type: graphql.NewNonNull(graphql.String), Description: "eq, in, contains, lt, lte, gt, gte, isnull, notnull, ref"},
		"values": {Type: graphql.NewList(b.json)},
	}})
}

func genericFilters(in []any) []inventory.Filter {
	var out []inventory.Filter
	for _, x := range in {
		m, _ := x.(map[string]any)
		f := inventory.Filter{}
		f.Attr, _ = m["attr"].(string)
		op, _ := m["op"].(string)
		f.Op = inventory.FilterOp(op)
		f.Values, _ = m["values"].([]any)
		out = append(out, f)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
