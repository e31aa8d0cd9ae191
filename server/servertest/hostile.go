// Package servertest holds what the server's tests and the end-to-end
// tests of the binary share: the hostile GraphQL queries a server must
// answer or refuse quickly, without falling over.
package servertest

import (
	"fmt"
	"strings"
)

// Hostile is a request built to crash or starve a GraphQL server, and the
// answer tana gives it.
type Hostile struct {
	Name  string
	Query string
	// Status is the HTTP status of the answer; Code its first error's
	// extensions.code ("" for none) and Message a part of its message.
	Status  int
	Code    string
	Message string
}

// HostileQueries are the probes of issue 20 and their relatives. Each
// stays under the default body limit of 1 MiB.
func HostileQueries() []Hostile {
	return []Hostile{
		{"fragment cycle (111 bytes)", `{ __typename ...A } fragment A on Query { __typename ...B } fragment B on Query { __typename ...A }`,
			400, "GRAPHQL_VALIDATION_FAILED", `Cannot spread fragment "A" within itself via "B"`},
		{"fragment spreading itself", `{ ...A } fragment A on Query { __typename ...A }`, 400, "GRAPHQL_VALIDATION_FAILED", `Cannot spread fragment "A" within itself.`},
		{"cycle hidden behind a duplicate name", `{ ...A } fragment A on Query { __typename } fragment A on Query { ...A }`,
			400, "GRAPHQL_VALIDATION_FAILED", `only one fragment named "A"`},
		{"unknown fragment", `{ ...Nope }`, 400, "GRAPHQL_VALIDATION_FAILED", `Unknown fragment "Nope"`},
		{"fragment fan-out, 28 levels", FanOut(28), 400, "INVALID", "selections once its fragments are spread"},
		{"fragment fan-out, 30 levels", FanOut(30), 400, "INVALID", "selections once its fragments are spread"},
		{"450 KB nested 50,000 levels", Nested(50000), 400, "INVALID", "nests more than 64 levels"},
		{"lists nested 50,000 levels", `{ vm(name: ` + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + `) { name } }`, 400, "INVALID", "nests more than"},
		{"objects nested 60 levels", `{ vm(name: ` + strings.Repeat("{a: ", 60) + "1" + strings.Repeat("}", 60) + `) { name } }`,
			400, "GRAPHQL_VALIDATION_FAILED", `Argument "name" has invalid value`},
		{"too many tokens", "{" + strings.Repeat(" __typename", 20000) + " }", 400, "INVALID", "more than 15000 tokens"},
		{"many like-named fields with arguments", "{" + strings.Repeat(` vms(first: 1) { totalCount }`, 1500) + " }", 200, "", ""},
		{"many like-named fields in conflict", conflicting(1300), 400, "GRAPHQL_VALIDATION_FAILED", `Fields "a" conflict because they have differing arguments`},
		{"an object of 4,000 fields for a string", `{ vm(name: {` + strings.Repeat("a: 1 ", 4000) + `}) { name } }`,
			400, "GRAPHQL_VALIDATION_FAILED", `Expected type "String"`},
		{"like-named fields with a large argument", `{ a: vm(name: {` + strings.Repeat("a: 1 ", 2000) + `}) { name } a: vm(name: {` + strings.Repeat("a: 1 ", 2000) + `}) { name } }`,
			400, "GRAPHQL_VALIDATION_FAILED", `Expected type "String"`},
		{"thousands of unknown fields", "{" + strings.Repeat(" nosuchfieldatall", 10000) + " }", 400, "GRAPHQL_VALIDATION_FAILED", `Cannot query field "nosuchfieldatall"`},
		{"a long misspelt name", "{ " + strings.Repeat("v", 129) + " }", 400, "INVALID", "longer than 128 bytes"},
		{"errors located in a megabyte of lines", strings.Repeat("\n", 450000) + "{" + strings.Repeat(" nosuchfield", 5000) + " }", 400, "GRAPHQL_VALIDATION_FAILED", "Cannot query field"},
		{"nested introspection", NestedIntrospection(5), 400, "INVALID", "introspects more than"},
		{"introspection repeated under aliases", aliased(`__schema { types { fields { args { name } type { name } } } }`, 400), 400, "INVALID", "introspects more than"},
		{"a page too large", `{ vms(first: 100000) { nodes { name } } }`, 400, "INVALID", "first must be between"},
		{"pages of pages", `{ hosts(first: 1000) { nodes { vms(first: 1000) { name } } } }`, 400, "INVALID", "query cost"},
		{"aliases of full pages", aliased(`vms(first: 1000) { nodes { name cpus } }`, 30), 400, "INVALID", "query cost"},
		{"a large default under an unknown type", `query($a: [Nope!] = [{` + strings.Repeat("a: 1 ", 4000) + `}]) { __typename }`,
			400, "GRAPHQL_VALIDATION_FAILED", `Variable "$a" has invalid default value`},
		{"a variable without a type", `query($a: !) { __typename }`, 400, "GRAPHQL_VALIDATION_FAILED", `Variable "$a" has no type`},
		{"deep variable type", `query($a: ` + strings.Repeat("[", 60) + "Int" + strings.Repeat("]", 60) + `) { __typename }`, 400, "GRAPHQL_VALIDATION_FAILED", ""},
	}
}

// FanOut is a query whose fragments each spread the next one twice:
// 2^levels selections from a kilobyte and a half.
func FanOut(levels int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }")
	for i := 0; i < levels; i++ {
		fmt.Fprintf(&b, " fragment F%d on Query { __typename ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { __typename }", levels)
	return b.String()
}

// Nested is a query of depth selection sets, 9 bytes a level.
func Nested(depth int) string {
	return strings.Repeat("{ types  ", depth) + strings.Repeat("}", depth)
}

// NestedIntrospection asks for the fields of the types of the fields of …
// levels deep, through list and non-null wrappers: each level multiplies
// the answer by the fields of a type.
func NestedIntrospection(levels int) string {
	var b strings.Builder
	b.WriteString("{ __schema { types { ...L1 } } }")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, " fragment L%d on __Type { name fields { name type { ...L%d ofType { ...L%d ofType { ofType { ...L%d } } } } } }", i, i+1, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment L%d on __Type { name }", levels+1)
	return b.String()
}

func aliased(sel string, n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " a%d: %s", i, sel)
	}
	b.WriteString(" }")
	return b.String()
}

func conflicting(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ` a: vm(name: "%d") { name }`, i)
	}
	b.WriteString(" }")
	return b.String()
}
