package access

import (
	"fmt"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Guard is the principal's write guard, for the store to run inside each
// write (inventory.WithWriteGuard): a write may change only attributes
// the principal may write, and must leave an entry it may still write — a
// team cannot hand its VM to another team it cannot then see. Attributes
// a write does not name are never touched: what the principal cannot see
// stays as it was.
func (a *Access) Guard() inventory.WriteGuard {
	return func(c inventory.WriteCheck) error {
		if a.admin {
			return nil
		}
		switch c.Op {
		case inventory.OpCreate:
			if a.EntryLevel(c.New) < Write {
				return forbidden("", "%s may not create %s %q", a.who(), c.New.Type, c.New.Name)
			}
			return a.mayWrite(c.New, c.Changed)
		case inventory.OpUpdate:
			if err := a.mayTouch(c.Old); err != nil {
				return err
			}
			if err := a.mayWrite(c.Old, c.Changed); err != nil {
				return err
			}
			if a.EntryLevel(c.New) < Write {
				return forbidden("", "%s may not change %s %q so: it could not write it afterwards", a.who(), c.Old.Type, c.Old.Name)
			}
		case inventory.OpDelete, inventory.OpRestore:
			if err := a.mayTouch(c.Old); err != nil {
				return err
			}
			if a.EntryLevel(c.Old) < Write {
				return forbidden("", "%s may not %s %s %q", a.who(), c.Op, c.Old.Type, c.Old.Name)
			}
		}
		return nil
	}
}

// mayTouch refuses a write to an entry the principal may not read as
// not found: a refusal would tell it exists.
func (a *Access) mayTouch(en *inventory.Entry) error {
	if a.EntryLevel(en) < Read {
		return schema.Errorf(schema.ENOTFOUND, "entry not found (id %d)", en.ID)
	}
	return nil
}

// mayWrite refuses the first attribute of en the principal may not write,
// naming it.
func (a *Access) mayWrite(en *inventory.Entry, attrs []string) error {
	for _, attr := range attrs {
		if l := a.AttrLevel(en, attr); l < Write {
			return forbidden(attr, "%s may not write %s.%s of %q (its level there is %s)", a.who(), en.Type, attr, en.Name, l)
		}
	}
	return nil
}

func (a *Access) who() string {
	if a.pr.Name != "" {
		return a.pr.Name
	}
	return a.pr.Kind
}

func forbidden(field, format string, args ...any) error {
	return schema.FieldErrorf(schema.EFORBIDDEN, field, "%s", fmt.Sprintf(format, args...))
}

// AttrRule says whether the principal may read attr of the entries of typ
// it may see, or that it depends on each entry (perEntry: ask CanRead):
// lists decide per type and attribute, not per row.
func (a *Access) AttrRule(typ, attr string) (readable, perEntry bool) {
	if a.admin {
		return true, false
	}
	secret := false
	if t, err := a.reg.Type(typ); err == nil {
		if at := t.Attr(attr); at != nil {
			secret = at.Secret
		}
	}
	need := Read
	if secret {
		need = Admin
	}
	var attrOnlyLevel Level
	hasAttrOnly, hasEntryWhere := false, false
	for _, g := range a.grants {
		if g.Type != "" && g.Type != typ {
			continue
		}
		switch g.tier() {
		case attrWhere:
			if g.Attr == attr {
				return false, true
			}
		case attrOnly:
			if g.Attr == attr {
				hasAttrOnly, attrOnlyLevel = true, max(attrOnlyLevel, g.Level)
			}
		case entryWhere:
			hasEntryWhere = true
		}
	}
	switch {
	case hasAttrOnly:
		return attrOnlyLevel >= need, false
	case secret && hasEntryWhere:
		return false, true
	case secret:
		return a.level(typ, nil, "") >= Admin, false
	}
	// A row the principal sees has an entry level of read or more, and
	// the attribute has no grant of its own: it is readable.
	return true, false
}
