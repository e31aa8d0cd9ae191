package server

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// metaFields are the fields of every entry object.
func (b *builder) metaFields() graphql.Fields {
	str := graphql.NewNonNull(graphql.String)
	e := func(get func(*inventory.Entry) any) graphql.FieldResolveFn { return prop(get) }
	return graphql.Fields{
		"id":            {Type: graphql.NewNonNull(graphql.ID), Resolve: e(func(e *inventory.Entry) any { return idString(e.ID) })},
		"type":          {Type: str, Resolve: e(func(e *inventory.Entry) any { return e.Type })},
		"name":          {Type: str, Resolve: e(func(e *inventory.Entry) any { return e.Name })},
		"version":       {Type: graphql.NewNonNull(graphql.Int), Description: "The entry's version: pass it to update and delete.", Resolve: e(func(e *inventory.Entry) any { return e.Version })},
		"status":        {Type: str, Resolve: e(func(e *inventory.Entry) any { return e.Status })},
		"createdAt":     {Type: str, Resolve: e(func(e *inventory.Entry) any { return timeString(e.CreatedAt) })},
		"updatedAt":     {Type: str, Resolve: e(func(e *inventory.Entry) any { return timeString(e.UpdatedAt) })},
		"deletedAt":     {Type: graphql.String, Resolve: e(func(e *inventory.Entry) any { return timePtr(e.DeletedAt) })},
		"deletedReason": {Type: graphql.String, Resolve: e(func(e *inventory.Entry) any { return e.DeletedReason })},
		"attrs": {Type: b.json, Description: "Every attribute as JSON (references by name; secrets only for admins).",
			Resolve: func(p graphql.ResolveParams) (any, error) {
				e, ok := p.Source.(*inventory.Entry)
				if !ok {
					return nil, nil
				}
				return b.visibleAttrs(p.Context, e), nil
			}},
	}
}

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeString(*t)
}

// visibleAttrs returns the attributes the caller may read (a secret at
// admin only), a copy: the entry stays whole for the others.
func (b *builder) visibleAttrs(ctx context.Context, e *inventory.Entry) map[string]any {
	acc, err := accessOf(ctx, b.store)
	if err != nil {
		b.log.Error("access", "err", err)
		return nil
	}
	if acc.IsAdmin() {
		return e.Attrs
	}
	c := *e
	c.Attrs = maps.Clone(e.Attrs)
	acc.Hide(&c)
	return c.Attrs
}

// canRead reports whether the caller may read attr of e.
func (b *builder) canRead(ctx context.Context, e *inventory.Entry, attr string) bool {
	acc, err := accessOf(ctx, b.store)
	return err == nil && acc.CanRead(e, attr)
}

func (b *builder) attrResolver(a *schema.Attribute) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		e, ok := p.Source.(*inventory.Entry)
		if !ok || !b.canRead(p.Context, e, a.Name) {
			return nil, nil
		}
		return e.Attrs[a.Name], nil
	}
}

// visibleThunk keeps, of what a loader thunk yields, the entries the
// caller may read: a reference to a hidden entry reads as none.
func (b *builder) visibleThunk(ctx context.Context, th func() (any, error)) func() (any, error) {
	return func() (any, error) {
		v, err := th()
		if err != nil {
			return nil, err
		}
		acc, err := accessOf(ctx, b.store)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case *inventory.Entry:
			if x == nil || acc.EntryLevel(x) < access.Read {
				return nil, nil
			}
		case []*inventory.Entry:
			return visible(acc, x), nil
		}
		return v, nil
	}
}

// refResolver returns a thunk: the loader fetches every reference of the
// current level in one batch.
func (b *builder) refResolver(a *schema.Attribute) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		e, ok := p.Source.(*inventory.Entry)
		if !ok || !b.canRead(p.Context, e, a.Name) {
			return nil, nil
		}
		ids := e.RefIDs[a.Name]
		l := loaderFrom(p.Context, b.store)
		if a.Type.List {
			return b.thunk(b.visibleThunk(p.Context, l.refs(ids))), nil
		}
		if len(ids) == 0 {
			return nil, nil
		}
		return b.thunk(b.visibleThunk(p.Context, l.ref(ids[0]))), nil
	}
}

func (b *builder) backrefResolver(br schema.BackRef) graphql.FieldResolveFn {
	key := backrefKey{From: br.From.Name, Attr: br.Attr.Name}
	return func(p graphql.ResolveParams) (any, error) {
		e, ok := p.Source.(*inventory.Entry)
		if !ok {
			return nil, nil
		}
		th := b.visibleThunk(p.Context, loaderFrom(p.Context, b.store).referrers(key, e.ID))
		first, limited := p.Args["first"].(int)
		return b.thunk(func() (any, error) {
			v, err := th()
			es, ok := v.([]*inventory.Entry)
			if err != nil || !ok {
				return v, err
			}
			if !limited {
				return es, overBound(len(es), fmt.Sprintf("%s %s has more than %d %s", e.Type, e.Name, listBound, plural(br.From.Name)), b.lim.maxPage)
			}
			return es[:min(len(es), max(first, 0))], nil
		}), nil
	}
}

// overBound refuses a list asked for without first that holds more than
// listBound values, what the cost of a query assumes of it.
func overBound(n int, what string, maxPage int) error {
	if n <= listBound {
		return nil
	}
	return schema.FieldErrorf(schema.EINVALID, "first", "%s: ask for them with first (up to %d)", what, maxPage)
}

// thunk wraps a loader thunk so its errors carry codes like resolver errors.
func (b *builder) thunk(th func() (any, error)) func() (any, error) {
	return func() (any, error) {
		v, err := th()
		if err != nil {
			return nil, b.fail(err)
		}
		return v, nil
	}
}

// fail logs internal errors (their text may hold SQL) and gives GraphQL a
// coded error.
func (b *builder) fail(err error) error {
	if schema.ErrorCode(err) == schema.EINTERNAL {
		b.log.Error("graphql resolver", "err", err)
	}
	return codedError{err: err}
}

// resolver wraps a resolver so every error it returns is coded.
func (b *builder) resolver(fn graphql.FieldResolveFn) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		v, err := fn(p)
		if err != nil {
			return nil, b.fail(err)
		}
		return v, nil
	}
}
