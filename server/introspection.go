package server

import (
	"context"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
)

// Introspection is counted exactly: the walk follows the query through the
// schema's own types, fields and arguments, as the introspection
// resolvers would, and counts the fields of the answer. A nested
// introspection query (types { fields { type { fields … } } }) grows
// with every level, so the walk is memoized per selection set and schema
// element and gives up once it has counted past its budget or done
// introspectionSteps units of work.
const introspectionSteps = 1 << 20

// introWalk counts the fields an operation's introspection returns.
type introWalk struct {
	ctx    context.Context
	sch    *graphql.Schema
	frags  map[string]*ast.FragmentDefinition
	vars   map[string]any
	budget int
	memo   map[introKey]int
	steps  int
	total  int
}

type introKey struct {
	set  *ast.SelectionSet
	elem any
}

func newIntroWalk(ctx context.Context, sch *graphql.Schema, frags map[string]*ast.FragmentDefinition, vars map[string]any, budget int) *introWalk {
	return &introWalk{ctx: ctx, sch: sch, frags: frags, vars: vars, budget: budget, memo: map[introKey]int{}}
}

// root adds an introspection root field (__schema or __type) to the total.
func (w *introWalk) root(f *ast.Field) {
	var elem any
	switch f.Name.Value {
	case "__schema":
		elem = w.sch
	case "__type":
		if t := w.typeArg(f); t != nil {
			elem = t
		}
	}
	n := 1
	if elem != nil {
		n += w.set(f.SelectionSet, elem)
	}
	w.total = min(w.total+n, costCap)
}

func (w *introWalk) typeArg(f *ast.Field) graphql.Type {
	for _, arg := range f.Arguments {
		if arg.Name.Value != "name" {
			continue
		}
		switch v := arg.Value.(type) {
		case *ast.StringValue:
			return w.sch.Type(v.Value)
		case *ast.Variable:
			if s, ok := w.vars[v.Name.Value].(string); ok {
				return w.sch.Type(s)
			}
		}
	}
	return nil
}

// tired is true once the walk has done all the work it may, or the
// request is over.
func (w *introWalk) tired() bool {
	if w.steps++; w.steps > introspectionSteps {
		return true
	}
	return w.steps&1023 == 0 && w.ctx.Err() != nil
}

// set counts the fields a selection set returns for one schema element.
func (w *introWalk) set(set *ast.SelectionSet, elem any) int {
	if set == nil {
		return 0
	}
	key := introKey{set, elem}
	if n, ok := w.memo[key]; ok {
		return n
	}
	n := 0
	for _, sel := range set.Selections {
		if n > w.budget {
			break
		}
		if w.tired() {
			n = costCap // not counted to the end: refused
			break
		}
		switch sel := sel.(type) {
		case *ast.Field:
			n += 1 + w.field(sel, elem)
		case *ast.InlineFragment:
			n += w.set(sel.SelectionSet, elem)
		case *ast.FragmentSpread:
			n += w.set(w.frags[sel.Name.Value].SelectionSet, elem)
		}
		n = min(n, costCap)
	}
	w.memo[key] = n
	return n
}

// field counts what one field of an introspection object adds below
// itself: nothing for a leaf or null, its selection once per value.
func (w *introWalk) field(f *ast.Field, elem any) int {
	if f.SelectionSet == nil {
		return 0
	}
	var vals []any
	// Concrete cases first: arguments and input fields have a type's
	// methods too.
	switch e := elem.(type) {
	case *graphql.Schema:
		vals = schemaValues(e, f.Name.Value)
	case *graphql.FieldDefinition:
		vals = fieldValues(e, f.Name.Value)
	case *graphql.Argument:
		if f.Name.Value == "type" {
			vals = []any{e.Type}
		}
	case *graphql.InputObjectField:
		if f.Name.Value == "type" {
			vals = []any{e.Type}
		}
	case *graphql.Directive:
		if f.Name.Value == "args" {
			vals = each(e.Args)
		}
	case graphql.Type:
		vals = typeValues(w.sch, e, f.Name.Value)
	}
	n := 0
	for _, v := range vals {
		if n = min(n+w.set(f.SelectionSet, v), costCap); n > w.budget {
			break
		}
	}
	return n
}

func each[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func schemaValues(s *graphql.Schema, field string) []any {
	switch field {
	case "types":
		out := make([]any, 0, len(s.TypeMap()))
		for _, t := range s.TypeMap() {
			out = append(out, t)
		}
		return out
	case "queryType":
		return []any{s.QueryType()}
	case "mutationType":
		if m := s.MutationType(); m != nil {
			return []any{m}
		}
	case "subscriptionType":
		if m := s.SubscriptionType(); m != nil {
			return []any{m}
		}
	case "directives":
		return each(s.Directives())
	}
	return nil
}

func typeValues(s *graphql.Schema, t graphql.Type, field string) []any {
	switch field {
	case "fields":
		switch t := t.(type) {
		case *graphql.Object:
			return fieldDefs(t.Fields())
		case *graphql.Interface:
			return fieldDefs(t.Fields())
		}
	case "interfaces":
		if o, ok := t.(*graphql.Object); ok {
			return each(o.Interfaces())
		}
	case "possibleTypes":
		switch t := t.(type) {
		case *graphql.Interface:
			return each(s.PossibleTypes(t))
		case *graphql.Union:
			return each(s.PossibleTypes(t))
		}
	case "enumValues":
		if e, ok := t.(*graphql.Enum); ok {
			return each(e.Values())
		}
	case "inputFields":
		if in, ok := t.(*graphql.InputObject); ok {
			out := make([]any, 0, len(in.Fields()))
			for _, f := range in.Fields() {
				out = append(out, f)
			}
			return out
		}
	case "ofType":
		switch t := t.(type) {
		case *graphql.List:
			return []any{t.OfType}
		case *graphql.NonNull:
			return []any{t.OfType}
		}
	}
	return nil
}

func fieldDefs(fields graphql.FieldDefinitionMap) []any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		out = append(out, f)
	}
	return out
}

func fieldValues(f *graphql.FieldDefinition, field string) []any {
	switch field {
	case "args":
		return each(f.Args)
	case "type":
		return []any{f.Type}
	}
	return nil
}

// fullIntrospectionCost is what GraphiQL's schema query returns from sch;
// twice it is the introspection budget of a query.
func fullIntrospectionCost(sch *graphql.Schema) (int, error) {
	doc, err := parser.Parse(parser.ParseParams{Source: introspectionQuery})
	if err != nil {
		return 0, err
	}
	frags := map[string]*ast.FragmentDefinition{}
	var op *ast.OperationDefinition
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.FragmentDefinition:
			frags[d.Name.Value] = d
		case *ast.OperationDefinition:
			op = d
		}
	}
	w := newIntroWalk(context.Background(), sch, frags, nil, costCap)
	for _, sel := range op.SelectionSet.Selections {
		w.root(sel.(*ast.Field))
	}
	return w.total, nil
}

// introspectionQuery is GraphiQL's (graphql-js getIntrospectionQuery).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`
