package access

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// ParseWhere reads grant conditions written "attr=value" (value may be
// $user or $team).
func ParseWhere(conds []string) ([]inventory.Filter, error) {
	var out []inventory.Filter
	for i, c := range conds {
		attr, v, ok := strings.Cut(c, "=")
		if !ok || attr == "" {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("where[%d]", i), "%q is not attr=value", c)
		}
		out = append(out, inventory.Filter{Attr: strings.TrimSpace(attr), Op: inventory.OpEq, Values: []any{strings.TrimSpace(v)}})
	}
	return out, nil
}

// check validates a grant against the types and puts its values in their
// stored form (a filter on an FQDN matches its canonical spelling); errors
// name the field.
func check(reg *schema.Registry, g *Grant) error {
	kind, name, _ := strings.Cut(g.Subject, ":")
	switch {
	case kind == "anyone" && name == "":
	case (kind == "user" || kind == "team") && name != "":
	case kind == "role" && RoleLevel(name) > None:
	default:
		return schema.FieldErrorf(schema.EINVALID, "subject", "%q is not user:NAME, team:NAME, role:reader|writer|admin or anyone", g.Subject)
	}
	if g.Type == "" {
		if g.Attr != "" || len(g.Where) > 0 {
			return schema.FieldErrorf(schema.EINVALID, "type", "a grant on an attribute or on matching entries needs a type")
		}
		return nil
	}
	t, err := reg.Type(g.Type)
	if err != nil {
		return schema.FieldErrorf(schema.EINVALID, "type", "unknown entity type %q", g.Type)
	}
	if g.Attr != "" && g.Attr != "name" && t.Attr(g.Attr) == nil {
		return schema.FieldErrorf(schema.EINVALID, "attr", "%s has no attribute %q", g.Type, g.Attr)
	}
	for i := range g.Where {
		f := &g.Where[i]
		field := fmt.Sprintf("where[%d]", i)
		if f.Attr == "name" {
			continue
		}
		a := t.Attr(f.Attr)
		switch {
		case a == nil:
			return schema.FieldErrorf(schema.EINVALID, field, "%s has no attribute %q", g.Type, f.Attr)
		case a.Secret || a.Type.Kind == schema.KindText:
			return schema.FieldErrorf(schema.EINVALID, field, "%s.%s cannot be searched (secret or text): grants cannot depend on it", g.Type, f.Attr)
		}
		for j, v := range f.Values {
			if s, ok := v.(string); ok && (s == "$user" || s == "$team") {
				continue
			}
			if a.Type.Kind == schema.KindRef {
				continue // a referenced entry's name
			}
			scalar := a.Type
			scalar.List = false
			n, err := scalar.Normalize(v)
			if err != nil {
				return schema.FieldErrorf(schema.EINVALID, field, "%v", err)
			}
			f.Values[j] = n
		}
	}
	return nil
}

// AddGrant checks a grant and stores it, recorded as given by by in the
// grant and in the audit log.
func AddGrant(ctx context.Context, s *inventory.Store, by inventory.By, g Grant) (*Grant, error) {
	if err := check(s.Registry(), &g); err != nil {
		return nil, err
	}
	if err := subjectExists(ctx, s, g.Subject); err != nil {
		return nil, err
	}
	rec := &inventory.GrantRecord{Subject: g.Subject, Level: g.Level.String(), Type: g.Type, Attr: g.Attr, CreatedBy: by.Actor}
	if len(g.Where) > 0 {
		b, err := json.Marshal(g.Where)
		if err != nil {
			return nil, err
		}
		rec.Filter = string(b)
	}
	if err := s.AddGrant(ctx, by, rec, g.String()); err != nil {
		return nil, err
	}
	g.ID = rec.ID
	return &g, nil
}

// subjectExists refuses a grant to a user or team tana does not know: a
// typo would otherwise grant nothing, silently.
func subjectExists(ctx context.Context, s *inventory.Store, subject string) error {
	var err error
	kind, name, _ := strings.Cut(subject, ":")
	switch kind {
	case "user":
		_, err = s.User(ctx, name)
	case "team":
		_, err = s.Team(ctx, name)
	}
	if schema.ErrorCode(err) == schema.ENOTFOUND {
		return schema.FieldErrorf(schema.ENOTFOUND, "subject", "no %s named %q (add it first: tana %s add %s)", kind, name, kind, name)
	}
	return err
}

// RevokeGrant removes a grant, recorded as revoked by by in the audit log.
func RevokeGrant(ctx context.Context, s *inventory.Store, by inventory.By, id int64) (*Grant, error) {
	rec, err := s.RemoveGrant(ctx, by, id, func(r inventory.GrantRecord) string {
		if g, err := grantOf(r); err == nil {
			return g.String()
		}
		return r.Subject + " " + r.Level
	})
	if err != nil {
		return nil, err
	}
	g, err := grantOf(*rec)
	return &g, err
}

// String writes a grant as tana grant takes it.
func (g Grant) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", g.Level, g.Subject)
	if g.Type != "" {
		fmt.Fprintf(&b, " on %s", g.Type)
		if g.Attr != "" {
			fmt.Fprintf(&b, ".%s", g.Attr)
		}
	} else {
		b.WriteString(" on every type")
	}
	for i, f := range g.Where {
		sep := " where "
		if i > 0 {
			sep = " and "
		}
		fmt.Fprintf(&b, "%s%s=%v", sep, f.Attr, f.Values[0])
	}
	return b.String()
}
