package server

import (
	"context"
	"fmt"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/visitor"
)

// maxErrors bounds the validation errors of a request. graphql-go has no
// such bound, and some errors cost much (a misspelt field is compared with
// every field of its type to suggest one).
const maxErrors = 20

// validationRules are graphql-go's specified rules but
// OverlappingFieldsCanBeMerged, which checkMerges replaces: it compares
// every pair of like-named fields, printing their arguments, and follows
// fragment cycles until the stack overflows. TestValidationRules checks
// the list against graphql.SpecifiedRules.
func validationRules() []graphql.ValidationRuleFn {
	return []graphql.ValidationRuleFn{
		graphql.ArgumentsOfCorrectTypeRule,
		graphql.DefaultValuesOfCorrectTypeRule,
		graphql.FieldsOnCorrectTypeRule,
		graphql.FragmentsOnCompositeTypesRule,
		graphql.KnownArgumentNamesRule,
		graphql.KnownDirectivesRule,
		graphql.KnownFragmentNamesRule,
		graphql.KnownTypeNamesRule,
		graphql.LoneAnonymousOperationRule,
		graphql.NoFragmentCyclesRule,
		graphql.NoUndefinedVariablesRule,
		graphql.NoUnusedFragmentsRule,
		graphql.NoUnusedVariablesRule,
		graphql.PossibleFragmentSpreadsRule,
		graphql.ProvidedNonNullArgumentsRule,
		graphql.ScalarLeafsRule,
		graphql.UniqueArgumentNamesRule,
		graphql.UniqueFragmentNamesRule,
		graphql.UniqueInputFieldNamesRule,
		graphql.UniqueOperationNamesRule,
		graphql.UniqueVariableNamesRule,
		graphql.VariablesAreInputTypesRule,
		graphql.VariablesInAllowedPositionRule,
	}
}

// validate runs graphql-go's validation, each rule stopping once the
// request is over or maxErrors errors are found.
func validate(ctx context.Context, sch *graphql.Schema, doc *ast.Document) ([]gqlerrors.FormattedError, error) {
	rules := validationRules()
	for i, r := range rules {
		rules[i] = bounded(ctx, r)
	}
	errs := graphql.ValidateDocument(sch, doc, rules).Errors
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("validate query: %w", err)
	}
	return errs[:min(len(errs), maxErrors)], nil
}

// bounded makes a rule stop visiting once ctx is done or the validation
// has found maxErrors errors.
func bounded(ctx context.Context, rule graphql.ValidationRuleFn) graphql.ValidationRuleFn {
	return func(vc *graphql.ValidationContext) *graphql.ValidationRuleInstance {
		inst := rule(vc)
		wrap := func(fn visitor.VisitFunc) visitor.VisitFunc {
			if fn == nil {
				return nil
			}
			return func(p visitor.VisitFuncParams) (string, any) {
				if len(vc.Errors()) >= maxErrors || ctx.Err() != nil {
					return visitor.ActionBreak, nil
				}
				return fn(p)
			}
		}
		o := inst.VisitorOpts
		out := &visitor.VisitorOptions{Enter: wrap(o.Enter), Leave: wrap(o.Leave)}
		if o.KindFuncMap != nil {
			out.KindFuncMap = map[string]visitor.NamedVisitFuncs{}
			for k, f := range o.KindFuncMap {
				out.KindFuncMap[k] = visitor.NamedVisitFuncs{Kind: wrap(f.Kind), Enter: wrap(f.Enter), Leave: wrap(f.Leave)}
			}
		}
		if o.EnterKindMap != nil {
			out.EnterKindMap = map[string]visitor.VisitFunc{}
			for k, f := range o.EnterKindMap {
				out.EnterKindMap[k] = wrap(f)
			}
		}
		if o.LeaveKindMap != nil {
			out.LeaveKindMap = map[string]visitor.VisitFunc{}
			for k, f := range o.LeaveKindMap {
				out.LeaveKindMap[k] = wrap(f)
			}
		}
		return &graphql.ValidationRuleInstance{VisitorOpts: out}
	}
}
