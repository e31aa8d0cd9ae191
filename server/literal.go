package server

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// literalProblem says why the literal v is not a value of type t, "" when
// it is. It decides as graphql-go's ArgumentsOfCorrectType and
// DefaultValuesOfCorrectType rules do, so that those rules only ever see
// valid literals: on an invalid one they print it with graphql-go's
// printer, which takes seconds for an object of a few thousand fields.
func literalProblem(t graphql.Input, v ast.Value) string {
	if nn, ok := t.(*graphql.NonNull); ok {
		if err := nn.Error(); err != nil { // a non-null of an unknown type
			return err.Error()
		}
		if v == nil {
			return fmt.Sprintf("Expected %q, found null.", nn.OfType.Name()+"!")
		}
		inner, _ := nn.OfType.(graphql.Input)
		return literalProblem(inner, v)
	}
	if v == nil {
		return ""
	}
	if _, ok := v.(*ast.Variable); ok {
		return ""
	}
	switch t := t.(type) {
	case *graphql.List:
		item, _ := t.OfType.(graphql.Input)
		lv, ok := v.(*ast.ListValue)
		if !ok {
			return literalProblem(item, v)
		}
		for i, x := range lv.Values {
			if p := literalProblem(item, x); p != "" {
				return fmt.Sprintf("In element #%d: %s", i+1, p)
			}
		}
	case *graphql.InputObject:
		return objectProblem(t, v)
	case *graphql.Scalar:
		if nullish(t.ParseLiteral(v)) {
			return fmt.Sprintf("Expected type %q, found %s.", t.Name(), shortValue(v))
		}
	case *graphql.Enum:
		if nullish(t.ParseLiteral(v)) {
			return fmt.Sprintf("Expected type %q, found %s.", t.Name(), shortValue(v))
		}
	}
	return ""
}

func objectProblem(t *graphql.InputObject, v ast.Value) string {
	ov, ok := v.(*ast.ObjectValue)
	if !ok {
		return fmt.Sprintf("Expected %q, found not an object.", t.Name())
	}
	fields := t.Fields()
	given := make(map[string]ast.Value, len(ov.Fields))
	for _, f := range ov.Fields {
		given[f.Name.Value] = f.Value
		if fields[f.Name.Value] == nil {
			return fmt.Sprintf("In field %q: Unknown field.", f.Name.Value)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if p := literalProblem(fields[name].Type, given[name]); p != "" {
			return fmt.Sprintf("In field %q: %s", name, p)
		}
	}
	return ""
}

// nullish is graphql-go's test for a literal a scalar or enum refused.
func nullish(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case float64:
		return math.IsNaN(v)
	case float32:
		return math.IsNaN(float64(v))
	}
	return false
}

// shortValue prints a literal in at most about 60 bytes, in time linear
// in what it prints.
func shortValue(v ast.Value) string {
	var b strings.Builder
	printValue(&b, v, 60)
	return b.String()
}

func printValue(b *strings.Builder, v ast.Value, limit int) {
	if b.Len() > limit {
		b.WriteString("…")
		return
	}
	switch v := v.(type) {
	case *ast.ListValue:
		b.WriteByte('[')
		for i, x := range v.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			if printValue(b, x, limit); b.Len() > limit {
				break
			}
		}
		b.WriteByte(']')
	case *ast.ObjectValue:
		b.WriteByte('{')
		for i, f := range v.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name.Value + ": ")
			if printValue(b, f.Value, limit); b.Len() > limit {
				break
			}
		}
		b.WriteByte('}')
	case *ast.StringValue:
		s := v.Value
		if len(s) > limit {
			s = s[:limit] + "…"
		}
		fmt.Fprintf(b, "%q", s)
	case *ast.Variable:
		b.WriteString("$" + v.Name.Value)
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprint(b, v.GetValue())
	}
}
