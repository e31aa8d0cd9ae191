package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// formField is one input of an entry form.
type formField struct {
	Attr  *schema.Attribute
	Input string // text, number, textarea, select-bool
	Value string
	// Was is the value the edit form was made from: an input that still
	// holds it is left alone, so a save sends only what the person changed.
	Was      string
	Changed  bool
	Error    string
	Step     string
	Hint     string
	Required bool
}

// formView is the create and edit form of an entry, and the conflict
// screen, which shows the form again beside what changed.
type formView struct {
	Type     *schema.EntityType
	Entry    *entry // nil for a new entry
	Name     string
	Reason   string
	Version  int64
	Fields   []formField
	Error    string
	Conflict *conflictView
}

// conflictView is what someone else changed while the form was open.
type conflictView struct {
	Theirs *entry
	Rows   []conflictRow
}

type conflictRow struct {
	Attr          string
	Yours, Theirs any
}

// formValue writes an attribute value into an input.
func formValue(a *schema.Attribute, v any) string {
	if v == nil {
		return ""
	}
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = showValue(x)
		}
		return strings.Join(parts, "\n")
	}
	return showValue(v)
}

// fields builds the inputs of t's form from attribute values.
func fields(t *schema.EntityType, attrs map[string]any, secrets bool) []formField {
	var out []formField
	for _, a := range t.Attributes {
		if a.Secret && !secrets {
			continue
		}
		v := formValue(a, attrs[a.Name])
		f := formField{Attr: a, Input: "text", Value: v, Was: v, Required: a.Required}
		switch {
		case a.Type.List:
			f.Input, f.Hint = "textarea", "one per line"
		case a.Type.Kind == schema.KindText:
			f.Input = "textarea"
		case a.Type.Kind == schema.KindBoolean:
			f.Input = "select-bool"
		case a.Type.Kind == schema.KindInteger:
			f.Input, f.Step = "numeric", "1" // text with a numeric keyboard: a typo is an error, not a blank
		case a.Type.Kind == schema.KindNumber:
			f.Input, f.Step = "decimal", "any"
		}
		if a.Type.Kind == schema.KindRef {
			f.Hint = strings.TrimSpace(f.Hint + " name of a " + a.Type.RefType)
		}
		if a.Authority == schema.Observed {
			f.Hint = strings.TrimSpace(f.Hint + " observed: the next collection sets it from reality")
		}
		out = append(out, f)
	}
	return out
}

// parseForm reads the attribute inputs back into values; a value that is
// not of its attribute's kind is an error on that input. An edit returns
// only the inputs that no longer hold the value the form was made from.
func parseForm(r *http.Request, fs []formField, edit bool) (map[string]any, bool) {
	out := map[string]any{}
	ok := true
	for i := range fs {
		f := &fs[i]
		raw := lf(r.PostFormValue("attr." + f.Attr.Name))
		f.Value = raw
		if edit {
			f.Was = lf(r.PostFormValue("was." + f.Attr.Name))
			if raw == f.Was {
				continue
			}
		}
		f.Changed = true
		v, err := parseValue(f.Attr, raw)
		if err != nil {
			f.Error, ok = err.Error(), false
			continue
		}
		out[f.Attr.Name] = v
	}
	return out, ok
}

// lf turns a browser's CRLF line ends into LF, as they were stored.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// parseValue turns one input into a value of a's kind; "" is no value.
func parseValue(a *schema.Attribute, raw string) (any, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if a.Type.List {
		var out []any
		for _, line := range strings.Split(raw, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			v, err := scalar(a.Type.Kind, line)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return scalar(a.Type.Kind, raw)
}

func scalar(k schema.Kind, s string) (any, error) {
	switch k {
	case schema.KindInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", s)
		}
		return n, nil
	case schema.KindNumber:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return n, nil
	case schema.KindBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	}
	return s, nil
}

// applyError puts a store's refusal on the input it names, or on the form.
func applyError(fv *formView, err error) {
	var ge *gqlError
	field := ""
	if errors.As(err, &ge) {
		field = ge.Field
	}
	field = strings.TrimPrefix(strings.TrimPrefix(field, "attrs."), "attrs[")
	field = strings.TrimSuffix(field, "]")
	for i := range fv.Fields {
		if name := fv.Fields[i].Attr.Name; field == name || strings.HasPrefix(field, name+".") || strings.HasPrefix(field, name+"[") {
			fv.Fields[i].Error = err.Error()
			return
		}
	}
	fv.Error = err.Error()
}

func (u *UI) newForm(w http.ResponseWriter, r *http.Request) {
	t, ok := u.entityType(w, r)
	if !ok {
		return
	}
	v, _ := u.opts.Viewer(r)
	u.render(w, r, http.StatusOK, "form", "New "+t.Name, formView{Type: t, Fields: fields(t, nil, v.Admin)})
}

func (u *UI) create(w http.ResponseWriter, r *http.Request) {
	t, ok := u.entityType(w, r)
	if !ok {
		return
	}
	v, _ := u.opts.Viewer(r)
	fv := formView{Type: t, Fields: fields(t, nil, v.Admin), Name: strings.TrimSpace(r.PostFormValue("name")), Reason: r.PostFormValue("reason")}
	attrs, valid := parseForm(r, fv.Fields, false)
	if fv.Name == "" {
		fv.Error, valid = "name: give the entry a name", false
	}
	if !valid {
		u.render(w, r, http.StatusBadRequest, "form", "New "+t.Name, fv)
		return
	}
	for k, v := range attrs {
		if v == nil {
			delete(attrs, k)
		}
	}
	var data struct{ CreateEntry entry }
	err := u.query(r.Context(), `mutation($type: String!, $name: String!, $attrs: JSON, $reason: String) {
		createEntry(type: $type, name: $name, attrs: $attrs, reason: $reason) { id } }`,
		map[string]any{"type": t.Name, "name": fv.Name, "attrs": attrs, "reason": fv.Reason}, &data)
	if err != nil {
		applyError(&fv, err)
		u.render(w, r, statusOf(err), "form", "New "+t.Name, fv)
		return
	}
	redirect(w, r, "/e/"+data.CreateEntry.ID, "created "+t.Name+" "+fv.Name)
}

func (u *UI) editForm(w http.ResponseWriter, r *http.Request) {
	e, ok := u.loadEntry(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	t, err := u.opts.Store.Registry().Type(e.Type)
	if err != nil {
		u.fail(w, r, http.StatusNotFound, err)
		return
	}
	v, _ := u.opts.Viewer(r)
	u.render(w, r, http.StatusOK, "form", "Edit "+e.Name, formView{Type: t, Entry: e, Name: e.Name, Version: e.Version, Fields: fields(t, e.Attrs, v.Admin)})
}

// update saves an edit: only the attributes the form changed are sent,
// so what the caller cannot see is left as it is, and the version the
// form was made from is checked (a conflict shows both versions).
func (u *UI) update(w http.ResponseWriter, r *http.Request) {
	cur, ok := u.loadEntry(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	t, err := u.opts.Store.Registry().Type(cur.Type)
	if err != nil {
		u.fail(w, r, http.StatusNotFound, err)
		return
	}
	v, _ := u.opts.Viewer(r)
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "version", "the form lacks the entry's version"))
		return
	}
	fv := formView{Type: t, Entry: cur, Name: strings.TrimSpace(r.PostFormValue("name")), Reason: r.PostFormValue("reason"), Version: version,
		Fields: fields(t, nil, v.Admin)}
	attrs, valid := parseForm(r, fv.Fields, true)
	if fv.Name == "" {
		fv.Error, valid = "name: an entry needs a name", false
	}
	if !valid {
		u.render(w, r, http.StatusBadRequest, "form", "Edit "+cur.Name, fv)
		return
	}
	if version != cur.Version {
		u.conflict(w, r, &fv, attrs)
		return
	}
	vars := map[string]any{"id": cur.ID, "version": version, "attrs": attrs, "reason": fv.Reason}
	if fv.Name != cur.Name {
		vars["name"] = fv.Name
	}
	var data struct{ UpdateEntry entry }
	err = u.query(r.Context(), `mutation($id: ID!, $version: Int!, $name: String, $attrs: JSON, $reason: String) {
		updateEntry(id: $id, version: $version, name: $name, attrs: $attrs, reason: $reason) { id } }`, vars, &data)
	if err != nil {
		var ge *gqlError
		if errors.As(err, &ge) && ge.Code == schema.ECONFLICT && ge.Field == "version" {
			if latest, ok := u.loadEntry(w, r, cur.ID); ok {
				fv.Entry = latest
				u.conflict(w, r, &fv, attrs)
			}
			return
		}
		applyError(&fv, err)
		u.render(w, r, statusOf(err), "form", "Edit "+cur.Name, fv)
		return
	}
	redirect(w, r, "/e/"+cur.ID, "saved "+fv.Name)
}

// conflict shows the edit again over the newer version: the inputs the
// person changed keep their values, the others take the newer ones, and
// the rows show where both changed. Saving again sends only the
// person's changes, over the newer version.
func (u *UI) conflict(w http.ResponseWriter, r *http.Request, fv *formView, yours map[string]any) {
	theirs := fv.Entry
	c := &conflictView{Theirs: theirs}
	for i := range fv.Fields {
		f := &fv.Fields[i]
		now := formValue(f.Attr, theirs.Attrs[f.Attr.Name])
		if f.Changed && now != f.Was {
			c.Rows = append(c.Rows, conflictRow{Attr: f.Attr.Name, Yours: yours[f.Attr.Name], Theirs: theirs.Attrs[f.Attr.Name]})
		}
		if !f.Changed {
			f.Value = now
		}
		f.Was = now
	}
	fv.Conflict, fv.Version = c, theirs.Version
	fv.Error = fmt.Sprintf("%s %s was changed by someone else (now version %d) while you edited it. Check both versions; saving again keeps your changes and theirs elsewhere.", theirs.Type, theirs.Name, theirs.Version)
	u.render(w, r, http.StatusConflict, "form", "Conflict: "+theirs.Name, *fv)
}

func (u *UI) remove(w http.ResponseWriter, r *http.Request) {
	e, ok := u.loadEntry(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	var data struct{ DeleteEntry entry }
	err := u.query(r.Context(), `mutation($id: ID!, $version: Int!, $reason: String) { deleteEntry(id: $id, version: $version, reason: $reason) { id } }`,
		map[string]any{"id": e.ID, "version": version, "reason": r.PostFormValue("reason")}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	redirect(w, r, "/e/"+e.ID, "deleted "+e.Name)
}

func (u *UI) restore(w http.ResponseWriter, r *http.Request) {
	e, ok := u.loadEntry(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var data struct{ RestoreEntry entry }
	err := u.query(r.Context(), `mutation($id: ID!, $reason: String) { restoreEntry(id: $id, reason: $reason) { id } }`,
		map[string]any{"id": e.ID, "reason": r.PostFormValue("reason")}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	redirect(w, r, "/e/"+e.ID, "restored "+e.Name)
}
