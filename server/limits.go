package server

import (
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/schema"
)

// Cost model: every field costs 1; a connection multiplies the cost of its
// selection by the page size asked for (or the default page), a plain list
// (back-references) by listGuess. Introspection fields are free, so
// GraphiQL's schema query is never rejected.
const (
	defaultFirst = 100
	listGuess    = 10
	costCap      = 1 << 40 // saturate instead of overflowing
)

// analysis walks one operation of a validated document.
type analysis struct {
	sch       *graphql.Schema
	frags     map[string]*ast.FragmentDefinition
	vars      map[string]any
	introspec bool
	maxPage   int
	err       error
}

// checkLimits picks the operation to run and rejects it when it is deeper
// or more complex than the limits allow, before anything executes.
func checkLimits(sch *graphql.Schema, doc *ast.Document, req *gqlRequest, lim config.Server) (*ast.OperationDefinition, error) {
	a := &analysis{sch: sch, frags: map[string]*ast.FragmentDefinition{}, vars: req.Variables, introspec: !lim.NoIntrospection, maxPage: lim.MaxPageSize}
	var op *ast.OperationDefinition
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.FragmentDefinition:
			a.frags[d.Name.Value] = d
		case *ast.OperationDefinition:
			if req.OperationName == "" || (d.Name != nil && d.Name.Value == req.OperationName) {
				if op == nil {
					op = d
				}
			}
		}
	}
	if op == nil {
		return nil, schema.FieldErrorf(schema.EINVALID, "operationName", "no operation named %q", req.OperationName)
	}
	var root *graphql.Object
	switch op.Operation {
	case ast.OperationTypeMutation:
		root = sch.MutationType()
	case ast.OperationTypeSubscription:
		return nil, schema.Errorf(schema.EINVALID, "subscriptions are not supported")
	default:
		root = sch.QueryType()
	}
	depth, cost := a.selections(op.SelectionSet, root, 1, map[string]bool{})
	if a.err != nil {
		return nil, a.err
	}
	if depth > lim.MaxDepth {
		return nil, schema.FieldErrorf(schema.EINVALID, "query", "query depth %d exceeds the limit of %d", depth, lim.MaxDepth)
	}
	if cost > lim.MaxComplexity {
		return nil, schema.FieldErrorf(schema.EINVALID, "query", "query complexity %d exceeds the limit of %d (page sizes multiply the cost of what they select)", cost, lim.MaxComplexity)
	}
	return op, nil
}

// selections returns the depth and cost of a selection set whose fields
// belong to parent; depth counts the set itself.
func (a *analysis) selections(set *ast.SelectionSet, parent graphql.Type, depth int, seen map[string]bool) (int, int) {
	if set == nil {
		return depth - 1, 0
	}
	maxDepth, cost := depth, 0
	add := func(d, c int) {
		maxDepth = max(maxDepth, d)
		cost = min(cost+c, costCap)
	}
	for _, sel := range set.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			add(a.field(sel, parent, depth, seen))
		case *ast.InlineFragment:
			t := parent
			if sel.TypeCondition != nil {
				if nt := a.sch.Type(sel.TypeCondition.Name.Value); nt != nil {
					t = nt
				}
			}
			add(a.selections(sel.SelectionSet, t, depth, seen))
		case *ast.FragmentSpread:
			name := sel.Name.Value
			f := a.frags[name]
			if f == nil || seen[name] {
				continue
			}
			seen[name] = true
			t := parent
			if nt := a.sch.Type(f.TypeCondition.Name.Value); nt != nil {
				t = nt
			}
			add(a.selections(f.SelectionSet, t, depth, seen))
			delete(seen, name)
		}
	}
	return maxDepth, cost
}

func (a *analysis) field(f *ast.Field, parent graphql.Type, depth int, seen map[string]bool) (int, int) {
	name := f.Name.Value
	if strings.HasPrefix(name, "__") {
		if name != "__typename" && !a.introspec {
			a.err = schema.Errorf(schema.EFORBIDDEN, "introspection is disabled on this server")
		}
		return depth, 0
	}
	obj, ok := parent.(*graphql.Object)
	if !ok {
		return depth, 1
	}
	def := obj.Fields()[name]
	if def == nil {
		return depth, 1
	}
	named, _ := graphql.GetNamed(def.Type).(graphql.Type)
	d, c := a.selections(f.SelectionSet, named, depth+1, seen)
	return max(d, depth), min(1+a.multiplier(f, def)*c, costCap)
}

// multiplier is how many times a field's selection runs: its first
// argument, or a guess for lists and connections without one.
func (a *analysis) multiplier(f *ast.Field, def *graphql.FieldDefinition) int {
	for _, arg := range f.Arguments {
		if arg.Name.Value == "first" {
			if n, ok := a.intValue(arg.Value); ok && n > 0 {
				if n > a.maxPage && a.err == nil {
					a.err = schema.FieldErrorf(schema.EINVALID, "first", "first must be between 0 and %d", a.maxPage)
				}
				return n
			}
		}
	}
	if strings.HasSuffix(graphql.GetNamed(def.Type).String(), "Connection") {
		return defaultFirst
	}
	if isList(def.Type) {
		return listGuess
	}
	return 1
}

func (a *analysis) intValue(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.IntValue:
		n, err := strconv.Atoi(v.Value)
		return n, err == nil
	case *ast.Variable:
		switch n := a.vars[v.Name.Value].(type) {
		case float64:
			return int(n), true
		case int:
			return n, true
		}
	}
	return 0, false
}

func isList(t graphql.Type) bool {
	for {
		switch x := t.(type) {
		case *graphql.NonNull:
			t = x.OfType
		case *graphql.List:
			return true
		default:
			return false
		}
	}
}
