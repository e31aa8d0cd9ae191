package ansible

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Query narrows an inventory on the server, so what a client does not want
// never crosses the wire: the query form of /ansible/inventory
// (?type=vm&filter=cluster=prod01&owner=ops&vars=ansible_host,role), which
// the tana.cmdb.inventory plugin sends.
type Query struct {
	Types   []string      // host types to list (default: every configured one)
	Filters []QueryFilter // conditions every host meets
	Owners  []string      // the owner attribute is one of these
	Team    string        // the owner attribute is the team or one of its members
	Vars    []string      // hostvars to send (ansible_host always is)
}

// QueryFilter is one filter parameter: attr=v1,v2 (any of the values),
// attr~text (contains), attr<n, attr<=n, attr>n, attr>=n, attr (has a
// value) or !attr (has none). Values are strings, read as the attribute's
// type once the host type is known.
type QueryFilter struct {
	Attr   string
	Op     inventory.FilterOp
	Values []string
}

// Query limits: a query is written by a person or a plugin config, never
// thousands of conditions.
const (
	maxQueryFilters = 64
	maxQueryValues  = 1024
)

// queryParams are the parameters of the query form; host is the --host form.
var queryParams = []string{"type", "filter", "owner", "team", "vars"}

// IsZero reports whether q narrows nothing.
func (q Query) IsZero() bool {
	return len(q.Types) == 0 && len(q.Filters) == 0 && len(q.Owners) == 0 && q.Team == "" && len(q.Vars) == 0
}

// ParseQuery reads the query form strictly: an unknown parameter, an empty
// or malformed value, or a repeated team is an error naming the parameter
// (type, filter[2], vars[0]), as a *schema.Error. The host parameter is not
// part of it (see Handler).
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for k := range v {
		if !slices.Contains(queryParams, k) {
			return Query{}, schema.FieldErrorf(schema.EINVALID, k, "unknown parameter (want %s)", strings.Join(queryParams, ", "))
		}
	}
	var err error
	if q.Types, err = names("type", v["type"]); err != nil {
		return Query{}, err
	}
	if q.Vars, err = names("vars", v["vars"]); err != nil {
		return Query{}, err
	}
	if q.Owners, err = paramList("owner", v["owner"]); err != nil {
		return Query{}, err
	}
	switch teams := v["team"]; {
	case len(teams) > 1:
		return Query{}, schema.FieldErrorf(schema.EINVALID, "team", "given %d times (want one team)", len(teams))
	case len(teams) == 1 && teams[0] == "":
		return Query{}, schema.FieldErrorf(schema.EINVALID, "team", "empty")
	case len(teams) == 1:
		q.Team = teams[0]
	}
	if len(v["filter"]) > maxQueryFilters {
		return Query{}, schema.FieldErrorf(schema.EINVALID, "filter", "%d filters; at most %d", len(v["filter"]), maxQueryFilters)
	}
	n := 0
	for i, raw := range v["filter"] {
		f, err := parseFilter(raw)
		if err != nil {
			return Query{}, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("filter[%d]", i), "%q: %v", raw, err)
		}
		if n += len(f.Values); n > maxQueryValues {
			return Query{}, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("filter[%d]", i), "more than %d values in all", maxQueryValues)
		}
		q.Filters = append(q.Filters, f)
	}
	return q, nil
}

// paramList reads a parameter given repeatedly or as a comma-separated list;
// an empty element is an error.
func paramList(param string, vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s == "" {
				return nil, schema.FieldErrorf(schema.EINVALID, param, "empty element in %q", v)
			}
			out = append(out, s)
			if len(out) > maxQueryValues {
				return nil, schema.FieldErrorf(schema.EINVALID, param, "more than %d values", maxQueryValues)
			}
		}
	}
	return out, nil
}

// names is paramList for names of types and hostvars, which are identifiers.
func names(param string, vals []string) ([]string, error) {
	out, err := paramList(param, vals)
	if err != nil {
		return nil, err
	}
	for i, s := range out {
		if !identifier(s) {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("%s[%d]", param, i), "%q is not a name (letters, digits and _)", s)
		}
	}
	return out, nil
}

// identifier reports whether s is a name of the form [A-Za-z_][A-Za-z0-9_]*.
func identifier(s string) bool {
	for i, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return s != ""
}

// parseFilter reads one filter parameter (see QueryFilter). In the values
// of attr=…, a comma separates values and a backslash escapes the next
// character (\, for a comma, \\ for a backslash).
func parseFilter(s string) (QueryFilter, error) {
	if attr, ok := strings.CutPrefix(s, "!"); ok {
		if !identifier(attr) {
			return QueryFilter{}, fmt.Errorf("!%s: want !attribute (the attribute has no value)", attr)
		}
		return QueryFilter{Attr: attr, Op: inventory.OpIsNull}, nil
	}
	i := strings.IndexAny(s, "=<>~")
	if i < 0 {
		if !identifier(s) {
			return QueryFilter{}, fmt.Errorf("want attribute, attribute=value, attribute~text or attribute<value")
		}
		return QueryFilter{Attr: s, Op: inventory.OpNotNull}, nil
	}
	f := QueryFilter{Attr: s[:i]}
	if !identifier(f.Attr) {
		return QueryFilter{}, fmt.Errorf("%q is not an attribute name", f.Attr)
	}
	op, rest := s[i:i+1], s[i+1:]
	if (op == "<" || op == ">") && strings.HasPrefix(rest, "=") {
		op, rest = op+"=", rest[1:]
	}
	f.Op = map[string]inventory.FilterOp{"=": inventory.OpIn, "~": inventory.OpContains,
		"<": inventory.OpLt, "<=": inventory.OpLte, ">": inventory.OpGt, ">=": inventory.OpGte}[op]
	if f.Op != inventory.OpIn {
		if rest == "" {
			return QueryFilter{}, fmt.Errorf("%s needs a value", op)
		}
		f.Values = []string{rest}
		return f, nil
	}
	vals, err := splitValues(rest)
	if err != nil {
		return QueryFilter{}, err
	}
	f.Values = vals
	return f, nil
}

// splitValues splits attr=… values at unescaped commas.
func splitValues(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '\\':
			return nil, fmt.Errorf("a backslash ends the value (write \\\\ for one)")
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	out = append(out, b.String())
	for _, v := range out {
		if v == "" {
			return nil, fmt.Errorf("empty value (use !attribute for one that has none)")
		}
	}
	return out, nil
}

// Encode writes q as the query form, the inverse of ParseQuery.
func (q Query) Encode() string {
	v := url.Values{}
	if len(q.Types) > 0 {
		v.Set("type", strings.Join(q.Types, ","))
	}
	for _, f := range q.Filters {
		v.Add("filter", f.String())
	}
	if len(q.Owners) > 0 {
		v["owner"] = q.Owners
	}
	if q.Team != "" {
		v.Set("team", q.Team)
	}
	if len(q.Vars) > 0 {
		v.Set("vars", strings.Join(q.Vars, ","))
	}
	return v.Encode()
}

// String writes f as a filter parameter.
func (f QueryFilter) String() string {
	switch f.Op {
	case inventory.OpIsNull:
		return "!" + f.Attr
	case inventory.OpNotNull:
		return f.Attr
	case inventory.OpIn:
		esc := make([]string, len(f.Values))
		for i, v := range f.Values {
			esc[i] = strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(v)
		}
		return f.Attr + "=" + strings.Join(esc, ",")
	}
	op := map[inventory.FilterOp]string{inventory.OpContains: "~", inventory.OpLt: "<", inventory.OpLte: "<=",
		inventory.OpGt: ">", inventory.OpGte: ">="}[f.Op]
	return f.Attr + op + f.Values[0]
}
