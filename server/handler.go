package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/tana-cmdb/tana/schema"
)

// gqlRequest is a GraphQL-over-HTTP request.
type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// graphql serves /graphql: read, check the query's bounds, fragments and
// limits on its syntax tree, validate, check the role, then execute with
// a fresh per-request loader. Every step before execution is bounded in
// the size of the query and stops when the request's time is up.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Limits.RequestTimeout.D())
	defer cancel()
	req, status, err := s.readRequest(w, r)
	if err != nil {
		writeError(w, status, err)
		return
	}
	status, res := s.answer(ctx, r.Method, req)
	if status == http.StatusOK {
		status = busyStatus(w, res) // 503 when every field was refused as busy
	}
	writeJSON(w, status, res)
}

// answer runs a request and returns the HTTP status and the response.
func (s *Server) answer(ctx context.Context, method string, req *gqlRequest) (int, *graphql.Result) {
	gs := s.schema.Load()
	doc, lines, err := parseDocument(req.Query)
	if err != nil {
		var se *schema.Error
		if errors.As(err, &se) {
			return http.StatusBadRequest, errorResult(err)
		}
		return http.StatusBadRequest, &graphql.Result{Errors: withCode(gqlerrors.FormatErrors(err), "GRAPHQL_PARSE_FAILED")}
	}
	op, cost, res := s.check(ctx, gs, doc, lines, req)
	if res != nil {
		if ctx.Err() != nil {
			// Out of time, as when execution runs out of it: not the
			// client's fault.
			return http.StatusOK, res
		}
		return http.StatusBadRequest, res
	}
	if err := checkVariables(gs.Schema, op, req.Variables); err != nil {
		return http.StatusBadRequest, errorResult(err)
	}
	if op.Operation == ast.OperationTypeMutation {
		if method != http.MethodPost {
			return http.StatusMethodNotAllowed, errorResult(schema.Errorf(schema.EINVALID, "mutations need POST"))
		}
		if _, err := mayWrite(ctx, s.store); err != nil {
			return statusOf(err), errorResult(err)
		}
	}
	res = graphql.Execute(graphql.ExecuteParams{
		Schema: *gs.Schema, AST: doc, OperationName: req.OperationName, Args: req.Variables,
		Context: withLoader(ctx, newLoader(s.store)),
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// graphql-go stops between fields with the bare context error.
		for i := range res.Errors {
			if res.Errors[i].Extensions == nil {
				res.Errors[i].Extensions = map[string]any{"code": "TIMEOUT"}
			}
		}
	}
	lines.locate(res.Errors)
	for i := range res.Errors {
		if ce, ok := findCoded(res.Errors[i].OriginalError()); ok && res.Errors[i].Extensions == nil {
			res.Errors[i].Extensions = ce.Extensions()
		}
	}
	res.Extensions = cost.extensions(s.opts.Limits.MaxComplexity)
	return http.StatusOK, res
}

// findCoded digs out the coded error under graphql-go's wrappers, which
// do not unwrap: an error from a deferred resolver (a loader's thunk)
// reaches the response without its extensions.
func findCoded(err error) (codedError, bool) {
	for range 8 {
		switch e := err.(type) {
		case nil:
			return codedError{}, false
		case codedError:
			return e, true
		case *gqlerrors.Error:
			err = e.OriginalError
		case gqlerrors.FormattedError:
			err = e.OriginalError()
		default:
			err = errors.Unwrap(err)
		}
	}
	return codedError{}, false
}

// check runs tana's checks and graphql-go's validation on a parsed query;
// it returns the operation to run and its cost, or the refusal.
func (s *Server) check(ctx context.Context, gs *gqlSchema, doc *ast.Document, lines *lineIndex, req *gqlRequest) (*ast.OperationDefinition, queryCost, *graphql.Result) {
	var inv *invalidDocument
	if err := checkDocument(ctx, gs.Schema, doc, lines); errors.As(err, &inv) {
		return nil, queryCost{}, &graphql.Result{Errors: inv.errs}
	} else if err != nil {
		return nil, queryCost{}, errorResult(err)
	}
	op, err := pick(doc, req.OperationName)
	if err != nil {
		return nil, queryCost{}, errorResult(err)
	}
	cost, err := checkLimits(ctx, gs, doc, op, req, s.opts.Limits)
	if err != nil {
		res := errorResult(err)
		res.Extensions = cost.extensions(s.opts.Limits.MaxComplexity)
		return nil, cost, res
	}
	errs, err := validate(ctx, gs.Schema, doc)
	if err != nil {
		return nil, cost, errorResult(err)
	}
	if len(errs) > 0 {
		lines.locate(errs)
		return nil, cost, &graphql.Result{Errors: withCode(errs, "GRAPHQL_VALIDATION_FAILED")}
	}
	return op, cost, nil
}

// extensions tell a client what its query cost: the fields it could
// return, against max_complexity, and apart what it introspected.
func (c queryCost) extensions(limit int) map[string]any {
	ext := map[string]any{"cost": c.Data, "maxCost": limit}
	if c.Introspection > 0 {
		ext["introspectionCost"] = c.Introspection
	}
	return ext
}

// readRequest decodes a POST (JSON) or GET request, bounded by
// MaxBodyBytes.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (*gqlRequest, int, error) {
	req := &gqlRequest{}
	switch r.Method {
	case http.MethodGet:
		qv := r.URL.Query()
		req.Query, req.OperationName = qv.Get("query"), qv.Get("operationName")
		if v := qv.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return nil, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "variables", "bad JSON: %v", err)
			}
		}
	case http.MethodPost:
		if err := requireJSON(r); err != nil {
			return nil, http.StatusUnsupportedMediaType, err
		}
		err := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.Limits.MaxBodyBytes)).Decode(req)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, schema.Errorf(schema.EINVALID, "request body is larger than %d bytes", mbe.Limit)
		}
		if err != nil {
			return nil, http.StatusBadRequest, schema.Errorf(schema.EINVALID, "bad request body: %v", err)
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		return nil, http.StatusMethodNotAllowed, schema.Errorf(schema.EINVALID, "use GET or POST")
	}
	if strings.TrimSpace(req.Query) == "" {
		return nil, http.StatusBadRequest, schema.FieldErrorf(schema.EINVALID, "query", "missing query")
	}
	return req, 0, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// Encoded before the status goes out: a value JSON cannot hold is a
	// bug to answer as one (500), not a 200 with an empty body.
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorResult(err)) // "internal error": strings only, cannot fail
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with a GraphQL-shaped error carrying the code.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorResult(err))
}

// errorResult is a response with one error carrying its code and field.
func errorResult(err error) *graphql.Result {
	fe := gqlerrors.FormatError(codedError{err: err})
	fe.Extensions = codedError{err: err}.Extensions()
	return &graphql.Result{Errors: []gqlerrors.FormattedError{fe}}
}

// withCode gives parse and validation errors a code like every other error.
func withCode(errs []gqlerrors.FormattedError, code string) []gqlerrors.FormattedError {
	for i := range errs {
		errs[i].Extensions = map[string]any{"code": code}
	}
	return errs
}

// CodedError makes err a GraphQL error whose extensions carry its schema
// error code and field; resolvers added through ExtraQueries and
// ExtraMutations return their errors through it.
func CodedError(err error) error {
	if err == nil {
		return nil
	}
	return codedError{err: err}
}

// codedError carries a schema error's code and field into GraphQL's
// extensions: {"code": "CONFLICT", "field": "attrs.cpus"}.
type codedError struct{ err error }

func (e codedError) Error() string {
	switch {
	case errors.Is(e.err, context.DeadlineExceeded):
		return "the request took longer than the server's time limit"
	case schema.ErrorCode(e.err) == schema.EINTERNAL:
		return "internal error"
	}
	return e.err.Error()
}

func (e codedError) Unwrap() error { return e.err }

func (e codedError) Extensions() map[string]any {
	ext := map[string]any{"code": strings.ToUpper(schema.ErrorCode(e.err))}
	if errors.Is(e.err, context.DeadlineExceeded) {
		ext["code"] = "TIMEOUT"
	}
	if f := schema.ErrorField(e.err); f != "" {
		ext["field"] = f
	}
	return ext
}
