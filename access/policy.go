package access

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Grant is a permission: Level for Subject on the entries of Type ("" is
// every type) — on their attribute Attr only, when set — and only on
// entries matching Where, when set (all conditions hold; a value "$user"
// or "$team" stands for the principal's user name or teams).
type Grant struct {
	ID      int64              `json:"id"`
	Subject string             `json:"subject"` // user:NAME, team:NAME, role:reader|writer|admin, anyone
	Level   Level              `json:"-"`
	Type    string             `json:"type,omitempty"`
	Attr    string             `json:"attr,omitempty"`
	Where   []inventory.Filter `json:"where,omitempty"`
}

// MarshalJSON writes the level by name.
func (g Grant) MarshalJSON() ([]byte, error) {
	type plain Grant
	return json.Marshal(struct {
		plain
		Level string `json:"level"`
	}{plain(g), g.Level.String()})
}

// Policy is every grant of a store, read once per request: a revoke takes
// effect on the next one.
type Policy struct {
	reg    *schema.Registry
	grants []Grant
}

// LoadPolicy reads the store's grants.
func LoadPolicy(ctx context.Context, s *inventory.Store) (*Policy, error) {
	recs, err := s.Grants(ctx)
	if err != nil {
		return nil, err
	}
	p := &Policy{reg: s.Registry()}
	for _, r := range recs {
		g, err := grantOf(r)
		if err != nil {
			return nil, fmt.Errorf("grant %d: %w", r.ID, err)
		}
		p.grants = append(p.grants, g)
	}
	return p, nil
}

// grantOf reads a stored grant.
func grantOf(r inventory.GrantRecord) (Grant, error) {
	l, err := ParseLevel(r.Level)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{ID: r.ID, Subject: r.Subject, Level: l, Type: r.Type, Attr: r.Attr}
	if r.Filter != "" {
		if err := json.Unmarshal([]byte(r.Filter), &g.Where); err != nil {
			return Grant{}, fmt.Errorf("filter: %w", err)
		}
	}
	return g, nil
}

// Grants returns the policy's grants.
func (p *Policy) Grants() []Grant { return slices.Clone(p.grants) }

// For returns what principal pr may do. A nil principal may do nothing.
func (p *Policy) For(pr *Principal) *Access {
	a := &Access{reg: p.reg, pr: pr}
	if pr == nil {
		pr = &Principal{Kind: "anonymous", Name: "anonymous"}
		a.pr = pr
	}
	a.role = RoleLevel(pr.Role)
	a.admin = a.role == Admin
	for _, g := range p.grants {
		if applies(g.Subject, pr) {
			a.grants = append(a.grants, bind(g, pr))
		}
	}
	return a
}

// applies tells whether a grant's subject names the principal.
func applies(subject string, pr *Principal) bool {
	kind, name, _ := strings.Cut(subject, ":")
	switch kind {
	case "anyone":
		return true
	case "user":
		return pr.User != "" && pr.User == name
	case "team":
		return slices.Contains(pr.Teams, name)
	case "role":
		return pr.Role == name
	}
	return false
}

// bind puts the principal into a grant's filter: $user is its user name,
// $team the team the grant was given to, or else any of its teams. A
// condition no value can meet (a user-less principal's $user) keeps the
// grant from matching anything.
func bind(g Grant, pr *Principal) Grant {
	if len(g.Where) == 0 {
		return g
	}
	teams := pr.Teams
	if kind, name, _ := strings.Cut(g.Subject, ":"); kind == "team" {
		teams = []string{name}
	}
	where := make([]inventory.Filter, len(g.Where))
	for i, f := range g.Where {
		var vals []any
		for _, v := range f.Values {
			switch v {
			case "$user":
				if pr.User != "" {
					vals = append(vals, pr.User)
				}
			case "$team":
				for _, t := range teams {
					vals = append(vals, t)
				}
			default:
				vals = append(vals, v)
			}
		}
		if len(vals) != len(f.Values) && f.Op == inventory.OpEq {
			f.Op = inventory.OpIn // $team: any of the teams
		}
		f.Values = vals
		where[i] = f
	}
	g.Where = where
	return g
}

// never reports whether a bound filter can match nothing (a $team of a
// principal in no team).
func never(where []inventory.Filter) bool {
	return slices.ContainsFunc(where, func(f inventory.Filter) bool {
		return (f.Op == inventory.OpEq || f.Op == inventory.OpIn) && len(f.Values) == 0
	})
}

// Access is what one principal may do: the one evaluator every interface
// asks.
type Access struct {
	reg    *schema.Registry
	pr     *Principal
	role   Level
	admin  bool
	grants []Grant
}

// Principal is who the access is for.
func (a *Access) Principal() *Principal { return a.pr }

// IsAdmin reports a principal with the admin role: it may do everything.
func (a *Access) IsAdmin() bool { return a.admin }

// MayWrite reports whether the principal may write anything at all: a
// role of writer or more, or a grant of write. A write still goes through
// the guard; this only turns away early who may not write at all.
func (a *Access) MayWrite() bool {
	if a.role >= Write {
		return true
	}
	return slices.ContainsFunc(a.grants, func(g Grant) bool { return g.Level >= Write })
}

// tiers of specificity, most specific first: a grant on an attribute of
// matching entries, on an attribute, on matching entries, on the type, on
// every type (where built-in roles sit). The effective level is the
// highest level of the most specific tier that has a grant.
type tier int

const (
	attrWhere tier = iota
	attrOnly
	entryWhere
	typeOnly
	everyType
	tiers
)

func (g *Grant) tier() tier {
	switch {
	case g.Attr != "" && len(g.Where) > 0:
		return attrWhere
	case g.Attr != "":
		return attrOnly
	case len(g.Where) > 0:
		return entryWhere
	case g.Type != "":
		return typeOnly
	}
	return everyType
}

// level is the effective level on entry en (nil: none in particular, as
// for a type) and attribute attr ("" the entry itself).
func (a *Access) level(typ string, en *inventory.Entry, attr string) Level {
	if a.admin {
		return Admin
	}
	best := [tiers]Level{}
	seen := [tiers]bool{}
	seen[everyType], best[everyType] = a.role > None, a.role
	for i := range a.grants {
		g := &a.grants[i]
		if g.Type != "" && g.Type != typ || g.Attr != "" && g.Attr != attr {
			continue
		}
		if len(g.Where) > 0 && (en == nil || never(g.Where) || !matches(g.Where, en)) {
			continue
		}
		t := g.tier()
		if !seen[t] || g.Level > best[t] {
			seen[t], best[t] = true, g.Level
		}
	}
	for t := range tiers {
		if seen[t] {
			return best[t]
		}
	}
	return None
}

// TypeLevel is the level on a type as a whole: what no entry filter
// decides (creating entries of it, listing its definition).
func (a *Access) TypeLevel(typ string) Level { return a.level(typ, nil, "") }

// EntryLevel is the level on an entry.
func (a *Access) EntryLevel(en *inventory.Entry) Level { return a.level(en.Type, en, "") }

// AttrLevel is the level on one attribute of an entry ("name" is the
// entry's name: its entry level). A secret attribute needs admin to be
// read.
func (a *Access) AttrLevel(en *inventory.Entry, attr string) Level {
	if attr == "name" {
		return a.EntryLevel(en)
	}
	return a.level(en.Type, en, attr)
}

// CanRead reports whether the principal may read attr of en (a secret one
// only at admin).
func (a *Access) CanRead(en *inventory.Entry, attr string) bool {
	l := a.AttrLevel(en, attr)
	if t, err := a.reg.Type(en.Type); err == nil {
		if at := t.Attr(attr); at != nil && at.Secret {
			return l >= Admin
		}
	}
	return l >= Read
}

// Rows is the filter of the entries of typ whose level is at least need,
// for the store to compile into its query: one query, whatever the
// grants. nil keeps every entry.
func (a *Access) Rows(typ string, need Level) *inventory.AccessFilter {
	if a.admin {
		return nil
	}
	af := &inventory.AccessFilter{Base: a.level(typ, nil, "") >= need}
	for _, g := range a.grants {
		if g.Attr != "" || len(g.Where) == 0 || g.Type != "" && g.Type != typ || never(g.Where) {
			continue
		}
		if g.Level >= need {
			af.Allow = append(af.Allow, g.Where)
		} else {
			af.Deny = append(af.Deny, g.Where)
		}
	}
	if af.All() {
		return nil
	}
	return af
}

// Hide removes from en's attributes those the principal may not read, in
// place (en is the caller's copy).
func (a *Access) Hide(en *inventory.Entry) {
	if a.admin {
		return
	}
	var hidden []string // decided on the whole entry before any goes
	for k := range en.Attrs {
		if !a.CanRead(en, k) {
			hidden = append(hidden, k)
		}
	}
	for _, k := range hidden {
		delete(en.Attrs, k)
	}
}
