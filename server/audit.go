package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// auditFields is the audit query, for admins: who logged in, changed
// users, teams, tokens and grants, and used tokens from where.
func (b *builder) auditFields() graphql.Fields {
	str := func(get func(r inventory.AuditRecord) string) *graphql.Field {
		return &graphql.Field{Type: graphql.NewNonNull(graphql.String), Resolve: func(p graphql.ResolveParams) (any, error) {
			return get(p.Source.(inventory.AuditRecord)), nil
		}}
	}
	record := graphql.NewObject(graphql.ObjectConfig{
		Name:        "AuditRecord",
		Description: "One line of the audit log.",
		Fields: graphql.Fields{
			"id":         str(func(r inventory.AuditRecord) string { return strconv.FormatInt(r.ID, 10) }),
			"at":         str(func(r inventory.AuditRecord) string { return r.At.Format(time.RFC3339Nano) }),
			"actor":      str(func(r inventory.AuditRecord) string { return r.Actor }),
			"action":     str(func(r inventory.AuditRecord) string { return r.Action }),
			"target":     str(func(r inventory.AuditRecord) string { return r.Target }),
			"detail":     str(func(r inventory.AuditRecord) string { return r.Detail }),
			"remoteAddr": str(func(r inventory.AuditRecord) string { return r.RemoteAddr }),
			"success": {Type: graphql.NewNonNull(graphql.Boolean), Resolve: func(p graphql.ResolveParams) (any, error) {
				return p.Source.(inventory.AuditRecord).Success, nil
			}},
		},
	})
	return graphql.Fields{"audit": {
		Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(record))),
		Description: "The audit log, newest first (admins only).",
		Args: graphql.FieldConfigArgument{
			"first":  {Type: graphql.Int, Description: fmt.Sprintf("at most this many (default %d)", listBound)},
			"since":  {Type: graphql.String, Description: "only records at or after this time: RFC 3339, or an age such as 24h or 7d"},
			"actor":  {Type: graphql.String},
			"action": {Type: graphql.String, Description: "login, logout, token.use, user.add, grant, …"},
			"before": {Type: graphql.ID, Description: "only records older than the one of this id (the next page)"},
		},
		Resolve: func(p graphql.ResolveParams) (any, error) {
			recs, err := b.audit(p.Context, p.Args)
			return recs, CodedError(err)
		},
	}}
}

func (b *builder) audit(ctx context.Context, args map[string]any) ([]inventory.AuditRecord, error) {
	if err := requireRole(ctx, inventory.RoleAdmin); err != nil {
		return nil, err
	}
	f := inventory.AuditFilter{Limit: listBound}
	if n, ok := args["first"].(int); ok {
		if n < 0 || n > b.lim.maxPage {
			return nil, schema.FieldErrorf(schema.EINVALID, "first", "first must be between 0 and %d", b.lim.maxPage)
		}
		if n == 0 {
			return []inventory.AuditRecord{}, nil
		}
		f.Limit = n
	}
	if s, ok := args["since"].(string); ok && s != "" {
		t, err := ParseSince(s, b.store.Now())
		if err != nil {
			return nil, err
		}
		f.Since = t
	}
	f.Actor, _ = args["actor"].(string)
	f.Action, _ = args["action"].(string)
	if s, ok := args["before"].(string); ok && s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, schema.FieldErrorf(schema.EINVALID, "before", "want the id of an audit record, got %q", s)
		}
		f.Before = id
	}
	return b.store.Audits(ctx, f)
}

// ParseSince reads a point in time: RFC 3339, or an age before now such
// as 90m, 24h or 7d.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	age, mult := s, time.Duration(1)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		age, mult = d+"h", 24
	}
	d, err := time.ParseDuration(age)
	if err != nil || d < 0 {
		return time.Time{}, schema.FieldErrorf(schema.EINVALID, "since", "want a time (2026-03-01T09:00:00Z) or an age (24h, 7d), got %q", s)
	}
	return now.Add(-d * mult), nil
}
