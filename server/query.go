package server

import (
	"context"
	"strconv"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/access"
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
				e, err := b.store.Get(p.Context, id)
				return b.readable(p.Context, e, err)
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

// history returns an entry's versions, if the caller may read it; of the
// changes, those of attributes it may not read are left out (a secret's
// shows, masked).
func (b *builder) history(p graphql.ResolveParams, id int64) ([]inventory.Version, error) {
	e, err := b.store.Get(p.Context, id)
	if e, err = b.readable(p.Context, e, err); err != nil {
		return nil, err
	}
	vs, err := b.store.History(p.Context, id)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].Changes = b.visibleChanges(p.Context, e, vs[i].Changes)
	}
	return vs, nil
}

// visibleChanges keeps the changes of attributes the caller may read: a
// hidden secret's change shows masked, any other hidden attribute's not
// at all — in history and in what a write returns (an update's old secret
// would otherwise reach any writer). e is the entry as it is now.
func (b *builder) visibleChanges(ctx context.Context, e *inventory.Entry, changes map[string]inventory.Change) map[string]inventory.Change {
	t, err := b.reg.Type(e.Type)
	if err != nil {
		return nil // a type the schema no longer has: show nothing
	}
	acc, err := accessOf(ctx, b.store)
	if err != nil {
		return nil
	}
	out := make(map[string]inventory.Change, len(changes))
	for k, c := range changes {
		switch a := t.Attr(k); {
		case acc.CanRead(e, k):
			out[k] = c
		case a != nil && a.Secret && acc.AttrLevel(e, k) >= access.Read:
			out[k] = inventory.Change{Old: t.RedactValue(k, c.Old, schema.Mask), New: t.RedactValue(k, c.New, schema.Mask)}
		}
	}
	return out
}

// readable passes on an entry the caller may read; one it may not is
// not found, as if it were not there.
func (b *builder) readable(ctx context.Context, e *inventory.Entry, err error) (*inventory.Entry, error) {
	if err != nil {
		return nil, err
	}
	acc, err := accessOf(ctx, b.store)
	if err != nil {
		return nil, err
	}
	return readable(acc, e)
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
			if e, err = b.readable(p.Context, e, err); err != nil {
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
