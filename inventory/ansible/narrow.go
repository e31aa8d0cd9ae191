package ansible

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// ownerAttr is the attribute the owner and team parameters filter on.
const ownerAttr = "owner"

// Narrow returns the inventory q asks for: only the host types it names,
// only the hosts every filter matches (in the store's SQL, beside the
// caller's access filter), and only the hostvars it names (ansible_host
// always). Groups are made from the hosts that remain. A query the
// inventory cannot answer is a *schema.Error naming the parameter.
func (inv *Inventory) Narrow(ctx context.Context, q Query) (*Inventory, error) {
	if q.IsZero() {
		return inv, nil
	}
	hts, err := inv.selectTypes(q.Types)
	if err != nil {
		return nil, err
	}
	conds, err := inv.queryConds(ctx, q)
	if err != nil {
		return nil, err
	}
	vars, err := inv.queryVars(q.Vars)
	if err != nil {
		return nil, err
	}
	v := *inv
	v.hostTypes = nil
	for _, ht := range hts {
		where, ok, err := ht.compileConds(conds)
		if err != nil {
			return nil, err
		}
		if ok {
			v.hostTypes = append(v.hostTypes, ht.narrowed(where, vars))
		}
	}
	if len(v.hostTypes) == 0 {
		return nil, unmatched(hts, conds)
	}
	return &v, nil
}

// unmatched is the error of a query whose conditions no host type can
// meet: it names the first attribute no host type has.
func unmatched(hts []*hostType, conds []cond) error {
	for _, c := range conds {
		if !slices.ContainsFunc(hts, func(ht *hostType) bool { return c.Attr == "name" || ht.t.Attr(c.Attr) != nil }) {
			return schema.FieldErrorf(schema.EINVALID, c.param, "no host type (%s) has attribute %q", strings.Join(typeNames(hts), ", "), c.Attr)
		}
	}
	return schema.FieldErrorf(schema.EINVALID, conds[0].param, "no host type (%s) has every attribute the filters name", strings.Join(typeNames(hts), ", "))
}

// selectTypes is the host types named, in the inventory's order.
func (inv *Inventory) selectTypes(names []string) ([]*hostType, error) {
	if len(names) == 0 {
		return inv.hostTypes, nil
	}
	for i, n := range names {
		if !slices.ContainsFunc(inv.hostTypes, func(ht *hostType) bool { return ht.t.Name == n }) {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("type[%d]", i), "%q is not a host type of this inventory (hosts: %s)", n, strings.Join(typeNames(inv.hostTypes), ", "))
		}
	}
	return slices.DeleteFunc(slices.Clone(inv.hostTypes), func(ht *hostType) bool { return !slices.Contains(names, ht.t.Name) }), nil
}

func typeNames(hts []*hostType) []string {
	out := make([]string, len(hts))
	for i, ht := range hts {
		out[i] = ht.t.Name
	}
	return out
}

// cond is a filter with the parameter it came from, for errors.
type cond struct {
	QueryFilter
	param string
}

// queryConds gathers the filters, owners and team as one list of
// conditions; the team's members are read from the store.
func (inv *Inventory) queryConds(ctx context.Context, q Query) ([]cond, error) {
	var out []cond
	for i, f := range q.Filters {
		out = append(out, cond{f, fmt.Sprintf("filter[%d]", i)})
	}
	if len(q.Owners) > 0 {
		out = append(out, cond{QueryFilter{Attr: ownerAttr, Op: inventory.OpIn, Values: q.Owners}, "owner"})
	}
	if q.Team != "" {
		t, err := inv.store.Team(ctx, q.Team)
		if schema.ErrorCode(err) == schema.ENOTFOUND {
			return nil, schema.FieldErrorf(schema.EINVALID, "team", "no team named %q", q.Team)
		}
		if err != nil {
			return nil, fmt.Errorf("ansible query: team %q: %w", q.Team, err)
		}
		out = append(out, cond{QueryFilter{Attr: ownerAttr, Op: inventory.OpIn, Values: append([]string{t.Name}, t.Members...)}, "team"})
	}
	return out, nil
}

// compileConds turns the conditions into store filters for the host
// type; ok is false when it lacks an attribute they name (no host of it
// can match). A value its attribute cannot hold is an error, and so is an
// attribute the caller may not read: which hosts a filter keeps would
// tell its values.
func (ht *hostType) compileConds(conds []cond) ([]inventory.Filter, bool, error) {
	t := ht.t
	var out []inventory.Filter
	for _, c := range conds {
		if c.Attr != "name" && t.Attr(c.Attr) == nil {
			return nil, false, nil
		}
		if ht.vis != nil && c.Attr != "name" {
			if ok, per := ht.vis.AttrRule(t.Name, c.Attr); !ok || per {
				return nil, false, schema.FieldErrorf(schema.EINVALID, c.param, "%s.%s: you may not read it, so you may not filter on it", t.Name, c.Attr)
			}
		}
		f := inventory.Filter{Attr: c.Attr, Op: c.Op}
		for _, s := range c.Values {
			f.Values = append(f.Values, typedValue(t, c.Attr, s))
		}
		if f.Op == inventory.OpIn && len(f.Values) == 1 {
			f.Op = inventory.OpEq
		}
		if err := inventory.CheckFilter(t, f); err != nil {
			return nil, false, schema.FieldErrorf(schema.EINVALID, c.param, "%s.%s: %s", t.Name, c.Attr, errText(err))
		}
		out = append(out, f)
	}
	return out, true, nil
}

// typedValue reads a parameter's value as attr's type holds it: numbers
// and booleans from their text, anything else as the string.
func typedValue(t *schema.EntityType, attr, s string) any {
	a := t.Attr(attr)
	if a == nil {
		return s
	}
	switch a.Type.Kind {
	case schema.KindInteger:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	case schema.KindNumber:
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return n
		}
	case schema.KindBoolean:
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

// queryVars checks the hostvar names against those the inventory can
// send; nil means all.
func (inv *Inventory) queryVars(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	keep := map[string]bool{"ansible_host": true}
	for i, n := range names {
		if !inv.hasVar(n) {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("vars[%d]", i), "no host type (%s) has the hostvar %q", strings.Join(typeNames(inv.hostTypes), ", "), n)
		}
		keep[n] = true
	}
	return keep, nil
}

func (inv *Inventory) hasVar(name string) bool {
	for _, ht := range inv.hostTypes {
		if slices.ContainsFunc(ht.fields, func(f field) bool { return f.name == name }) {
			return true
		}
	}
	return false
}

// narrowed is a copy of the host type's plan that reads only the entries
// matching where and writes only the hostvars in vars (nil: all).
func (ht *hostType) narrowed(where []inventory.Filter, vars map[string]bool) *hostType {
	c := *ht
	if len(where) > 0 {
		rows := inventory.AccessFilter{Base: true}
		if ht.rows != nil {
			rows = *ht.rows
		}
		rows.Where = append(slices.Clone(rows.Where), where...)
		c.rows = &rows
	}
	if vars != nil {
		c.fields = slices.DeleteFunc(slices.Clone(ht.fields), func(f field) bool { return !vars[f.name] })
	}
	return &c
}

// errText is err's message without the field a *schema.Error carries: the
// caller names the field itself.
func errText(err error) string {
	var e *schema.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
