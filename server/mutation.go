package server

import (
	"context"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// meta is the change-set description of an API write.
func meta(ctx context.Context, args map[string]any) inventory.Meta {
	reason, _ := args["reason"].(string)
	return inventory.Meta{Actor: principalFrom(ctx).Name, Source: "api", Reason: reason}
}

// writer wraps a mutation resolver: its writes go through the caller's
// write guard (package access decides each one in the store's
// transaction), errors coded.
func (b *builder) writer(fn graphql.FieldResolveFn) graphql.FieldResolveFn {
	return b.resolver(func(p graphql.ResolveParams) (any, error) {
		acc, err := mayWrite(p.Context, b.store)
		if err != nil {
			return nil, err
		}
		p.Context = inventory.WithWriteGuard(p.Context, acc.Guard())
		return fn(p)
	})
}

func (b *builder) mutationFields() graphql.Fields {
	id := &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.ID)}
	version := &graphql.ArgumentConfig{Type: graphql.NewNonNull(graphql.Int), Description: "the version read; a newer stored one is a conflict"}
	reason := &graphql.ArgumentConfig{Type: graphql.String, Description: "recorded in the history"}
	item := graphql.NewInputObject(graphql.InputObjectConfig{Name: "EntryInput", Fields: graphql.InputObjectConfigFieldMap{
		"type":  {Type: graphql.NewNonNull(graphql.String)},
		"name":  {Type: graphql.NewNonNull(graphql.String)},
		"attrs": {Type: b.json},
	}})
	f := graphql.Fields{
		"createEntry": {Type: b.entry, Args: graphql.FieldConfigArgument{
			"type": {Type: graphql.NewNonNull(graphql.String)}, "name": {Type: graphql.NewNonNull(graphql.String)},
			"attrs": {Type: b.json}, "reason": reason,
		}, Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
			typ, _ := p.Args["type"].(string)
			name, _ := p.Args["name"].(string)
			attrs, err := jsonAttrs(p.Args["attrs"])
			if err != nil {
				return nil, err
			}
			return b.store.Create(p.Context, meta(p.Context, p.Args), typ, name, attrs)
		})},
		"updateEntry": {Type: b.entry, Args: graphql.FieldConfigArgument{
			"id": id, "version": version, "name": {Type: graphql.String}, "attrs": {Type: b.json, Description: "merged; null removes an attribute"}, "reason": reason,
		}, Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
			attrs, err := jsonAttrs(p.Args["attrs"])
			if err != nil {
				return nil, err
			}
			return b.update(p, attrs)
		})},
		"deleteEntry": {Type: b.entry, Args: graphql.FieldConfigArgument{"id": id, "version": version, "reason": reason},
			Resolve: b.writer(func(p graphql.ResolveParams) (any, error) { return b.delete(p) })},
		"restoreEntry": {Type: b.entry, Args: graphql.FieldConfigArgument{"id": id, "reason": reason},
			Resolve: b.writer(func(p graphql.ResolveParams) (any, error) {
				eid, err := parseID(p.Args["id"])
				if err != nil {
					return nil, err
				}
				return b.store.Restore(p.Context, meta(p.Context, p.Args), eid)
			})},
		"upsertEntries": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(b.writeResult))),
			Description: "Create or update many entries by type and name, all or none.",
			Args: graphql.FieldConfigArgument{
				"items": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(item)))}, "dryRun": {Type: graphql.Boolean, DefaultValue: false}, "reason": reason,
			}, Resolve: b.writer(b.upsert)},
	}
	for _, t := range b.reg.Types() {
		b.typedMutations(f, t, id, version, reason)
	}
	return f
}

func (b *builder) update(p graphql.ResolveParams, attrs map[string]any) (*inventory.Entry, error) {
	eid, err := parseID(p.Args["id"])
	if err != nil {
		return nil, err
	}
	v, _ := p.Args["version"].(int)
	patch := inventory.Patch{Version: int64(v), Attrs: attrs}
	if name, ok := p.Args["name"].(string); ok {
		patch.Name = &name
	}
	return b.store.Update(p.Context, meta(p.Context, p.Args), eid, patch)
}

func (b *builder) delete(p graphql.ResolveParams) (*inventory.Entry, error) {
	eid, err := parseID(p.Args["id"])
	if err != nil {
		return nil, err
	}
	v, _ := p.Args["version"].(int)
	return b.store.Delete(p.Context, meta(p.Context, p.Args), eid, int64(v))
}

func (b *builder) upsert(p graphql.ResolveParams) (any, error) {
	raw, _ := p.Args["items"].([]any)
	items := make([]inventory.Item, 0, len(raw))
	for i, x := range raw {
		m, _ := x.(map[string]any)
		it := inventory.Item{}
		it.Type, _ = m["type"].(string)
		it.Name, _ = m["name"].(string)
		attrs, err := jsonAttrs(m["attrs"])
		if err != nil {
			return nil, schema.FieldErrorf(schema.EINVALID, "items["+itoa(i)+"].attrs", "%s", err.Error())
		}
		it.Attrs = attrs
		items = append(items, it)
	}
	dry, _ := p.Args["dryRun"].(bool)
	return b.store.Upsert(p.Context, meta(p.Context, p.Args), items, inventory.UpsertOptions{DryRun: dry})
}

// jsonAttrs checks that a JSON argument is an object of attributes.
func jsonAttrs(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, schema.FieldErrorf(schema.EINVALID, "attrs", "attrs must be an object")
	}
	return m, nil
}
