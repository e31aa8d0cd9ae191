// Package web is tana's server-rendered UI: html/template pages over the
// server's own GraphQL schema, run in process as the caller, so every page
// obeys the same permission evaluator, limits and batched loaders as the
// API. Pages read without JavaScript; htmx (vendored, embedded) only
// shortens round trips.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
	"github.com/tana-cmdb/tana/server/web/assets"
)

//go:embed templates/*.html
var templateFS embed.FS

// Viewer is who looks at a page.
type Viewer struct {
	Name     string
	Kind     string // user, team, token, anonymous
	Role     string
	Teams    []string
	CSRF     string // the session's CSRF token; "" without a session
	Session  bool   // logged in with a session cookie
	Open     bool   // an open server: nobody needs to log in
	Admin    bool
	MayWrite bool
	Addr     string // where the request came from, for audit rows
}

// Options are what the UI needs from the server.
type Options struct {
	Store  *inventory.Store
	Logger *slog.Logger
	// Query runs a GraphQL request as the caller of ctx, through the
	// server's checks.
	Query func(ctx context.Context, query string, vars map[string]any) *graphql.Result
	// Viewer says who makes the request; ok is false when nobody is
	// logged in on a server that needs it (the page then asks to log in).
	Viewer func(r *http.Request) (v Viewer, ok bool)
	// Authenticate wraps the pages: the request's principal and access.
	Authenticate func(http.Handler) http.Handler
	// Reconcile and Allocate say whether drift, plans and runs, and pools,
	// are served.
	Reconcile, Allocate bool
	// MaxPage is the server's largest page (server.max_page_size): pages
	// ask for no more.
	MaxPage int
}

// bound caps a page's first at the server's largest page.
func (u *UI) bound(n int) int {
	if u.opts.MaxPage > 0 {
		return min(n, u.opts.MaxPage)
	}
	return n
}

// UI serves the pages.
type UI struct {
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses the templates.
func New(opts Options) (*UI, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{opts: opts, log: opts.Logger, pages: map[string]*template.Template{}}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := n.Name()
		if name == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		u.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return u, nil
}

// CSP is the pages' Content-Security-Policy: nothing inline, nothing from
// elsewhere, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves every page and the static files. Mount it at "/".
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(assets.Prefix, assets.Handler())
	page := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.Handle(pattern, u.opts.Authenticate(u.guard(http.HandlerFunc(h))))
	}
	mux.HandleFunc("GET /login", u.loginPage)
	page("GET /{$}", u.dashboard)
	page("GET /types", u.types)
	page("GET /t/{type}", u.list)
	page("GET /t/{type}/new", u.newForm)
	page("POST /t/{type}", u.create)
	page("GET /t/{type}/{name}", u.byName)
	page("GET /e/{id}", u.detail)
	page("GET /e/{id}/edit", u.editForm)
	page("POST /e/{id}", u.update)
	page("POST /e/{id}/delete", u.remove)
	page("POST /e/{id}/restore", u.restore)
	if u.opts.Reconcile {
		page("GET /drift", u.drift)
		page("GET /plans", u.plans)
		page("POST /plans", u.makePlan)
		page("GET /plans/{id}", u.plan)
		page("POST /plans/{id}/apply", u.applyPlan)
		page("GET /runs", u.runs)
	}
	if u.opts.Allocate {
		page("GET /allocate", u.allocateForm)
		page("POST /allocate", u.allocate)
	}
	page("GET /tokens", u.tokens)
	page("POST /tokens", u.createToken)
	page("POST /tokens/{name}/revoke", u.revokeToken)
	page("GET /events", u.events)
	page("POST /events/{id}/redeliver", u.redeliver)
	page("GET /permissions", u.permissions)
	page("POST /permissions", u.addGrant)
	page("POST /permissions/{id}/revoke", u.revokeGrant)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "no page at %s", r.URL.Path))
	})
	return mux
}

// guard sends a visitor who must log in to the login page.
func (u *UI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := u.opts.Viewer(r); !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Unauthorized answers a page request that was refused for want of a
// login: the login page, asking to come back.
func Unauthorized(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// view is what every template gets.
type view struct {
	Title  string
	Nav    string
	Viewer Viewer
	UI     *UI
	Flash  string
	Error  string
	Data   any
}

// render writes page name with data.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v, _ := u.opts.Viewer(r)
	u.renderAs(w, r, status, name, view{Title: title, Nav: navOf(name), Viewer: v, UI: u, Flash: takeFlash(w, r), Data: data})
}

func (u *UI) renderAs(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	// "page-part" renders the part of page (htmx asks for it alone).
	page, part, _ := strings.Cut(name, "-")
	if part == "" {
		part = "layout.html"
	}
	t := u.pages[page]
	if t == nil {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, v); err != nil {
		u.log.Error("render page", "page", name, "err", err)
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie, Authorization, Accept-Encoding")
	if buf.Len() < minGzip || !assets.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.WriteHeader(status)
		_, _ = w.Write(buf.Bytes())
		return
	}
	h.Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	_, _ = zw.Write(buf.Bytes())
	_ = zw.Close()
}

// minGzip is the smallest page worth compressing: below it, one packet.
const minGzip = 1400

// Fail renders an error page for the server (a form refused before it
// reached a page).
func (u *UI) Fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	u.fail(w, r, status, err)
}

// fail renders an error page.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		u.log.Error("page", "path", r.URL.Path, "err", err)
	}
	v, _ := u.opts.Viewer(r)
	u.renderAs(w, r, status, "error", view{Title: http.StatusText(status), Viewer: v, UI: u, Error: err.Error()})
}

// navOf is the navigation entry a page belongs to.
func navOf(page string) string {
	switch page {
	case "list", "detail", "form", "conflict":
		return "types"
	case "plan":
		return "plans"
	}
	return page
}

// gqlError is one error of a GraphQL answer, with tana's code and field.
type gqlError struct {
	Message string
	Code    string
	Field   string
}

func (e *gqlError) Error() string { return e.Message }

// query runs q as the caller and decodes its data into out. The first
// error comes back as a *gqlError.
func (u *UI) query(ctx context.Context, q string, vars map[string]any, out any) error {
	res := u.opts.Query(ctx, q, vars)
	if len(res.Errors) > 0 {
		return asGQLError(res.Errors[0])
	}
	b, err := json.Marshal(res.Data)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func asGQLError(fe gqlerrors.FormattedError) *gqlError {
	e := &gqlError{Message: fe.Message}
	if fe.Extensions != nil {
		code, _ := fe.Extensions["code"].(string)
		e.Code = strings.ToLower(code) // as package schema spells them
		e.Field, _ = fe.Extensions["field"].(string)
	}
	return e
}

// statusOf maps an error of a query onto an HTTP status.
func statusOf(err error) int {
	var ge *gqlError
	code := schema.ErrorCode(err)
	if errors.As(err, &ge) {
		code = ge.Code
	}
	switch code {
	case schema.ENOTFOUND:
		return http.StatusNotFound
	case schema.EFORBIDDEN:
		return http.StatusForbidden
	case schema.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case schema.EINVALID, "bad_user_input", "graphql_validation_failed", "graphql_parse_failed":
		return http.StatusBadRequest
	case schema.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// flashCookie carries the message a redirect leaves for the next page:
// in a cookie, not the URL, so a link cannot put words on a tana page.
const flashCookie = "tana_flash"

// redirect answers a form post with 303 to path, with a short message.
func redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: "/", MaxAge: 60,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeFlash reads the message a redirect left, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	msg, err := url.QueryUnescape(c.Value)
	if err != nil || len(msg) > 1000 {
		return ""
	}
	return msg
}

// SafeNext is a local path to go to after logging in: anything else, a
// scheme, a host or a protocol-relative URL, goes to the dashboard.
func SafeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return "/"
	}
	// As http.Redirect will clean it: "/x/../\\evil" must not become "/\\evil".
	p := path.Clean("/" + u.Path)
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(p, "//") {
		return "/"
	}
	out := &url.URL{Path: p, RawQuery: u.RawQuery}
	return out.String()
}

var funcs = template.FuncMap{
	"asset": assets.Path,
	"ago":   ago,
	"value": showValue,
	"join":  strings.Join,
	"pct": func(f float64) string {
		return fmt.Sprintf("%.0f%%", f*100)
	},
	"eq1": func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	"q":   url.QueryEscape,
	"p":   url.PathEscape,
	"add": func(a, b int) int { return a + b },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"list": func(xs ...string) []string { return xs },
}

// Reconciles says whether drift, plans and runs are served.
func (u *UI) Reconciles() bool { return u.opts.Reconcile }

// Allocates says whether pools are served.
func (u *UI) Allocates() bool { return u.opts.Allocate }

// ago says how long ago an RFC 3339 time was, for people; the exact time
// stays in the element's title.
func ago(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < 0:
		return t.Format("2006-01-02 15:04")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Format("2006-01-02")
}

// showValue prints an attribute value: lists joined, null as "—".
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = showValue(e)
		}
		return strings.Join(parts, ", ")
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// jsonRaw keeps one field of an answer to decode later.
type jsonRaw []byte

func (j *jsonRaw) UnmarshalJSON(b []byte) error { *j = append((*j)[:0], b...); return nil }

func (j jsonRaw) decode(v any) error {
	if len(j) == 0 {
		return nil
	}
	return json.Unmarshal(j, v)
}
