package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/schema"
)

// Cost model: a query costs the number of fields its answer can hold. A
// field costs 1, plus the cost of its selection for every value it can
// return: a connection's edges and nodes as many as its first (100 when
// not given), another list of objects as many as its first or limit, or
// listBound without one. Introspection is counted exactly, against the
// schema itself (introspection.go).
const (
	defaultFirst = 100
	listBound    = 100
	costCap      = 1 << 40 // saturate instead of overflowing
)

// queryCost is what a query was found to cost: its data and, apart, its
// introspection.
type queryCost struct {
	Data          int
	Introspection int
}

// pick returns the operation a request runs.
func pick(doc *ast.Document, name string) (*ast.OperationDefinition, error) {
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok && (name == "" || (op.Name != nil && op.Name.Value == name)) {
			return op, nil
		}
	}
	return nil, schema.FieldErrorf(schema.EINVALID, "operationName", "no operation named %q", name)
}

// checkLimits measures the operation a request runs and refuses it when
// it is deeper or costs more than the limits allow. The document has
// passed checkDocument: fragments are known, acyclic and of bounded
// expanded size, and the walk memoizes each fragment's depth and cost.
func checkLimits(ctx context.Context, gs *gqlSchema, doc *ast.Document, op *ast.OperationDefinition, req *gqlRequest, lim config.Server) (queryCost, error) {
	if op.Operation == ast.OperationTypeSubscription {
		return queryCost{}, schema.Errorf(schema.EINVALID, "subscriptions are not supported")
	}
	w := &costWalk{
		ctx: ctx, sch: gs.Schema, vars: req.Variables, lim: lim,
		frags: map[string]*ast.FragmentDefinition{}, memo: map[fragKey]measure{},
	}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok {
			w.frags[f.Name.Value] = f
		}
	}
	w.intro = newIntroWalk(ctx, gs.Schema, w.frags, req.Variables, gs.introspectionBudget)
	m := w.set(op.SelectionSet, rootType(gs.Schema, op.Operation), 0)
	cost := queryCost{Data: m.cost, Introspection: w.intro.total}
	switch {
	case w.err != nil:
		return cost, w.err
	case m.depth > lim.MaxDepth:
		return cost, schema.FieldErrorf(schema.EINVALID, "query", "query depth %d exceeds the limit of %d", m.depth, lim.MaxDepth)
	case cost.Data > lim.MaxComplexity:
		return cost, schema.FieldErrorf(schema.EINVALID, "query", "query cost %d exceeds the limit of %d (max_complexity): it could return that many fields; ask for smaller pages (first) or fewer fields", cost.Data, lim.MaxComplexity)
	case cost.Introspection > gs.introspectionBudget:
		return cost, schema.FieldErrorf(schema.EINVALID, "query", "the query introspects more than %d fields, twice the whole schema", gs.introspectionBudget)
	}
	return cost, nil
}

// measure is the depth and cost of a selection set.
type measure struct{ depth, cost int }

// fragKey memoizes a fragment's measure; a fragment on a connection
// depends on the page size of the field it is spread in.
type fragKey struct {
	name string
	page int
}

type costWalk struct {
	ctx   context.Context
	sch   *graphql.Schema
	vars  map[string]any
	lim   config.Server
	frags map[string]*ast.FragmentDefinition
	memo  map[fragKey]measure
	intro *introWalk
	steps int
	err   error
}

// set measures a selection set of parent's fields; page is the page size
// when parent is a connection. Depth counts the set's own level.
func (w *costWalk) set(set *ast.SelectionSet, parent graphql.Type, page int) measure {
	var m measure
	if set == nil {
		return m
	}
	for _, sel := range set.Selections {
		if w.stop() {
			return m
		}
		var s measure
		switch sel := sel.(type) {
		case *ast.Field:
			s = w.field(sel, parent, page)
		case *ast.InlineFragment:
			s = w.set(sel.SelectionSet, conditionType(w.sch, sel.TypeCondition, parent), page)
		case *ast.FragmentSpread:
			s = w.spread(sel.Name.Value, parent, page)
		}
		m.depth = max(m.depth, s.depth)
		m.cost = min(m.cost+s.cost, costCap)
	}
	return m
}

func (w *costWalk) stop() bool {
	if w.err != nil {
		return true
	}
	if w.steps++; w.steps&1023 == 0 && w.ctx.Err() != nil {
		w.err = w.ctx.Err()
	}
	return w.err != nil
}

func (w *costWalk) spread(name string, parent graphql.Type, page int) measure {
	key := fragKey{name, page}
	if m, ok := w.memo[key]; ok {
		return m
	}
	f := w.frags[name]
	m := w.set(f.SelectionSet, conditionType(w.sch, f.TypeCondition, parent), page)
	w.memo[key] = m
	return m
}

// field measures one field: its level, and 1 plus its selection's cost
// for every value it can return.
func (w *costWalk) field(f *ast.Field, parent graphql.Type, page int) measure {
	name := f.Name.Value
	if name == "__schema" || name == "__type" {
		if w.lim.NoIntrospection {
			w.err = schema.Errorf(schema.EFORBIDDEN, "introspection is disabled on this server")
		}
		// Introspection is counted apart and exempt from the depth
		// limit: GraphiQL's own query is 11 levels deep.
		w.intro.root(f)
		return measure{depth: 1}
	}
	def := fieldDef(w.sch, parent, f)
	if def == nil || f.SelectionSet == nil {
		return measure{depth: 1, cost: 1}
	}
	named := namedType(def.Type)
	childPage := 0
	if isConnection(named) {
		childPage = w.pageSize(f, defaultFirst)
	}
	sub := w.set(f.SelectionSet, named, childPage)
	return measure{depth: 1 + sub.depth, cost: min(1+mulCap(w.values(f, def, parent, page), sub.cost), costCap)}
}

// values is how many values a field with a selection can return.
func (w *costWalk) values(f *ast.Field, def *graphql.FieldDefinition, parent graphql.Type, page int) int {
	switch {
	case isConnection(parent) && (f.Name.Value == "edges" || f.Name.Value == "nodes"):
		return page
	case isList(def.Type):
		return w.pageSize(f, listBound)
	}
	return 1
}

// pageSize is the field's first (or limit) argument, or def without one.
// A first beyond the largest page is refused here, as fetch would.
func (w *costWalk) pageSize(f *ast.Field, def int) int {
	for _, arg := range f.Arguments {
		name := arg.Name.Value
		if name != "first" && name != "limit" {
			continue
		}
		n, ok := w.intValue(arg.Value)
		if !ok || n < 0 {
			return def
		}
		if name == "first" && n > w.lim.MaxPageSize && w.err == nil {
			w.err = schema.FieldErrorf(schema.EINVALID, "first", "first must be between 0 and %d", w.lim.MaxPageSize)
		}
		return n
	}
	return def
}

func (w *costWalk) intValue(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.IntValue:
		n, err := strconv.Atoi(v.Value)
		return n, err == nil
	case *ast.Variable:
		switch n := w.vars[v.Name.Value].(type) {
		case float64:
			return int(min(n, costCap)), true
		case int:
			return n, true
		}
	}
	return 0, false
}

func isConnection(t graphql.Type) bool {
	return t != nil && strings.HasSuffix(t.Name(), "Connection")
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

// mulCap multiplies, saturating at costCap.
func mulCap(n, c int) int {
	if n <= 0 || c <= 0 {
		return 0
	}
	if n > costCap/c {
		return costCap
	}
	return n * c
}
