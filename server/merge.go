package server

import (
	"fmt"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// typedSet is a selection set and the type its fields belong to.
type typedSet struct {
	parent graphql.Type
	set    *ast.SelectionSet
}

// mergeField is one field of a merged selection set.
type mergeField struct {
	parent graphql.Type
	field  *ast.Field
	def    *graphql.FieldDefinition
}

// checkMerges refuses fields that share a response name but not their
// field, arguments or type: the spec's "field selection merging", which
// graphql-go's OverlappingFieldsCanBeMerged rule (left out, see
// validationRules) does by comparing every pair of like-named fields.
// tana's schema has only object types (TestSchemaHasOnlyObjectTypes), so
// in a valid document such fields meet in one parent and must agree
// exactly: each is compared with the first of its name, then their
// selections are merged and checked the same way. Each definition is
// walked once, fragments spread, in time linear in its expanded size.
func (a *analyzer) checkMerges(doc *ast.Document) error {
	for _, d := range doc.Definitions {
		var root typedSet
		switch d := d.(type) {
		case *ast.OperationDefinition:
			root = typedSet{rootType(a.sch, d.Operation), d.SelectionSet}
		case *ast.FragmentDefinition:
			root = typedSet{a.sch.Type(d.TypeCondition.Name.Value), d.SelectionSet}
		default:
			continue
		}
		if err := a.merge([]typedSet{root}); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) merge(sets []typedSet) error {
	groups := map[string][]mergeField{}
	var order []string
	for _, s := range sets {
		if err := a.collect(s, groups, &order); err != nil {
			return err
		}
	}
	for _, name := range order {
		g := groups[name]
		if err := a.agree(name, g); err != nil {
			return err
		}
		var subs []typedSet
		for _, f := range g {
			if f.field.SelectionSet == nil {
				continue
			}
			var t graphql.Type
			if f.def != nil {
				t = namedType(f.def.Type)
			}
			subs = append(subs, typedSet{t, f.field.SelectionSet})
		}
		if len(subs) > 0 {
			if err := a.merge(subs); err != nil {
				return err
			}
		}
	}
	return nil
}

// collect adds the fields of s, inline fragments and spreads followed, to
// groups by response name.
func (a *analyzer) collect(s typedSet, groups map[string][]mergeField, order *[]string) error {
	for _, sel := range s.set.Selections {
		if err := a.tick(); err != nil {
			return err
		}
		switch sel := sel.(type) {
		case *ast.Field:
			name := responseName(sel)
			if _, ok := groups[name]; !ok {
				*order = append(*order, name)
			}
			groups[name] = append(groups[name], mergeField{s.parent, sel, fieldDef(a.sch, s.parent, sel)})
		case *ast.InlineFragment:
			if err := a.collect(typedSet{conditionType(a.sch, sel.TypeCondition, s.parent), sel.SelectionSet}, groups, order); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			f := a.frags[sel.Name.Value]
			if err := a.collect(typedSet{conditionType(a.sch, f.TypeCondition, s.parent), f.SelectionSet}, groups, order); err != nil {
				return err
			}
		}
	}
	return nil
}

func responseName(f *ast.Field) string {
	if f.Alias != nil && f.Alias.Value != "" {
		return f.Alias.Value
	}
	return f.Name.Value
}

// agree compares every field of a group with the first. Fields of two
// different object types never meet at run time and may differ in name
// and arguments (as the spec allows), not in type.
func (a *analyzer) agree(name string, g []mergeField) error {
	first := g[0]
	for _, f := range g[1:] {
		reason := ""
		_, obj1 := first.parent.(*graphql.Object)
		_, obj2 := f.parent.(*graphql.Object)
		exclusive := first.parent != f.parent && obj1 && obj2
		switch {
		case !exclusive && first.field.Name.Value != f.field.Name.Value:
			reason = fmt.Sprintf("%s and %s are different fields", first.field.Name.Value, f.field.Name.Value)
		case !exclusive && !sameArguments(first.field.Arguments, f.field.Arguments):
			reason = "they have differing arguments"
		case first.def != nil && f.def != nil && typesConflict(first.def.Type, f.def.Type):
			reason = fmt.Sprintf("they return conflicting types %v and %v", first.def.Type, f.def.Type)
		}
		if reason != "" {
			return a.invalid(fmt.Sprintf("Fields %q conflict because %s. Use different aliases on the fields to fetch both if this was intentional.", name, reason), first.field, f.field)
		}
	}
	return nil
}

func sameArguments(a, b []*ast.Argument) bool {
	if len(a) != len(b) {
		return false
	}
	byName := make(map[string]ast.Value, len(b))
	for _, arg := range b {
		if _, dup := byName[arg.Name.Value]; !dup { // the first, as graphql-go finds it
			byName[arg.Name.Value] = arg.Value
		}
	}
	for _, arg := range a {
		v, ok := byName[arg.Name.Value]
		if !ok || !sameValue(arg.Value, v) {
			return false
		}
	}
	return true
}

// sameValue is true when two literals would print alike, as graphql-go
// compares them (lists and objects in order).
func sameValue(a, b ast.Value) bool {
	switch a := a.(type) {
	case *ast.ListValue:
		b, ok := b.(*ast.ListValue)
		if !ok || len(a.Values) != len(b.Values) {
			return false
		}
		for i := range a.Values {
			if !sameValue(a.Values[i], b.Values[i]) {
				return false
			}
		}
		return true
	case *ast.ObjectValue:
		b, ok := b.(*ast.ObjectValue)
		if !ok || len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			if a.Fields[i].Name.Value != b.Fields[i].Name.Value || !sameValue(a.Fields[i].Value, b.Fields[i].Value) {
				return false
			}
		}
		return true
	case *ast.Variable:
		b, ok := b.(*ast.Variable)
		return ok && a.Name.Value == b.Name.Value
	case nil:
		return b == nil
	}
	return b != nil && a.GetKind() == b.GetKind() && a.GetValue() == b.GetValue()
}

// typesConflict is graphql-go's doTypesConflict: lists and non-nulls must
// match, leaves must be the same type; objects are compared field by field.
func typesConflict(t1, t2 graphql.Type) bool {
	l1, ok1 := t1.(*graphql.List)
	l2, ok2 := t2.(*graphql.List)
	if ok1 || ok2 {
		return !(ok1 && ok2) || typesConflict(l1.OfType, l2.OfType)
	}
	n1, ok1 := t1.(*graphql.NonNull)
	n2, ok2 := t2.(*graphql.NonNull)
	if ok1 || ok2 {
		return !(ok1 && ok2) || typesConflict(n1.OfType, n2.OfType)
	}
	if graphql.IsLeafType(t1) || graphql.IsLeafType(t2) {
		return t1 != t2
	}
	return false
}
