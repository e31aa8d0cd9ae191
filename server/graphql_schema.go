package server

import (
	"fmt"
	"log/slog"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// builder generates the GraphQL schema from the entity types: one object,
// connection, filter and input type per entity type, plus the generic
// entry types every type shares.
type builder struct {
	reg   *schema.Registry
	store *inventory.Store
	log   *slog.Logger
	lim   limitsView

	json              *graphql.Scalar
	order             *graphql.Enum
	pageInfo          *graphql.Object
	entry, entryConn  *graphql.Object
	version, typeInfo *graphql.Object
	writeResult       *graphql.Object
	scalarFilters     map[string]*graphql.InputObject

	objects map[string]*graphql.Object
	conns   map[string]*graphql.Object
	filters map[string]*graphql.InputObject
	inputs  map[string]*graphql.InputObject
}

// limitsView is what resolvers need from the limits.
type limitsView struct{ maxPage int }

// reservedTypes are the generated type names an entity type must not take.
var reservedTypes = map[string]bool{
	"Query": true, "Mutation": true, "Entry": true, "EntryConnection": true, "EntryEdge": true,
	"PageInfo": true, "JSON": true, "EntryOrder": true, "EntryVersion": true, "EntityType": true,
	"AttributeInfo": true, "WriteResult": true, "EntryInput": true, "AttrFilter": true,
	"Grant": true, "SkippedValue": true, "PoolUsage": true, "Allocation": true, "AuditRecord": true,
}

func buildSchema(reg *schema.Registry, opts Options) (*graphql.Schema, error) {
	b := &builder{
		reg: reg, store: opts.Store, log: opts.Logger, lim: limitsView{maxPage: opts.Limits.MaxPageSize},
		objects: map[string]*graphql.Object{}, conns: map[string]*graphql.Object{},
		filters: map[string]*graphql.InputObject{}, inputs: map[string]*graphql.InputObject{},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.common()
	for _, t := range reg.Types() {
		b.objects[t.Name] = b.object(t)
	}
	for _, t := range reg.Types() {
		b.conns[t.Name] = b.connection(typeName(t), b.objects[t.Name])
		b.filters[t.Name] = b.filterInput(t)
		b.inputs[t.Name] = b.attrInput(t)
	}
	extraQ, extraM := opts.ExtraQueries, opts.ExtraMutations
	var err error
	if opts.Reconcile != nil {
		rq, rm := b.reconcileFields(opts)
		if extraQ, extraM, err = mergeRoots(rq, rm, extraQ, extraM); err != nil {
			return nil, err
		}
	}
	if opts.Allocator != nil {
		aq, am := b.allocateFields(opts.Allocator)
		if extraQ, extraM, err = mergeRoots(aq, am, extraQ, extraM); err != nil {
			return nil, err
		}
	}
	eq, em := b.eventFields(opts.EventSubscriptions)
	if extraQ, extraM, err = mergeRoots(eq, em, extraQ, extraM); err != nil {
		return nil, err
	}
	extraQ, err = merge(b.auditFields(), extraQ, "query")
	if err != nil {
		return nil, err
	}
	query, err := merge(b.queryFields(), extraQ, "query")
	if err != nil {
		return nil, err
	}
	mutation, err := merge(b.mutationFields(), extraM, "mutation")
	if err != nil {
		return nil, err
	}
	sch, err := graphql.NewSchema(graphql.SchemaConfig{
		Query:    graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: query}),
		Mutation: graphql.NewObject(graphql.ObjectConfig{Name: "Mutation", Fields: mutation}),
	})
	if err != nil {
		return nil, err
	}
	return &sch, nil
}

// merge adds extra root fields (reconcile's) to the generated ones.
func merge(gen, extra graphql.Fields, root string) (graphql.Fields, error) {
	for name, f := range extra {
		if gen[name] != nil {
			return nil, fmt.Errorf("extra %s field %q clashes with a generated one", root, name)
		}
		gen[name] = f
	}
	return gen, nil
}

// mergeRoots adds the extra query and mutation fields to q and m.
func mergeRoots(q, m, extraQ, extraM graphql.Fields) (graphql.Fields, graphql.Fields, error) {
	q, err := merge(q, extraQ, "query")
	if err != nil {
		return nil, nil, err
	}
	m, err = merge(m, extraM, "mutation")
	return q, m, err
}

// typeName is the GraphQL object name of an entity type.
func typeName(t *schema.EntityType) string {
	n := pascal(t.Name)
	if reservedTypes[n] {
		n += "Type"
	}
	return n
}

// object is the typed object of an entity type. Its fields are a thunk:
// types reference each other in both directions.
func (b *builder) object(t *schema.EntityType) *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        typeName(t),
		Description: t.Description,
		Fields: graphql.FieldsThunk(func() graphql.Fields {
			f := b.metaFields()
			for _, a := range t.Attributes {
				f[a.FieldName()] = b.attrField(t, a)
			}
			for name, br := range backrefNames(b.reg, t, f) {
				f[name] = b.backrefField(br)
			}
			return f
		}),
	})
}

// backrefNames names the back-references to t after the referring type
// (host.vms for vm.host), adding the attribute where one type refers to t
// through several attributes or the plain name is taken (vmsByCluster).
func backrefNames(reg *schema.Registry, t *schema.EntityType, taken graphql.Fields) map[string]schema.BackRef {
	brs := reg.BackRefs(t.Name)
	per := map[string]int{}
	for _, br := range brs {
		per[br.From.Name]++
	}
	out := map[string]schema.BackRef{}
	for _, br := range brs {
		name := camel(plural(br.From.Name))
		if per[br.From.Name] > 1 || taken[name] != nil || schema.IsEntryField(name) {
			name += "By" + pascal(br.Attr.Name)
		}
		out[name] = br
	}
	return out
}

// kindType maps an attribute kind onto a GraphQL scalar.
func kindType(k schema.Kind) *graphql.Scalar {
	switch k {
	case schema.KindInteger:
		return graphql.Int
	case schema.KindNumber:
		return graphql.Float
	case schema.KindBoolean:
		return graphql.Boolean
	}
	return graphql.String
}

func (b *builder) attrField(t *schema.EntityType, a *schema.Attribute) *graphql.Field {
	desc := a.Description
	if a.Secret {
		desc += " (secret: null unless the token is admin)"
	}
	if a.Type.Kind == schema.KindRef {
		var typ graphql.Output = b.objects[a.Type.RefType]
		if a.Type.List {
			typ = graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(typ)))
		}
		return &graphql.Field{Type: typ, Description: desc, Resolve: b.refResolver(a)}
	}
	var typ graphql.Output = kindType(a.Type.Kind)
	if a.Type.List {
		typ = graphql.NewList(graphql.NewNonNull(typ))
	}
	return &graphql.Field{Type: typ, Description: desc, Resolve: b.attrResolver(a)}
}

func (b *builder) backrefField(br schema.BackRef) *graphql.Field {
	return &graphql.Field{
		Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(b.objects[br.From.Name]))),
		Description: fmt.Sprintf("Live %s entries whose %s references this one, by name.", br.From.Name, br.Attr.Name),
		Args:        graphql.FieldConfigArgument{"first": {Type: graphql.Int, Description: "at most this many (all by default)"}},
		Resolve:     b.backrefResolver(br),
	}
}
