package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// entry is an entry as the generic GraphQL fields give it.
type entry struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Name          string         `json:"name"`
	Version       int64          `json:"version"`
	Status        string         `json:"status"`
	CreatedAt     string         `json:"createdAt"`
	UpdatedAt     string         `json:"updatedAt"`
	DeletedAt     *string        `json:"deletedAt"`
	DeletedReason string         `json:"deletedReason"`
	Attrs         map[string]any `json:"attrs"`
}

const entryFields = `id type name version status createdAt updatedAt deletedAt deletedReason attrs`

// typeRow is one line of the types page.
type typeRow struct {
	Type  *schema.EntityType
	Count int
}

func (u *UI) types(w http.ResponseWriter, r *http.Request) {
	ts := u.opts.Store.Registry().Types()
	var q strings.Builder
	q.WriteString("{")
	for i, t := range ts {
		fmt.Fprintf(&q, " t%d: entries(type: %q, first: 0) { totalCount }", i, t.Name)
	}
	q.WriteString(" }")
	var data map[string]struct{ TotalCount int }
	if err := u.query(r.Context(), q.String(), nil, &data); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	rows := make([]typeRow, len(ts))
	for i, t := range ts {
		rows[i] = typeRow{Type: t, Count: data[fmt.Sprintf("t%d", i)].TotalCount}
	}
	u.render(w, r, http.StatusOK, "types", "Entity types", rows)
}

// pageSize is how many entries a list page shows.
const pageSize = 50

// listView is the entries page of one type.
type listView struct {
	Type       *schema.EntityType
	Columns    []*schema.Attribute
	Entries    []entry
	Total      int
	Q, A, V    string // search, attribute filter and its value
	Sort       string
	Deleted    bool
	Next       string // cursor of the next page
	First      bool   // this is the first page
	Attributes []*schema.Attribute
	Base       template.URL // the page's query without the cursor, encoded
}

func (u *UI) entityType(w http.ResponseWriter, r *http.Request) (*schema.EntityType, bool) {
	t, err := u.opts.Store.Registry().Type(r.PathValue("type"))
	if err != nil {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "no entity type %q", r.PathValue("type")))
		return nil, false
	}
	return t, true
}

// columns are the attributes a list shows: up to six scalars that are not
// secret.
func columns(t *schema.EntityType) []*schema.Attribute {
	var out []*schema.Attribute
	for _, a := range t.Attributes {
		if a.Secret || a.Type.Kind == schema.KindText {
			continue
		}
		out = append(out, a)
		if len(out) == 6 {
			break
		}
	}
	return out
}

func (u *UI) list(w http.ResponseWriter, r *http.Request) {
	t, ok := u.entityType(w, r)
	if !ok {
		return
	}
	qs := r.URL.Query()
	lv := listView{Type: t, Columns: columns(t), Q: strings.TrimSpace(qs.Get("q")), A: qs.Get("a"), V: strings.TrimSpace(qs.Get("v")),
		Sort: qs.Get("sort"), Deleted: qs.Get("deleted") == "1", First: qs.Get("after") == ""}
	for _, a := range t.Attributes {
		if !a.Secret {
			lv.Attributes = append(lv.Attributes, a)
		}
	}
	var filters []map[string]any
	if lv.Q != "" {
		filters = append(filters, map[string]any{"attr": "name", "op": "contains", "values": []any{lv.Q}})
	}
	if lv.A != "" && lv.V != "" {
		a := t.Attr(lv.A)
		if a == nil || a.Secret {
			u.fail(w, r, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "a", "%s has no attribute %q", t.Name, lv.A))
			return
		}
		op := "eq"
		if a.Type.List {
			op = "contains"
		}
		v, err := scalar(a.Type.Kind, lv.V)
		if err != nil {
			u.fail(w, r, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "v", "%s: %v", lv.A, err))
			return
		}
		filters = append(filters, map[string]any{"attr": lv.A, "op": op, "values": []any{v}})
	}
	order := map[string]string{"": "NAME_ASC", "name": "NAME_ASC", "-name": "NAME_DESC", "id": "ID_ASC", "-id": "ID_DESC"}[lv.Sort]
	if order == "" {
		u.fail(w, r, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "sort", "sort is name, -name, id or -id, not %q", lv.Sort))
		return
	}
	vars := map[string]any{"type": t.Name, "first": pageSize, "filter": filters, "order": order, "deleted": lv.Deleted}
	if a := qs.Get("after"); a != "" {
		vars["after"] = a
	}
	var data struct {
		Entries struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
			Nodes []entry
		}
	}
	err := u.query(r.Context(), `query($type: String!, $first: Int, $after: String, $filter: [AttrFilter!], $order: EntryOrder, $deleted: Boolean) {
		entries(type: $type, first: $first, after: $after, filter: $filter, orderBy: $order, includeDeleted: $deleted) {
			totalCount pageInfo { hasNextPage endCursor } nodes { `+entryFields+` } } }`, vars, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	lv.Entries, lv.Total = data.Entries.Nodes, data.Entries.TotalCount
	if data.Entries.PageInfo.HasNextPage {
		lv.Next = data.Entries.PageInfo.EndCursor
	}
	base := url.Values{}
	for _, k := range []string{"q", "a", "v", "sort", "deleted"} {
		if v := qs.Get(k); v != "" {
			base.Set(k, v)
		}
	}
	lv.Base = template.URL(base.Encode()) // #nosec: url.Values encodes every part
	name := "list"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "results" {
		name = "list-results" // htmx asks for the table alone
	}
	u.render(w, r, http.StatusOK, name, plural(t.Name), lv)
}

func plural(s string) string {
	if strings.HasSuffix(s, "s") {
		return s + "es"
	}
	return s + "s"
}

// version is one version of an entry's history.
type version struct {
	Version   int64
	Op        string
	Actor     string
	Source    string
	Reason    string
	At        string
	ChangeSet string
	Changes   map[string]struct{ Old, New any }
}

// attrRow is one attribute on the detail page.
type attrRow struct {
	Attr       *schema.Attribute
	Value      any
	Set        bool
	RefType    string // for a reference: the type its names link to
	Refs       []string
	Source     string // who set the value last, and when
	Actor      string
	At         string
	Authority  string
	Restricted bool // the caller cannot read it (hidden or secret)
}

// backref is a group of entries that reference the shown one.
type backref struct {
	Type, Attr string
	Entries    []entry
	More       bool
}

// detailView is an entry's page.
type detailView struct {
	Type     *schema.EntityType
	Entry    entry
	Attrs    []attrRow
	Extra    map[string]any // attributes the type no longer has
	Backrefs []backref
	History  []version
	Older    int // versions older than those shown
	Drift    []driftItem
}

// historyShown is how many versions an entry's page shows, newest first.
const historyShown = 50

func (u *UI) byName(w http.ResponseWriter, r *http.Request) {
	t, ok := u.entityType(w, r)
	if !ok {
		return
	}
	var data struct{ Entries struct{ Nodes []entry } }
	err := u.query(r.Context(), `query($type: String!, $name: JSON) { entries(type: $type, first: 1, filter: [{attr: "name", op: "eq", values: [$name]}]) { nodes { id } } }`,
		map[string]any{"type": t.Name, "name": r.PathValue("name")}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	if len(data.Entries.Nodes) == 0 {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "%s %q not found", t.Name, r.PathValue("name")))
		return
	}
	http.Redirect(w, r, "/e/"+data.Entries.Nodes[0].ID, http.StatusFound)
}

// backrefLimit is how many referring entries of each kind a page lists.
const backrefLimit = 50

func (u *UI) detail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := u.loadEntry(w, r, id)
	if !ok {
		return
	}
	reg := u.opts.Store.Registry()
	t, err := reg.Type(e.Type)
	if err != nil {
		u.fail(w, r, http.StatusNotFound, err)
		return
	}
	// History, back-references and open drift in one request: the
	// back-references as entries filtered on the referring attribute.
	brs := reg.BackRefs(t.Name)
	var q strings.Builder
	vars := map[string]any{"id": id}
	decl := "$id: ID!"
	if u.opts.Reconcile {
		decl += ", $name: String"
		vars["name"] = e.Name
	}
	if len(brs) > 0 {
		decl += ", $ref: JSON, $first: Int"
		vars["ref"], vars["first"] = e.Name, backrefLimit
	}
	q.WriteString(`query(` + decl + `) { entryHistory(id: $id) { version op actor source reason at changeSet changes }`)
	for i, br := range brs {
		fmt.Fprintf(&q, ` b%d: entries(type: %q, first: $first, filter: [{attr: %q, op: "eq", values: [$ref]}]) { totalCount nodes { id type name status } }`, i, br.From.Name, br.Attr.Name)
	}
	if u.opts.Reconcile {
		q.WriteString(` drift(entry: $name, type: "` + t.Name + `", first: 50) { ` + driftFields + ` }`)
	}
	q.WriteString(" }")
	var data map[string]jsonRaw
	if err := u.query(r.Context(), q.String(), vars, &data); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	dv := detailView{Type: t, Entry: *e}
	if err := data["entryHistory"].decode(&dv.History); err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	slices.Reverse(dv.History) // newest first
	for i, br := range brs {
		var c struct {
			TotalCount int
			Nodes      []entry
		}
		if err := data[fmt.Sprintf("b%d", i)].decode(&c); err != nil {
			u.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if len(c.Nodes) > 0 {
			dv.Backrefs = append(dv.Backrefs, backref{Type: br.From.Name, Attr: br.Attr.Name, Entries: c.Nodes, More: c.TotalCount > len(c.Nodes)})
		}
	}
	if raw, ok := data["drift"]; ok {
		_ = raw.decode(&dv.Drift)
	}
	dv.Attrs, dv.Extra = attrRows(t, e, dv.History) // from every version: provenance may be old
	if len(dv.History) > historyShown {
		dv.Older, dv.History = len(dv.History)-historyShown, dv.History[:historyShown]
	}
	u.render(w, r, http.StatusOK, "detail", t.Name+" "+e.Name, dv)
}

// attrRows lays out an entry's attributes with their provenance: the
// newest version that changed each one says who set it, from which
// source, when.
func attrRows(t *schema.EntityType, e *entry, history []version) ([]attrRow, map[string]any) {
	rows := make([]attrRow, 0, len(t.Attributes))
	for _, a := range t.Attributes {
		v, set := e.Attrs[a.Name]
		row := attrRow{Attr: a, Value: v, Set: set && v != nil, Authority: string(a.Authority)}
		if a.Type.Kind == schema.KindRef && row.Set {
			row.RefType = a.Type.RefType
			switch x := v.(type) {
			case string:
				row.Refs = []string{x}
			case []any:
				for _, n := range x {
					row.Refs = append(row.Refs, fmt.Sprint(n))
				}
			}
		}
		for _, h := range history { // newest first
			if _, ok := h.Changes[a.Name]; ok {
				row.Source, row.Actor, row.At = h.Source, h.Actor, h.At
				break
			}
		}
		rows = append(rows, row)
	}
	extra := map[string]any{}
	for k, v := range e.Attrs {
		if t.Attr(k) == nil {
			extra[k] = v
		}
	}
	return rows, extra
}

// loadEntry reads one entry (deleted ones too) by id.
func (u *UI) loadEntry(w http.ResponseWriter, r *http.Request, id string) (*entry, bool) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "no entry %q", id))
		return nil, false
	}
	var data struct{ Entry *entry }
	if err := u.query(r.Context(), `query($id: ID!) { entry(id: $id) { `+entryFields+` } }`, map[string]any{"id": id}, &data); err != nil {
		u.fail(w, r, statusOf(err), err)
		return nil, false
	}
	if data.Entry == nil {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "entry %s not found", id))
		return nil, false
	}
	return data.Entry, true
}
