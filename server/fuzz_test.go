package server

import (
	"context"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/config"
)

// FuzzCheckQuery feeds arbitrary query text through what tana does before
// it executes a query: the text's bounds, parsing, the checks on the
// syntax tree, the limits and graphql-go's validation. Nothing may panic
// or take more than fuzzTimeBound, and on documents small enough for
// graphql-go's own rules to judge quickly, tana's merge and literal
// checks must agree with them. The corpus is in testdata/fuzz.
func FuzzCheckQuery(f *testing.F) {
	gs := testSchema(f)
	lim := withDefaults(config.Server{})
	f.Add(`{ vms(first: 10) { edges { node { name host { name cluster { name } } } } } }`)
	f.Add(`{ a: vm(name: "x") { n: name } a: vm(name: "x") { n: cpus } }`)
	f.Add(`query Q($n: Int = 3) { ...F } fragment F on Query { vms(first: $n) { nodes { name } } }`)
	f.Fuzz(func(t *testing.T, query string) {
		start := time.Now()
		if len(query) <= 2048 {
			if err := agreeWithGraphQLGo(t, gs.Schema, query); err != nil {
				return
			}
		}
		checkAll(t, gs, lim, query)
		if d := time.Since(start); d > fuzzTimeBound {
			t.Fatalf("%d bytes took %v", len(query), d)
		}
	})
}

// fuzzTimeBound is a second of CPU, doubled: fuzz workers share the CPUs.
const fuzzTimeBound = 2 * time.Second

// checkAll runs the steps the handler runs before execution.
func checkAll(t *testing.T, gs *gqlSchema, lim config.Server, query string) {
	ctx := context.Background()
	doc, lines, err := parseDocument(query)
	if err != nil {
		return
	}
	if checkDocument(ctx, gs.Schema, doc, lines) != nil {
		return
	}
	op, err := pick(doc, "")
	if err != nil {
		return
	}
	if _, err := checkLimits(ctx, gs, doc, op, &gqlRequest{Query: query}, lim); err != nil {
		return
	}
	if _, err := validate(ctx, gs.Schema, doc); err != nil {
		t.Fatal(err)
	}
}
