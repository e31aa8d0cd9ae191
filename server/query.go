package server

import (
	"context"
	"strconv"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// queryFields are the generated root query fields: per type a lookup and a
// connection, plus the generic entries, entry, entryHistory and types.
func (b *builder) queryFields() graphql.Fields {
	f := graphql.Fields{
		"entries": {
			Type:        graphql.NewNonNull(b.entryConn),
			Description: "Entries of one type with generic filters; attributes as JSON.",
			Args: func() graphql.FieldConfigArgument {
				a := b.connectionArgs(graphql.NewList(graphql.NewNonNull(b.genericFilterInput())))
				a["type"] = &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.String)}
				return a
			}(),
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
				typ, _ := p.Args["type"].(string)
				filters, _ := p.Args["filter"].([]any)
				return b.fetch(p.Context, inventory.Query{Type: typ, Filters: genericFilters(filters)}, p.Args)
			}),
		},
		"entry": {
			Type: b.entry,
			Args: graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID)}},
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
				id, err := parseID(p.Args["id"])
				if err != nil {
					return nil, err
				}
				return b.store.Get(p.Context, id)
			}),
		},
		"entryHistory": {
			Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(b.version))),
			Args: graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID)}},
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
				id, err := parseID(p.Args["id"])
				if err != nil {
					return nil, err
				}
				return b.history(p, id)
			}),
		},
		"types": {
			Type:    graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(b.typeInfo))),
			Resolve: func(p graphql.ResolveParams) (any, error) { return b.reg.Types(), nil },
		},
	}
	for _, t := range b.reg.Types() {
		one, many := camel(t.Name), camel(plural(t.Name))
		if f[one] != nil || f[many] != nil || one == many {
			one, many = one+"Entry", many+"Entries"
		}
		f[one] = b.lookupField(t)
		f[many] = b.connectionField(t)
	}
	return f
}

// history returns an entry's versions, without secret values for
// non-admins.
func (b *builder) history(p graphql.ResolveParams, id int64) ([]inventory.Version, error) {
	e, err := b.store.Get(p.Context, id)
	if err != nil {
		return nil, err
	}
	vs, err := b.store.History(p.Context, id)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].Changes = b.visibleChanges(p.Context, e.Type, vs[i].Changes)
	}
	return vs, nil
}

// visibleChanges hides the values of secret attributes from non-admins,
// in history and in what a write returns (an update's old secret would
// otherwise reach any writer).
func (b *builder) visibleChanges(ctx context.Context, typ string, changes map[string]inventory.Change) map[string]inventory.Change {
	t, err := b.reg.Type(typ)
	if err != nil {
		return nil // a type the schema no longer has: show nothing
	}
	return inventory.RedactChanges(t, changes, secrets(ctx, schema.Mask))
}

// lookupField is vm(id:) / vm(name:).
func (b *builder) lookupField(t *schema.EntityType) *graphql.Field {
	return &graphql.Field{
		Type:        b.objects[t.Name],
		Description: "One " + t.Name + " by id (deleted ones too) or by name (live ones).",
		Args: graphql.FieldConfigArgument{
			"id":   {Type: graphql.ID},
			"name": {Type: graphql.String},
		},
		Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
			var e *inventory.Entry
			var err error
			switch name, _ := p.Args["name"].(string); {
			case p.Args["id"] != nil:
				id, perr := parseID(p.Args["id"])
				if perr != nil {
					return nil, perr
				}
				if e, err = b.store.Get(p.Context, id); err == nil && e.Type != t.Name {
					err = schema.Errorf(schema.ENOTFOUND, "entry %d is a %s, not a %s", id, e.Type, t.Name)
				}
			case name != "":
				e, err = b.store.GetByName(p.Context, t.Name, name)
			default:
				err = schema.Errorf(schema.EINVALID, "give id or name")
			}
			if err != nil {
				return nil, err
			}
			loaderFrom(p.Context, b.store).prime([]*inventory.Entry{e})
			return e, nil
		}),
	}
}

// connectionField is vms(filter:, first:, after:, orderBy:).
func (b *builder) connectionField(t *schema.EntityType) *graphql.Field {
	return &graphql.Field{
		Type:        graphql.NewNonNull(b.conns[t.Name]),
		Description: "Live " + t.Name + " entries, a page at a time.",
		Args:        b.connectionArgs(b.filters[t.Name]),
		Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
			in, _ := p.Args["filter"].(map[string]any)
			filters, err := typedFilters(t, in)
			if err != nil {
				return nil, err
			}
			return b.fetch(p.Context, inventory.Query{Type: t.Name, Filters: filters}, p.Args)
		}),
	}
}

// parseID reads an entry id from a GraphQL ID.
func parseID(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		id, err := strconv.ParseInt(x, 10, 64)
		if err == nil {
			return id, nil
		}
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	}
	return 0, schema.FieldErrorf(schema.EINVALID, "id", "bad entry id %v", v)
}
