package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// connection is a Relay connection's value: the query that made the page
// (for totalCount) and the page.
type connection struct {
	store   *inventory.Store
	query   inventory.Query
	entries []*inventory.Entry
	next    string
}

// edge is one entry of a page; its cursor is computed only when asked for.
type edge struct {
	conn *connection
	i    int
}

// cursorAt returns the cursor of the i-th entry. It is the store's cursor
// format (base64url JSON of name and id) so that any edge's cursor can be
// passed back as after; TestCursorMatchesStore pins the two together.
func (c *connection) cursorAt(i int) any {
	if i < 0 || i >= len(c.entries) {
		return nil
	}
	e := c.entries[i]
	b, _ := json.Marshal(struct {
		Name string `json:"n,omitempty"`
		ID   int64  `json:"i"`
	}{e.Name, e.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// connection builds the <Name>Connection and <Name>Edge types.
func (b *builder) connection(name string, node *graphql.Object) *graphql.Object {
	edgeT := graphql.NewObject(graphql.ObjectConfig{Name: name + "Edge", Fields: graphql.Fields{
		"cursor": {Type: graphql.NewNonNull(graphql.String), Resolve: prop(func(e edge) any { return e.conn.cursorAt(e.i) })},
		"node":   {Type: graphql.NewNonNull(node), Resolve: prop(func(e edge) any { return e.conn.entries[e.i] })},
	}})
	return graphql.NewObject(graphql.ObjectConfig{Name: name + "Connection", Fields: graphql.Fields{
		"edges": {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(edgeT))), Resolve: prop(func(c *connection) any {
			out := make([]edge, len(c.entries))
			for i := range c.entries {
				out[i] = edge{conn: c, i: i}
			}
			return out
		})},
		"nodes":    {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(node))), Resolve: prop(func(c *connection) any { return c.entries })},
		"pageInfo": {Type: graphql.NewNonNull(b.pageInfo), Resolve: func(p graphql.ResolveParams) (any, error) { return p.Source, nil }},
		"totalCount": {Type: graphql.NewNonNull(graphql.Int), Description: "Entries matching the filter, all pages.",
			Resolve: b.resolver(func(p graphql.ResolveParams) (any, error) {
				c, ok := p.Source.(*connection)
				if !ok {
					return nil, nil
				}
				return c.store.Count(p.Context, c.query)
			})},
	}})
}

// connectionArgs are the arguments of every connection field but filter.
func (b *builder) connectionArgs(filter graphql.Input) graphql.FieldConfigArgument {
	return graphql.FieldConfigArgument{
		"filter":         {Type: filter, Description: "Conditions, all of which must hold."},
		"first":          {Type: graphql.Int, Description: "Page size (default 100)."},
		"after":          {Type: graphql.String, Description: "Cursor: start after this edge."},
		"orderBy":        {Type: b.order, DefaultValue: "name"},
		"includeDeleted": {Type: graphql.Boolean, DefaultValue: false},
		"status":         {Type: graphql.String, Description: "active or stale; any by default."},
	}
}

// fetch runs a connection query. Pages larger than the store's own limit
// are read as several store pages.
func (b *builder) fetch(ctx context.Context, q inventory.Query, args map[string]any) (*connection, error) {
	first := defaultFirst
	if v, ok := args["first"].(int); ok {
		first = v
	}
	if first < 0 || first > b.lim.maxPage {
		return nil, schema.FieldErrorf(schema.EINVALID, "first", "first must be between 0 and %d", b.lim.maxPage)
	}
	q.After, _ = args["after"].(string)
	order, _ := args["orderBy"].(string)
	q.OrderBy, q.Desc = strings.CutSuffix(order, " desc")
	q.IncludeDeleted, _ = args["includeDeleted"].(bool)
	q.Status, _ = args["status"].(string)
	acc, err := accessOf(ctx, b.store)
	if err != nil {
		return nil, err
	}
	q.Access = acc.Rows(q.Type, access.Read) // one query, whatever the grants
	c := &connection{store: b.store, query: q}
	for page := q; first > len(c.entries); {
		page.Limit = min(first-len(c.entries), inventory.MaxLimit)
		res, err := b.store.Find(ctx, page)
		if err != nil {
			return nil, err
		}
		c.entries = append(c.entries, res.Entries...)
		c.next = res.Next
		if res.Next == "" {
			break
		}
		page.After = res.Next
	}
	loaderFrom(ctx, b.store).prime(c.entries)
	return c, nil
}
