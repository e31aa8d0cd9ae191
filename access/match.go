package access

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/tana-cmdb/tana/inventory"
)

// matches evaluates a grant's conditions on an entry in Go, as the store
// evaluates them in SQL: a list attribute matches when one element does;
// a reference by the referenced entry's name.
func matches(where []inventory.Filter, en *inventory.Entry) bool {
	for _, f := range where {
		if !match(f, en) {
			return false
		}
	}
	return true
}

func match(f inventory.Filter, en *inventory.Entry) bool {
	var v any
	var has bool
	if f.Attr == "name" {
		v, has = en.Name, true
	} else {
		v, has = en.Attrs[f.Attr]
		has = has && v != nil
	}
	switch f.Op {
	case inventory.OpIsNull:
		return !has
	case inventory.OpNotNull:
		return has
	}
	if !has {
		return false
	}
	vals := []any{v}
	if l, ok := v.([]any); ok {
		vals = l
	}
	return slices.ContainsFunc(vals, func(x any) bool { return matchOne(f, x) })
}

func matchOne(f inventory.Filter, x any) bool {
	switch f.Op {
	case inventory.OpEq, inventory.OpIn, inventory.OpContains:
		return slices.ContainsFunc(f.Values, func(w any) bool { return text(w) == text(x) })
	case inventory.OpLt, inventory.OpLte, inventory.OpGt, inventory.OpGte:
		if len(f.Values) != 1 {
			return false
		}
		a, aok := number(x)
		b, bok := number(f.Values[0])
		if !aok || !bok {
			return false
		}
		switch f.Op {
		case inventory.OpLt:
			return a < b
		case inventory.OpLte:
			return a <= b
		case inventory.OpGt:
			return a > b
		}
		return a >= b
	}
	return false
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}
