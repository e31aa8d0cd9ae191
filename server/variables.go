package server

import (
	"fmt"
	"math"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/schema"
)

// checkVariables refuses variable values of another type than declared,
// which graphql-go would coerce without a word: a String given an object
// becomes "map[a:[1 2]]", a Boolean given "no" becomes true, an Int given
// 1.5 becomes 1 and one given "12" becomes 12. Input coercion follows the
// GraphQL spec instead; the error names the variable and the path in it
// (variables.attrs.cpus). Missing and unknown values are left to graphql-go,
// which reports them.
func checkVariables(sch *graphql.Schema, op *ast.OperationDefinition, vars map[string]any) error {
	for _, def := range op.VariableDefinitions {
		if def == nil || def.Variable == nil || def.Variable.Name == nil {
			continue
		}
		name := def.Variable.Name.Value
		typ := variableType(sch, def.Type)
		if v, ok := vars[name]; ok && typ != nil {
			if err := checkInput(typ, v, "variables."+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// variableType resolves a variable's declared type; nil when it names no
// input type (validation has refused that already).
func variableType(sch *graphql.Schema, t ast.Type) graphql.Input {
	switch t := t.(type) {
	case *ast.NonNull:
		if in := variableType(sch, t.Type); in != nil {
			return graphql.NewNonNull(in)
		}
	case *ast.List:
		if in := variableType(sch, t.Type); in != nil {
			return graphql.NewList(in)
		}
	case *ast.Named:
		if t.Name != nil {
			in, _ := sch.Type(t.Name.Value).(graphql.Input)
			return in
		}
	}
	return nil
}

// checkInput checks one value against an input type, at path.
func checkInput(typ graphql.Input, v any, path string) error {
	if v == nil {
		return nil // null: graphql-go refuses it where the type is non-null
	}
	switch t := typ.(type) {
	case *graphql.NonNull:
		return checkInput(t.OfType, v, path)
	case *graphql.List:
		list, ok := v.([]any)
		if !ok {
			return checkInput(t.OfType, v, path) // one value stands for a list of one
		}
		for i, x := range list {
			if err := checkInput(t.OfType, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case *graphql.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, t.Name(), v)
		}
		fields := t.Fields()
		for _, k := range sortedKeys(obj) {
			if f := fields[k]; f != nil {
				if err := checkInput(f.Type, obj[k], path+"."+k); err != nil {
					return err
				}
			}
		}
	case *graphql.Scalar:
		if !scalarAccepts(t.Name(), v) {
			return mismatch(path, t.Name(), v)
		}
	}
	return nil
}

// scalarAccepts is the spec's input coercion of the built-in scalars for
// JSON values (numbers arrive as float64). Other scalars (JSON) take any
// value.
func scalarAccepts(name string, v any) bool {
	switch name {
	case "String":
		_, ok := v.(string)
		return ok
	case "Boolean":
		_, ok := v.(bool)
		return ok
	case "Float":
		_, ok := v.(float64)
		return ok
	case "Int":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32
	case "ID":
		if _, ok := v.(string); ok {
			return true
		}
		f, ok := v.(float64)
		return ok && f == math.Trunc(f) && math.Abs(f) <= 1<<53
	}
	return true
}

func mismatch(path, want string, v any) error {
	return schema.FieldErrorf(schema.EINVALID, path, "expected %s, got %s", want, describe(v))
}

// describe names a JSON value's kind for an error, with the value if short.
func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%T", v)
}
