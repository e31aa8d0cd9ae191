package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestVariablesOfTheWrongTypeAreRefused: graphql-go coerced these into
// something else (an object into the string "map[a:[1 2]]", "no" into
// true, 1.5 into 1); over real HTTP each is refused with the variable and
// the path in it, and nothing is written.
func TestVariablesOfTheWrongTypeAreRefused(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 1)
	ts := start(t, s)
	cases := []struct {
		name, query string
		vars        map[string]any
		field, msg  string
	}{
		{"object as String!", `mutation($n: String!) { createEntry(type: "vm", name: $n) { name } }`,
			map[string]any{"n": map[string]any{"a": []any{1, 2}}}, "variables.n", "expected String, got an object"},
		{"list as String", `mutation($n: String!) { createEntry(type: "vm", name: $n) { name } }`,
			map[string]any{"n": []any{"a"}}, "variables.n", "expected String, got a list"},
		{"fraction as Int", `mutation($a: VmInput) { createVm(name: "x", attrs: $a) { name } }`,
			map[string]any{"a": map[string]any{"cpus": 1.5}}, "variables.a.cpus", "expected Int, got the number 1.5"},
		{"string as Int", `mutation($a: VmInput) { createVm(name: "x", attrs: $a) { name } }`,
			map[string]any{"a": map[string]any{"cpus": "12"}}, "variables.a.cpus", `expected Int, got the string "12"`},
		{"string as Boolean", `mutation($a: VmInput) { createVm(name: "x", attrs: $a) { name } }`,
			map[string]any{"a": map[string]any{"template": "no"}}, "variables.a.template", `expected Boolean, got the string "no"`},
		{"number in [String!]", `mutation($a: VmInput) { createVm(name: "x", attrs: $a) { name } }`,
			map[string]any{"a": map[string]any{"tags": []any{"a", 7}}}, "variables.a.tags[1]", "expected String, got the number 7"},
		{"object as ID", `query($id: ID!) { entry(id: $id) { name } }`,
			map[string]any{"id": map[string]any{"x": 1}}, "variables.id", "expected ID, got an object"},
		{"string as input object", `mutation($a: VmInput) { createVm(name: "x", attrs: $a) { name } }`,
			map[string]any{"a": "cpus: 2"}, "variables.a", "expected VmInput, got the string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "", c.query, c.vars)
			if r.Status != http.StatusBadRequest || r.code() != "INVALID" || r.Errors[0].Extensions["field"] != c.field || !strings.Contains(r.Errors[0].Message, c.msg) {
				t.Fatalf("got %d %+v, want INVALID on %s: %s", r.Status, r.Errors, c.field, c.msg)
			}
		})
	}
	if n, err := s.Count(context.Background(), inventory.Query{Type: "vm"}); err != nil || n != 1 {
		t.Errorf("%d VMs after refused writes (%v), want the 1 seeded", n, err)
	}
	// Values of the right type still pass, ID as a number too.
	var ok struct{ CreateVm struct{ Cpus int } }
	ts.query(t, `mutation($a: VmInput) { createVm(name: "y", attrs: $a) { cpus } }`, map[string]any{"a": map[string]any{"cpus": 4, "tags": "one", "template": false}}, &ok)
	if ok.CreateVm.Cpus != 4 {
		t.Fatalf("got %+v", ok)
	}
	if r := ts.do(t, "", `query($id: ID!) { entry(id: $id) { name } }`, map[string]any{"id": 1}); len(r.Errors) > 0 {
		t.Fatalf("numeric ID: %+v", r.Errors)
	}
}
