package inventory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// FilterOp is a comparison in a search filter.
type FilterOp string

const (
	OpEq       FilterOp = "eq"
	OpIn       FilterOp = "in"
	OpContains FilterOp = "contains"
	OpLt       FilterOp = "lt"
	OpLte      FilterOp = "lte"
	OpGt       FilterOp = "gt"
	OpGte      FilterOp = "gte"
	OpIsNull   FilterOp = "isnull"  // attribute absent
	OpNotNull  FilterOp = "notnull" // attribute present
	OpRefID    FilterOp = "ref"     // reference attribute points at one of Values (entry ids)
)

// Filter is one condition on an attribute ("name" is the entry name). For
// reference attributes, eq and in compare the referenced entry's name.
type Filter struct {
	Attr   string   `json:"attr"`
	Op     FilterOp `json:"op"`
	Values []any    `json:"values,omitempty"`
}

// Query selects entries. Results are ordered by name (or id) with id as tie
// breaker, and paged with opaque cursors.
type Query struct {
	Type           string
	Filters        []Filter
	Status         string // "" any, active, stale
	IncludeDeleted bool
	OrderBy        string // "name" (default) or "id"
	Desc           bool
	After          string // cursor from Page.Next
	Limit          int    // default 100, max MaxLimit
	// Access, when set, keeps only the entries a principal may see.
	Access *AccessFilter
}

// AccessFilter limits a query to the entries a principal may see; package
// access builds it from the grants. An entry is kept when it matches any
// Allow group, or when Base is set and it matches no Deny group. A group
// is conditions that must all hold. It compiles to one SQL condition, so a
// page stays one query whatever the grants.
type AccessFilter struct {
	Allow [][]Filter
	Deny  [][]Filter
	Base  bool
	// Where are conditions every kept entry must meet as well, whatever
	// the grants: a request's own filters (the Ansible query form),
	// narrowing what the grants let through in the same SQL condition.
	Where []Filter
}

// All reports whether the filter keeps every entry.
func (af *AccessFilter) All() bool {
	return af == nil || af.Base && len(af.Deny) == 0 && len(af.Where) == 0
}

// CheckFilter reports what is wrong with f as a condition on entries of t
// (unknown, secret or unindexed attribute, bad value or operator), so a
// caller can refuse a request before it streams anything.
func CheckFilter(t *schema.EntityType, f Filter) error {
	_, _, err := filterSQL(t, f)
	return err
}

// accessSQL compiles an access filter for entries of type t (alias e).
func (s *Store) accessSQL(t *schema.EntityType, af *AccessFilter) (string, []any, error) {
	return accessSQL(t, af, s.dialect == migrations.SQLite)
}

// accessSQL compiles an access filter. With keepOrder (SQLite), the
// filter's "e.id IN (…)" tests become "+e.id IN (…)": the unary plus
// keeps SQLite from driving the query from the filter's value list and
// sorting the result, so it reads the entries in name order, as it would
// without a filter, and checks each against the list (built once). An
// access filter usually keeps most rows; this made a team member's
// 10,000-host inventory 1.18× an admin's instead of 1.0x.
func accessSQL(t *schema.EntityType, af *AccessFilter, keepOrder bool) (string, []any, error) {
	if af.All() {
		return "1 = 1", nil, nil
	}
	cond, args, err := grantsSQL(t, af, keepOrder)
	if err != nil {
		return "", nil, err
	}
	for _, f := range af.Where {
		clause, fargs, err := filterSQL(t, f)
		if err != nil {
			return "", nil, fmt.Errorf("filter on %s: %w", f.Attr, err)
		}
		cond, args = cond+" AND "+clause, append(args, fargs...)
	}
	return cond, args, nil
}

// grantsSQL compiles the Allow, Deny and Base part of an access filter.
func grantsSQL(t *schema.EntityType, af *AccessFilter, keepOrder bool) (string, []any, error) {
	if af.Base && len(af.Deny) == 0 {
		return "1 = 1", nil, nil
	}
	var args []any
	groups := func(gs [][]Filter) (string, error) {
		var ors []string
		for _, g := range gs {
			ands := []string{"1 = 1"}
			for _, f := range g {
				clause, fargs, err := filterSQL(t, f)
				if err != nil {
					return "", fmt.Errorf("access filter on %s: %w", f.Attr, err)
				}
				if rest, ok := strings.CutPrefix(clause, "e.id "); ok && keepOrder {
					clause = "+e.id " + rest
				}
				ands, args = append(ands, clause), append(args, fargs...)
			}
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		if len(ors) == 0 {
			return "1 = 0", nil
		}
		return "(" + strings.Join(ors, " OR ") + ")", nil
	}
	allow, err := groups(af.Allow)
	if err != nil {
		return "", nil, err
	}
	if !af.Base {
		return allow, args, nil
	}
	deny, err := groups(af.Deny)
	if err != nil {
		return "", nil, err
	}
	return "(" + allow + " OR NOT " + deny + ")", args, nil
}

// MaxLimit bounds a page: 10,000 entries, some 10 MB. (A filtered query
// pays its filter once per page: fewer, larger pages pay it less.)
const MaxLimit = 10000

// Page is one page of results.
type Page struct {
	Entries []*Entry `json:"entries"`
	Next    string   `json:"next,omitempty"` // cursor of the next page; "" at the end
}

type cursor struct {
	Name string `json:"n,omitempty"`
	ID   int64  `json:"i"`
}

func encodeCursor(e *Entry) string {
	b, _ := json.Marshal(cursor{Name: e.Name, ID: e.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, schema.FieldErrorf(schema.EINVALID, "after", "bad cursor")
	}
	return c, nil
}

// Find returns one page of entries matching q: one query for the page and
// one for its references.
func (s *Store) Find(ctx context.Context, qy Query) (*Page, error) {
	where, args, err := s.where(qy)
	if err != nil {
		return nil, err
	}
	limit := qy.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > MaxLimit {
		return nil, schema.FieldErrorf(schema.EINVALID, "limit", "page size %d is above the maximum of %d", limit, MaxLimit)
	}
	cmp, dir := ">", "ASC"
	if qy.Desc {
		cmp, dir = "<", "DESC"
	}
	name := s.collate("e.name")
	order := name + " " + dir + ", e.id " + dir
	if qy.OrderBy == "id" {
		order = "e.id " + dir
	} else if qy.OrderBy != "" && qy.OrderBy != "name" {
		return nil, schema.FieldErrorf(schema.EINVALID, "orderBy", "cannot order by %q (want name or id)", qy.OrderBy)
	}
	if qy.After != "" {
		c, err := decodeCursor(qy.After)
		if err != nil {
			return nil, err
		}
		if qy.OrderBy == "id" {
			where = append(where, "e.id "+cmp+" ?")
			args = append(args, c.ID)
		} else {
			where = append(where, "("+name+" "+cmp+" ? OR (e.name = ? AND e.id "+cmp+" ?))")
			args = append(args, c.Name, c.Name, c.ID)
		}
	}
	query := "SELECT " + prefixed("e", entryCols) + ", " + epochCol + " FROM entries e WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + order + fmt.Sprintf(" LIMIT %d", limit+1)
	rows, err := selectRows(ctx, s.db, s.db.Rebind(query), args)
	if err != nil {
		return nil, fmt.Errorf("search entries: %w", mapError(err))
	}
	page := &Page{}
	if len(rows) > limit {
		rows = rows[:limit]
		page.Next = encodeCursor(&Entry{ID: rows[limit-1].ID, Name: rows[limit-1].Name})
	}
	if page.Entries, err = s.decodeAll(ctx, s.db, rows); err != nil {
		return nil, err
	}
	return page, nil
}

// Count returns how many entries match q (cursor and limit ignored).
func (s *Store) Count(ctx context.Context, qy Query) (int64, error) {
	where, args, err := s.where(qy)
	if err != nil {
		return 0, err
	}
	var n int64
	err = sqlx.GetContext(ctx, s.db, &n, s.db.Rebind("SELECT COUNT(*) FROM entries e WHERE "+strings.Join(where, " AND ")), args...)
	if err != nil {
		return 0, fmt.Errorf("count entries: %w", mapError(err))
	}
	return n, nil
}

// where builds the WHERE clauses of q; values are always parameters.
func (s *Store) where(qy Query) ([]string, []any, error) {
	where := []string{"1 = 1"}
	var args []any
	var t *schema.EntityType
	if qy.Type != "" {
		var err error
		if t, err = s.reg.Type(qy.Type); err != nil {
			return nil, nil, err
		}
		where = append(where, "e.type = ?")
		args = append(args, qy.Type)
	}
	if !qy.IncludeDeleted {
		where = append(where, "e.deleted_at IS NULL")
	}
	if qy.Status != "" {
		where = append(where, "e.status = ?")
		args = append(args, qy.Status)
	}
	for i, f := range qy.Filters {
		clause, fargs, err := filterSQL(t, f)
		if err != nil {
			return nil, nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("filter[%d].%s", i, f.Attr), "%s", errMessage(err))
		}
		where = append(where, clause)
		args = append(args, fargs...)
	}
	if !qy.Access.All() {
		clause, aargs, err := s.accessSQL(t, qy.Access)
		if err != nil {
			return nil, nil, err
		}
		where = append(where, clause)
		args = append(args, aargs...)
	}
	return where, args, nil
}

func errMessage(err error) string {
	if e, ok := err.(*schema.Error); ok {
		return e.Message
	}
	return err.Error()
}

func filterSQL(t *schema.EntityType, f Filter) (string, []any, error) {
	if f.Attr == "name" {
		return columnFilter("e.name", schema.ValueType{Kind: schema.KindString}, f)
	}
	if t == nil {
		return "", nil, fmt.Errorf("attribute filters need a type")
	}
	a := t.Attr(f.Attr)
	if a == nil {
		return "", nil, fmt.Errorf("unknown attribute of type %q", t.Name)
	}
	if a.Secret {
		return "", nil, fmt.Errorf("secret attributes cannot be searched")
	}
	if a.Type.Kind == schema.KindText {
		return "", nil, fmt.Errorf("text attributes are not indexed for search")
	}
	if a.Type.Kind == schema.KindRef {
		return refFilter(a.Type.RefType, f)
	}
	// IN (subquery) lets the planner start from the value index instead of
	// probing every entry of the type.
	sub := "SELECT v.entry_id FROM entry_values v WHERE v.type = ? AND v.attr = ?"
	args := []any{t.Name, f.Attr}
	switch f.Op {
	case OpIsNull:
		return "e.id NOT IN (" + sub + ")", args, nil
	case OpNotNull:
		return "e.id IN (" + sub + ")", args, nil
	}
	col := "v.value"
	if (a.Type.Kind == schema.KindInteger || a.Type.Kind == schema.KindNumber) && f.Op != OpEq && f.Op != OpIn {
		col = "v.num"
	}
	inner, vals, err := columnFilter(col, schema.ValueType{Kind: a.Type.Kind}, f)
	if err != nil {
		return "", nil, err
	}
	return "e.id IN (" + sub + " AND " + inner + ")", append(args, vals...), nil
}

// columnFilter compares one column with the filter's values, normalised to
// the attribute's type so that equal values match (IPs, MACs, FQDNs).
func columnFilter(col string, vt schema.ValueType, f Filter) (string, []any, error) {
	switch f.Op {
	case OpContains:
		if len(f.Values) != 1 {
			return "", nil, fmt.Errorf("contains takes one value")
		}
		s, ok := f.Values[0].(string)
		if !ok {
			return "", nil, fmt.Errorf("contains takes a string")
		}
		return "LOWER(" + col + ") LIKE ? ESCAPE '\\'", []any{"%" + likeEscape(strings.ToLower(s)) + "%"}, nil
	case OpIsNull, OpNotNull:
		return "", nil, fmt.Errorf("%s is not supported on names", f.Op)
	}
	if len(f.Values) == 0 {
		return "", nil, fmt.Errorf("%s needs a value", f.Op)
	}
	vals := make([]any, len(f.Values))
	for i, v := range f.Values {
		n, err := vt.Normalize(v)
		if err != nil {
			return "", nil, err
		}
		if col == "v.num" {
			vals[i] = toFloat(n)
		} else {
			vals[i], _ = indexValue(n)
		}
	}
	ops := map[FilterOp]string{OpEq: "=", OpLt: "<", OpLte: "<=", OpGt: ">", OpGte: ">="}
	if f.Op == OpIn {
		return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", vals, nil
	}
	op, ok := ops[f.Op]
	if !ok {
		return "", nil, fmt.Errorf("unknown operator %q", f.Op)
	}
	if len(vals) != 1 {
		return "", nil, fmt.Errorf("%s takes one value", f.Op)
	}
	return col + " " + op + " ?", vals, nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func refFilter(refType string, f Filter) (string, []any, error) {
	sub := "SELECT r.from_id FROM refs r WHERE r.attr = ?"
	args := []any{f.Attr}
	switch f.Op {
	case OpIsNull:
		return "e.id NOT IN (" + sub + ")", args, nil
	case OpNotNull:
		return "e.id IN (" + sub + ")", args, nil
	case OpRefID:
		if len(f.Values) == 0 {
			return "", nil, fmt.Errorf("ref needs entry ids")
		}
		return "e.id IN (" + sub + " AND r.to_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(f.Values)), ", ") + "))", append(args, f.Values...), nil
	}
	clause, vals, err := columnFilter("t.name", schema.ValueType{Kind: schema.KindString}, f)
	if err != nil {
		return "", nil, err
	}
	return "e.id IN (SELECT r.from_id FROM refs r JOIN entries t ON t.id = r.to_id WHERE r.attr = ? AND t.type = ? AND " + clause + ")",
		append([]any{f.Attr, refType}, vals...), nil
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Each streams every live entry of a type, in name order, with references,
// to fn. Entries come from one query, read row by row, references from
// their ref_ids with names loaded per batch of eachBatch entries, so memory
// stays flat however many entries there are. The flat JSON the store
// writes is decoded without reflection.
func (s *Store) Each(ctx context.Context, typ string, fn func(*Entry) error) error {
	return s.EachVisible(ctx, typ, nil, fn)
}

// EachVisible is Each over the entries an access filter keeps (nil keeps
// all): still one query.
func (s *Store) EachVisible(ctx context.Context, typ string, af *AccessFilter, fn func(*Entry) error) error {
	t, err := s.reg.Type(typ)
	if err != nil {
		return err
	}
	cond, args, err := s.accessSQL(t, af)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT e.id, e.name, e.attrs, e.version, e.status, e.created_at, e.updated_at, e.ref_ids
		FROM entries e WHERE e.type = ? AND e.deleted_at IS NULL AND `+cond+` ORDER BY `+s.collate("e.name")+", e.id"), append([]any{typ}, args...)...)
	if err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, mapError(err))
	}
	defer rows.Close()
	names := map[int64]string{}
	batch := make([]*Entry, 0, eachBatch)
	flush := func() error {
		if err := s.attachRefsCached(ctx, s.db, 0, batch, names); err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for rows.Next() {
		e := &Entry{Type: typ}
		var raw, refIDs string
		if err := rows.Scan(&e.ID, &e.Name, &raw, &e.Version, &e.Status, &e.CreatedAt, &e.UpdatedAt, &refIDs); err != nil {
			return fmt.Errorf("stream %s entries: %w", typ, err)
		}
		if e.RefIDs, err = refIDMap(refIDs); err != nil {
			return fmt.Errorf("entry %d: %w", e.ID, err)
		}
		e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		if e.Attrs, err = s.decodeJSON(typ, raw, len(e.RefIDs)); err != nil {
			return fmt.Errorf("entry %d: %w", e.ID, err)
		}
		if batch = append(batch, e); len(batch) == eachBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, err)
	}
	return flush()
}

// eachBatch is how many streamed entries share one reference query.
const eachBatch = 500

// collate makes name order byte order on both databases (PostgreSQL would
// otherwise sort by the database's locale), so that output is identical
// whichever store it came from.
func (s *Store) collate(col string) string {
	if s.dialect == migrations.Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}
