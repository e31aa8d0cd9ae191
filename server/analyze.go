package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/schema"
)

// maxSelections bounds the selections of a document once its fragments
// are spread, summed over its operations and fragments: the merge check,
// the cost walk and graphql-go's rules do work in proportion to it.
const maxSelections = 10000

// invalidDocument is a document graphql-go's validation would refuse,
// found before it runs; the errors are shaped like graphql-go's.
type invalidDocument struct{ errs []gqlerrors.FormattedError }

func (e *invalidDocument) Error() string { return e.errs[0].Message }

// analyzer checks a parsed document before graphql-go sees it. graphql-go
// follows fragment spreads without noticing cycles (a stack overflow kills
// the process), compares every pair of like-named fields printing their
// arguments, and prints invalid literals, which is quadratic; these checks
// take those cases off its hands, each in time linear in the document.
type analyzer struct {
	ctx   context.Context
	sch   *graphql.Schema
	lines *lineIndex
	frags map[string]*ast.FragmentDefinition
	// own holds each definition's selections and spreads, fragments not
	// spread (their own selection sets).
	own   map[ast.Node]*defInfo
	steps int
}

type defInfo struct {
	selections int
	spreads    []*ast.FragmentSpread
	expanded   int // selections with every spread spread; 0 until known
}

// checkDocument runs the checks in an order where each one's work is
// bounded by those before it: fragments known and acyclic, then the
// expanded size, then the field merge check.
func checkDocument(ctx context.Context, sch *graphql.Schema, doc *ast.Document, lines *lineIndex) error {
	a := &analyzer{ctx: ctx, sch: sch, lines: lines, frags: map[string]*ast.FragmentDefinition{}, own: map[ast.Node]*defInfo{}}
	for _, check := range []func(*ast.Document) error{a.indexFragments, a.readDefinitions, a.checkCycles, a.checkSize, a.checkMerges} {
		if err := check(doc); err != nil {
			return err
		}
	}
	return nil
}

// tick is called once per unit of work; it stops the walk when the
// request is cancelled or out of time.
func (a *analyzer) tick() error {
	if a.steps++; a.steps&1023 == 0 {
		if err := a.ctx.Err(); err != nil {
			return fmt.Errorf("check query: %w", err)
		}
	}
	return nil
}

func (a *analyzer) invalid(msg string, nodes ...ast.Node) error {
	return &invalidDocument{errs: []gqlerrors.FormattedError{a.lines.nodeError(msg, nodes...)}}
}

func (a *analyzer) indexFragments(doc *ast.Document) error {
	for _, d := range doc.Definitions {
		f, ok := d.(*ast.FragmentDefinition)
		if !ok {
			continue
		}
		if prev := a.frags[f.Name.Value]; prev != nil {
			return a.invalid(fmt.Sprintf("There can be only one fragment named %q.", f.Name.Value), prev.Name, f.Name)
		}
		a.frags[f.Name.Value] = f
	}
	return nil
}

// readDefinitions walks every definition as written (spreads not
// followed): it counts selections, notes spreads, refuses unknown
// fragments and checks argument and default literals.
func (a *analyzer) readDefinitions(doc *ast.Document) error {
	for _, d := range doc.Definitions {
		info := &defInfo{}
		a.own[d] = info
		var err error
		switch d := d.(type) {
		case *ast.OperationDefinition:
			if err = a.readVariables(d.VariableDefinitions); err == nil {
				err = a.readSet(d.SelectionSet, rootType(a.sch, d.Operation), info)
			}
		case *ast.FragmentDefinition:
			err = a.readSet(d.SelectionSet, a.sch.Type(d.TypeCondition.Name.Value), info)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func rootType(sch *graphql.Schema, op string) graphql.Type {
	switch op {
	case ast.OperationTypeMutation:
		if m := sch.MutationType(); m != nil {
			return m
		}
		return nil
	case ast.OperationTypeSubscription:
		return nil
	}
	return sch.QueryType()
}

func (a *analyzer) readSet(set *ast.SelectionSet, parent graphql.Type, info *defInfo) error {
	if set == nil {
		return nil
	}
	for _, sel := range set.Selections {
		if err := a.tick(); err != nil {
			return err
		}
		info.selections++
		var err error
		switch sel := sel.(type) {
		case *ast.Field:
			err = a.readField(sel, parent, info)
		case *ast.InlineFragment:
			if err = a.readDirectives(sel.Directives); err == nil {
				err = a.readSet(sel.SelectionSet, conditionType(a.sch, sel.TypeCondition, parent), info)
			}
		case *ast.FragmentSpread:
			if a.frags[sel.Name.Value] == nil {
				return a.invalid(fmt.Sprintf("Unknown fragment %q.", sel.Name.Value), sel.Name)
			}
			info.spreads = append(info.spreads, sel)
			err = a.readDirectives(sel.Directives)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) readField(f *ast.Field, parent graphql.Type, info *defInfo) error {
	if err := a.readDirectives(f.Directives); err != nil {
		return err
	}
	var child graphql.Type
	if def := fieldDef(a.sch, parent, f); def != nil {
		if err := a.readArguments(f.Arguments, def.Args); err != nil {
			return err
		}
		child = namedType(def.Type)
	}
	return a.readSet(f.SelectionSet, child, info)
}

// fieldDef is the definition graphql-go's validation finds for f, the
// introspection fields included; nil for an unknown field.
func fieldDef(sch *graphql.Schema, parent graphql.Type, f *ast.Field) *graphql.FieldDefinition {
	if parent == nil {
		return nil
	}
	return graphql.DefaultTypeInfoFieldDef(sch, parent, f)
}

// namedType is t without its list and non-null wrappers.
func namedType(t graphql.Type) graphql.Type {
	n, _ := graphql.GetNamed(t).(graphql.Type)
	return n
}

// conditionType is the type a fragment's condition names, or parent when
// it names none (or none that exists: validation reports that).
func conditionType(sch *graphql.Schema, cond *ast.Named, parent graphql.Type) graphql.Type {
	if cond != nil && cond.Name != nil {
		if t := sch.Type(cond.Name.Value); t != nil {
			return t
		}
	}
	return parent
}

func (a *analyzer) readArguments(args []*ast.Argument, defs []*graphql.Argument) error {
	for _, arg := range args {
		for _, def := range defs {
			if def.Name() != arg.Name.Value {
				continue
			}
			if p := literalProblem(def.Type, arg.Value); p != "" {
				return a.invalid(fmt.Sprintf("Argument %q has invalid value %s.\n%s", arg.Name.Value, shortValue(arg.Value), p), arg.Value)
			}
			break
		}
	}
	return nil
}

func (a *analyzer) readDirectives(dirs []*ast.Directive) error {
	for _, d := range dirs {
		if def := a.sch.Directive(d.Name.Value); def != nil {
			if err := a.readArguments(d.Arguments, def.Args); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *analyzer) readVariables(vars []*ast.VariableDefinition) error {
	for _, v := range vars {
		if !wholeType(v.Type) { // graphql-go parses "$a:)" or "$a: !" and then fails on it
			return a.invalid(fmt.Sprintf("Variable %q has no type.", "$"+v.Variable.Name.Value), v)
		}
		if v.DefaultValue == nil {
			continue
		}
		t, ok := inputType(a.sch, v.Type).(graphql.Input)
		if !ok || t == nil {
			continue
		}
		if p := literalProblem(t, v.DefaultValue); p != "" {
			return a.invalid(fmt.Sprintf("Variable %q has invalid default value: %s.\n%s", "$"+v.Variable.Name.Value, shortValue(v.DefaultValue), p), v.DefaultValue)
		}
	}
	return nil
}

// wholeType is true when a variable's type names a type inside its list
// and non-null wrappers.
func wholeType(t ast.Type) bool {
	switch t := t.(type) {
	case *ast.Named:
		return t != nil && t.Name != nil
	case *ast.List:
		return t != nil && wholeType(t.Type)
	case *ast.NonNull:
		return t != nil && wholeType(t.Type)
	}
	return false
}

// inputType resolves a variable's type as graphql-go does: an unknown
// name is nil, and a list or non-null of it a type that records the error
// (a default value under a broken non-null is invalid).
func inputType(sch *graphql.Schema, t ast.Type) graphql.Type {
	switch t := t.(type) {
	case *ast.Named:
		return sch.Type(t.Name.Value)
	case *ast.List:
		return graphql.NewList(inputType(sch, t.Type))
	case *ast.NonNull:
		return graphql.NewNonNull(inputType(sch, t.Type))
	}
	return nil
}

// checkCycles refuses a fragment that spreads itself, directly or not.
func (a *analyzer) checkCycles(doc *ast.Document) error {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []*ast.FragmentSpread
	var visit func(name string) error
	visit = func(name string) error {
		state[name] = onPath
		for _, sp := range a.own[a.frags[name]].spreads {
			switch state[sp.Name.Value] {
			case onPath:
				return a.cycle(sp, path)
			case unseen:
				path = append(path, sp)
				if err := visit(sp.Name.Value); err != nil {
					return err
				}
				path = path[:len(path)-1]
			}
		}
		state[name] = done
		return nil
	}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && state[f.Name.Value] == unseen {
			if err := visit(f.Name.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// cycle words a cycle as graphql-go's NoFragmentCycles rule does.
func (a *analyzer) cycle(back *ast.FragmentSpread, path []*ast.FragmentSpread) error {
	name := back.Name.Value
	from := 0 // the fragment the walk started from
	for i := len(path) - 1; i >= 0; i-- {
		if path[i].Name.Value == name {
			from = i + 1
			break
		}
	}
	via, nodes := []string{}, []ast.Node{}
	for _, sp := range path[from:] {
		via = append(via, fmt.Sprintf("%q", sp.Name.Value))
		nodes = append(nodes, sp)
	}
	nodes = append(nodes, back)
	msg := fmt.Sprintf("Cannot spread fragment %q within itself", name)
	if len(via) > 0 {
		msg += " via " + strings.Join(via, ", ")
	}
	return a.invalid(msg+".", nodes...)
}

// checkSize refuses a document whose definitions, fragments spread,
// hold more than maxSelections selections. Sizes are memoized per
// fragment and saturate, so a fan-out of fragments costs nothing.
func (a *analyzer) checkSize(doc *ast.Document) error {
	total := 0
	for _, d := range doc.Definitions {
		total = min(total+a.expanded(d), maxSelections+1)
	}
	if total > maxSelections {
		return schema.FieldErrorf(schema.EINVALID, "query", "the query has more than %d selections once its fragments are spread", maxSelections)
	}
	return nil
}

func (a *analyzer) expanded(d ast.Node) int {
	info := a.own[d]
	if info.expanded > 0 || info.selections == 0 {
		return info.expanded
	}
	n := info.selections
	for _, sp := range info.spreads {
		n = min(n+a.expanded(a.frags[sp.Name.Value]), maxSelections+1)
	}
	info.expanded = n
	return n
}
