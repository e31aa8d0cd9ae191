package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/location"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// testSchema is the whole generated schema, reconcile's fields included.
func testSchema(t testing.TB) *gqlSchema {
	t.Helper()
	s := inventorytest.Open(t, "sqlite")
	srv, err := New(Options{Store: s, Reconcile: reconcile.New(s, reconcile.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return srv.schema.Load()
}

// agreeWithGraphQLGo checks a query that tana's checks let through, or
// refused as graphql-go would, against graphql-go's own rules: on a
// document the other rules accept, tana's merge check must find a
// conflict exactly when OverlappingFieldsCanBeMerged does, and its
// literal check an invalid literal exactly when graphql-go's literal
// rules do. It returns tana's verdict.
func agreeWithGraphQLGo(t testing.TB, sch *graphql.Schema, query string) error {
	t.Helper()
	doc, lines, err := parseDocument(query)
	if err != nil {
		return err
	}
	ours := checkDocument(context.Background(), sch, doc, lines)
	var inv *invalidDocument
	if ours != nil && !errors.As(ours, &inv) {
		return ours // a limit, not a rule of the spec
	}
	msg := ""
	if inv != nil {
		msg = inv.errs[0].Message
		if !strings.Contains(msg, "conflict because") && !strings.Contains(msg, "invalid value") && !strings.Contains(msg, "invalid default value") {
			return ours // fragments: graphql-go cannot be asked, it would not stop
		}
	}
	others := graphql.ValidateDocument(sch, doc, validationRules()).Errors // all of them, not maxErrors
	literal := false
	for _, e := range others {
		literal = literal || strings.Contains(e.Message, "has invalid value") || strings.Contains(e.Message, "has invalid default value")
	}
	if literal != (strings.Contains(msg, "invalid value") || strings.Contains(msg, "invalid default value")) {
		t.Fatalf("literal check: tana %q, graphql-go %v\n%s", msg, others, query)
	}
	if len(others) > 0 {
		return ours
	}
	overlap := graphql.ValidateDocument(sch, doc, []graphql.ValidationRuleFn{graphql.OverlappingFieldsCanBeMergedRule}).Errors
	if (len(overlap) > 0) != strings.Contains(msg, "conflict because") {
		t.Fatalf("merge check: tana %q, graphql-go %v\n%s", msg, overlap, query)
	}
	return ours
}

func TestChecksAgreeWithGraphQLGo(t *testing.T) {
	gs := testSchema(t)
	cases := []struct{ query, refusal string }{
		{`{ vms { totalCount } vms { totalCount } }`, ""},
		{`{ a: vms { totalCount } a: hosts { totalCount } }`, `Fields "a" conflict because vms and hosts are different fields`},
		{`{ vms(first: 1) { totalCount } vms(first: 2) { totalCount } }`, "differing arguments"},
		{`{ vms(first: 1, orderBy: NAME_ASC) { totalCount } vms(orderBy: NAME_ASC, first: 1) { totalCount } }`, ""},
		{`query($n: Int) { vms(first: $n) { totalCount } vms(first: $n) { totalCount } }`, ""},
		{`query($n: Int, $m: Int) { vms(first: $n) { totalCount } vms(first: $m) { totalCount } }`, "differing arguments"},
		{`{ vms(filter: {name: {eq: "a"}, cpus: {gt: 1}}) { totalCount } vms(filter: {name: {eq: "a"}, cpus: {gt: 1}}) { totalCount } }`, ""},
		{`{ vms(filter: {name: {eq: "a"}, cpus: {gt: 1}}) { totalCount } vms(filter: {cpus: {gt: 1}, name: {eq: "a"}}) { totalCount } }`, "differing arguments"},
		{`{ vms { x: totalCount } vms { x: pageInfo { hasNextPage } } }`, `conflict because totalCount and pageInfo`},
		{`{ vms { nodes { n: name } } ...F } fragment F on Query { vms { nodes { n: cpus } } }`, `Fields "n" conflict`},
		{`{ vms { nodes { ... on Vm { n: name } n: name } } }`, ""},
		{`{ vm(name: "a") { host { name } } vm(name: "a") { host { n: name } } }`, ""},
		{`{ x: vm(name: "a") { cpus } x: host(name: "a") { name } }`, "different fields"},
		{`{ vm(name: "a") { tags } vm(name: "a") { t: tags tags } }`, ""},
		{`{ vm(name: {a: 1}) { name } }`, `Argument "name" has invalid value {a: 1}`},
		{`{ vms(first: "ten") { totalCount } }`, `Expected type "Int", found "ten"`},
		{`{ vms(filter: {nosuch: {eq: "a"}}) { totalCount } }`, `In field "nosuch": Unknown field.`},
		{`{ vms(orderBy: SIDEWAYS) { totalCount } }`, `Expected type "EntryOrder", found SIDEWAYS`},
		{`{ vms(first: [[1]]) { totalCount } }`, "has invalid value"},
		{`query($n: Int = "x") { vms(first: $n) { totalCount } }`, `Variable "$n" has invalid default value: "x"`},
		{`query($n: [Int] = [1, "x"]) { __typename }`, "In element #2"},
		{`{ __typename @include(if: "yes") }`, `Argument "if" has invalid value "yes"`},
		{`{ __type(name: 1) { name } }`, `Argument "name" has invalid value 1`},
		{`mutation { createEntry(type: "vm", name: "x", attrs: {a: {b: [1, {c: 2}]}}) { name } }`, ""},
	}
	for _, c := range cases {
		err := agreeWithGraphQLGo(t, gs.Schema, c.query)
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.query, err)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: %v, want %q", c.query, err, c.refusal)
		}
	}
}

// TestValidationRules: tana runs every rule graphql-go specifies but the
// one checkMerges replaces.
func TestValidationRules(t *testing.T) {
	if got, want := len(validationRules()), len(graphql.SpecifiedRules)-1; got != want {
		t.Fatalf("%d rules, graphql-go specifies %d besides OverlappingFieldsCanBeMerged: update validationRules", got, want)
	}
}

// TestSchemaHasOnlyObjectTypes: checkMerges compares like-named fields
// as the spec does for object types only; an interface or union in the
// schema needs the spec's full rule (mutually exclusive parents).
func TestSchemaHasOnlyObjectTypes(t *testing.T) {
	for name, typ := range testSchema(t).TypeMap() {
		switch typ.(type) {
		case *graphql.Interface, *graphql.Union:
			t.Errorf("%s is an interface or union: checkMerges does not handle it", name)
		}
	}
}

// TestErrorLocations: errors made from nodes parsed without their source
// are located as graphql-go would locate them with it.
func TestErrorLocations(t *testing.T) {
	query := "# comment\r\n{\n  vms {\r    totalCount\n    nosuch\n  }\n\n  nope\n}\n"
	doc, lines, err := parseDocument(query)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := validate(context.Background(), testSchema(t).Schema, doc)
	if err != nil || len(errs) != 2 {
		t.Fatalf("%v %v", errs, err)
	}
	lines.locate(errs)
	withSource, err := parser.Parse(parser.ParseParams{Source: source.NewSource(&source.Source{Body: []byte(query)})})
	if err != nil {
		t.Fatal(err)
	}
	want := graphql.ValidateDocument(testSchema(t).Schema, withSource, nil).Errors
	for i := range errs {
		if !sameLocations(errs[i], want[i]) {
			t.Errorf("%s: at %v, graphql-go says %v", errs[i].Message, errs[i].Locations, want[i].Locations)
		}
	}
	for pos := range len(query) + 1 {
		if got, want := lines.at(pos), location.GetLocation(source.NewSource(&source.Source{Body: []byte(query)}), pos); got != want {
			t.Errorf("position %d: %v, graphql-go says %v", pos, got, want)
		}
	}
}

func sameLocations(a, b gqlerrors.FormattedError) bool {
	if len(a.Locations) != len(b.Locations) {
		return false
	}
	for i := range a.Locations {
		if a.Locations[i] != b.Locations[i] {
			return false
		}
	}
	return true
}

// TestChecksStopWhenTheRequestEnds: every step before execution gives up
// once the request's context is done.
func TestChecksStopWhenTheRequestEnds(t *testing.T) {
	gs := testSchema(t)
	query := "{" + strings.Repeat(" vms(first: 1) { totalCount }", 1400) + " }"
	doc, lines, err := parseDocument(query)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := checkDocument(ctx, gs.Schema, doc, lines); !errors.Is(err, context.Canceled) {
		t.Errorf("checkDocument: %v", err)
	}
	op, _ := pick(doc, "")
	if _, err := checkLimits(ctx, gs, doc, op, &gqlRequest{}, withDefaults(config.Server{})); !errors.Is(err, context.Canceled) {
		t.Errorf("checkLimits: %v", err)
	}
	if _, err := validate(ctx, gs.Schema, doc); !errors.Is(err, context.Canceled) {
		t.Errorf("validate: %v", err)
	}
}
