package server

import (
	"sort"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/lexer"
	"github.com/graphql-go/graphql/language/location"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"

	"github.com/tana-cmdb/tana/schema"
)

// Bounds on the query text, checked by lexing it before it is parsed:
// graphql-go's parser and validator recurse once per level of nesting and
// do more than linear work per token, so nothing beyond these reaches them.
// No real query comes near them (GraphiQL's introspection query is about
// 300 tokens and 11 levels deep).
const (
	maxTokens    = 15000
	maxNesting   = 64  // levels of {, ( and [ together
	maxNameBytes = 128 // a name is compared with every known name when misspelt
)

// scanDocument refuses a query with more tokens, deeper nesting or longer
// names than the bounds. It reads at most maxTokens tokens; a syntax error
// ends the scan and is left for the parser, which stops at the same place.
func scanDocument(src *source.Source) error {
	lex := lexer.Lex(src)
	depth := 0
	for tokens := 0; ; tokens++ {
		tok, err := lex(0)
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		if tokens == maxTokens {
			return schema.FieldErrorf(schema.EINVALID, "query", "the query has more than %d tokens", maxTokens)
		}
		switch tok.Kind {
		case lexer.BRACE_L, lexer.PAREN_L, lexer.BRACKET_L:
			if depth++; depth > maxNesting {
				return schema.FieldErrorf(schema.EINVALID, "query", "the query nests more than %d levels of {, ( and [", maxNesting)
			}
		case lexer.BRACE_R, lexer.PAREN_R, lexer.BRACKET_R:
			depth = max(depth-1, 0)
		case lexer.NAME:
			if len(tok.Value) > maxNameBytes {
				return schema.FieldErrorf(schema.EINVALID, "query", "the name %.20q… is longer than %d bytes", tok.Value, maxNameBytes)
			}
		}
	}
}

// parseDocument scans and parses a query. Nodes carry positions but not
// the source: graphql-go would otherwise locate every error by scanning
// the whole text with a regular expression; lines.locate does it from an
// index instead.
func parseDocument(query string) (*ast.Document, *lineIndex, error) {
	src := source.NewSource(&source.Source{Body: []byte(query), Name: "GraphQL request"})
	if err := scanDocument(src); err != nil {
		return nil, nil, err
	}
	doc, err := parser.Parse(parser.ParseParams{Source: src, Options: parser.ParseOptions{NoSource: true}})
	return doc, &lineIndex{body: src.Body}, err
}

// lineIndex turns positions into line and column, as graphql-go's
// location.GetLocation does, with the line starts found once.
type lineIndex struct {
	body   []byte
	starts []int // byte offset after each line terminator
}

func (li *lineIndex) at(pos int) location.SourceLocation {
	if li.starts == nil {
		li.starts = lineStarts(li.body)
	}
	// Lines whose terminator begins before pos end before it, as in
	// GetLocation (a position inside "\r\n" belongs to the next line).
	n := sort.Search(len(li.starts), func(i int) bool { return li.termAt(i) >= pos })
	if n == 0 {
		return location.SourceLocation{Line: 1, Column: pos + 1}
	}
	return location.SourceLocation{Line: n + 1, Column: pos + 1 - li.starts[n-1]}
}

// termAt is where the terminator ending line i+1 begins.
func (li *lineIndex) termAt(i int) int {
	end := li.starts[i]
	if end >= 2 && li.body[end-2] == '\r' && li.body[end-1] == '\n' {
		return end - 2
	}
	return end - 1
}

func lineStarts(body []byte) []int {
	starts := []int{}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '\r':
			if i+1 < len(body) && body[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		case '\n':
			starts = append(starts, i+1)
		}
	}
	return starts
}

// locate gives errors made from source-less nodes (line 1, column
// position+1) their real lines and columns.
func (li *lineIndex) locate(errs []gqlerrors.FormattedError) {
	for i := range errs {
		for j, l := range errs[i].Locations {
			if l.Line == 1 {
				errs[i].Locations[j] = li.at(l.Column - 1)
			}
		}
	}
}

// nodeError is a validation error at the given nodes, shaped like
// graphql-go's own.
func (li *lineIndex) nodeError(msg string, nodes ...ast.Node) gqlerrors.FormattedError {
	fe := gqlerrors.FormattedError{Message: msg, Locations: []location.SourceLocation{}}
	for _, n := range nodes {
		if n != nil && n.GetLoc() != nil {
			fe.Locations = append(fe.Locations, li.at(n.GetLoc().Start))
		}
	}
	fe.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
	return fe
}
