package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/server/web"
	"github.com/tana-cmdb/tana/server/web/assets"
)

// page is a fetched page, parsed.
type page struct {
	status int
	loc    string
	header http.Header
	doc    *goquery.Document
	body   string
}

// noRedirect keeps redirects for the test to see.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch asks for a page as persona (a bearer token, or none) and checks
// what every page must be: no URL outside the server, the strict CSP.
func fetch(t *testing.T, c *http.Client, method, url, token string, form url.Values) page {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	p := page{status: resp.StatusCode, loc: resp.Header.Get("Location"), header: resp.Header, body: buf.String()}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if refs := assets.ExternalRefs(buf.Bytes()); len(refs) > 0 {
			t.Errorf("%s %s links outside the server: %v", method, url, refs)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != web.CSP && resp.StatusCode/100 != 3 {
			t.Errorf("%s %s: CSP %q", method, url, csp)
		}
		p.doc, err = goquery.NewDocumentFromReader(strings.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		// Without an icon link a browser asks for /favicon.ico: a 404 in
		// its console on every page.
		if resp.StatusCode/100 != 3 && p.doc.Find(`head link[rel="icon"]`).Length() != 1 {
			t.Errorf("%s %s: no icon link in the head", method, url)
		}
	}
	return p
}

// flash is the message a redirect left for the next page.
func (p page) flash() string {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "tana_flash" {
			v, _ := url.QueryUnescape(c.Value)
			return v
		}
	}
	return ""
}

// texts are the trimmed texts of what sel selects.
func (p page) texts(sel string) []string {
	var out []string
	if p.doc == nil {
		return nil
	}
	p.doc.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

// web checks the pages obey the same grants as the API: lists, details,
// hidden attributes, edit links, drift and admin pages, per persona.
func (m *matrix) web(t *testing.T) {
	ctx := context.Background()
	id := func(name string) string {
		e, err := m.s.GetByName(ctx, "vm", name)
		if err != nil {
			t.Fatal(err)
		}
		return idString(e.ID)
	}
	get := func(persona, path string) page {
		t.Helper()
		return fetch(t, noRedirect, http.MethodGet, m.ts.url+path, m.tokens[persona], nil)
	}
	listed := map[string]string{
		"reader": "db01 mail01 web01 web02", "alice": "db01 mail01 web01 web02", "bob": "db01",
		"writer": "db01 mail01 web01 web02", "admin": "db01 mail01 web01 web02",
	}
	for persona, want := range listed {
		p := get(persona, "/t/vm")
		if got := strings.Join(p.texts("#results tbody td:first-child a"), " "); p.status != 200 || got != want {
			t.Errorf("%s: /t/vm lists %q (%d), want %q", persona, got, p.status, want)
		}
		newLink := p.doc.Find(`a[href="/t/vm/new"]`).Length() > 0
		if wantNew := persona != "reader"; newLink != wantNew {
			t.Errorf("%s: a New vm link: %v, want %v", persona, newLink, wantNew)
		}
	}
	if p := get("anonymous", "/t/vm"); p.status != http.StatusSeeOther || p.loc != "/login?next=%2Ft%2Fvm" {
		t.Errorf("anonymous: %d %q, want the login page", p.status, p.loc)
	}
	// alice reads db01 but not its annotation; bob does not see web01 at all.
	db01 := get("alice", "/e/"+id("db01"))
	if db01.status != 200 || strings.Contains(db01.body, "db notes") || !strings.Contains(db01.body, "owner") {
		t.Errorf("alice sees db01: %d, with its notes: %v", db01.status, strings.Contains(db01.body, "db notes"))
	}
	if p := get("admin", "/e/"+id("db01")); !strings.Contains(p.body, "db notes") {
		t.Errorf("admin does not see db01's notes")
	}
	if p := get("bob", "/e/"+id("web01")); p.status != http.StatusNotFound || strings.Contains(p.body, "web notes") {
		t.Errorf("bob asks for web01: %d", p.status)
	}
	if p := get("bob", "/t/vm/web01"); p.status != http.StatusNotFound {
		t.Errorf("bob asks for web01 by name: %d", p.status)
	}
	// Drift: bob sees only his VMs' items.
	if p := get("bob", "/drift"); p.status != 200 || strings.Contains(p.body, "web01") || strings.Contains(p.body, "ghost") || !strings.Contains(p.body, "db01") {
		t.Errorf("bob's drift page (%d):\n%s", p.status, strings.Join(p.texts("main tbody tr"), "\n"))
	}
	// Admin pages.
	for _, persona := range []string{"reader", "alice", "writer"} {
		for _, path := range []string{"/tokens", "/permissions", "/events"} {
			if p := get(persona, path); p.status != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", persona, path, p.status)
			}
		}
	}
	if p := get("admin", "/permissions"); p.status != 200 || !slices.ContainsFunc(p.texts("main td"), func(s string) bool { return s == "write team:web on vm where owner=$team" }) {
		t.Errorf("admin's permissions page (%d): %v", p.status, p.texts("main td"))
	}
	// A reader gets no edit form to send, and a form sent anyway is refused.
	if p := get("reader", "/e/"+id("web01")); p.doc.Find(`a[href$="/edit"]`).Length() != 0 {
		t.Error("reader gets an Edit link")
	}
	p := fetch(t, noRedirect, http.MethodPost, m.ts.url+"/e/"+id("web02"), m.tokens["bob"], url.Values{"version": {"1"}, "name": {"web02"}, "attr.cpus": {"16"}})
	if p.status != http.StatusNotFound {
		t.Errorf("bob edits web02: %d, want 404\n%s", p.status, p.texts(".notice"))
	}
}

// newJar is a client that keeps cookies and shows redirects.
func newJar(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
}

// TestWebPages drives every page over real HTTP as a person would: log
// in with a form, create with a field error, edit into a conflict, keep
// what the editor cannot see, delete and restore, plan and apply,
// allocate twice with one key; on both stores.
func TestWebPages(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		m := setUpMatrix(t, s)
		base, admin := m.ts.url, m.tokens["admin"]
		get := func(path string) page {
			t.Helper()
			return fetch(t, noRedirect, http.MethodGet, base+path, admin, nil)
		}
		post := func(path string, form url.Values) page {
			t.Helper()
			return fetch(t, noRedirect, http.MethodPost, base+path, admin, form)
		}
		web01, _ := s.GetByName(context.Background(), "vm", "web01")
		for _, path := range []string{"/", "/types", "/t/vm", "/t/vm?q=web&sort=-name", "/t/vm/new", "/e/" + idString(web01.ID),
			"/e/" + idString(web01.ID) + "/edit", "/drift", "/drift?kind=changed", "/plans", "/runs", "/allocate", "/tokens", "/permissions", "/events", "/events?status=failed", "/login"} {
			if p := get(path); p.status != 200 || p.doc.Find("h1").Length() != 1 {
				t.Errorf("GET %s: %d, %d h1", path, p.status, p.doc.Find("h1").Length())
			}
		}
		for path, want := range map[string]int{"/t/nosuch": 404, "/e/999999": 404, "/e/x": 404, "/t/vm?sort=colour": 400, "/t/vm?a=cpus&v=many": 400, "/nowhere": 404, "/plans/nosuch": 404} {
			if p := get(path); p.status != want || p.doc.Find(".notice.error").Length() != 1 {
				t.Errorf("GET %s: %d, want %d with the error shown", path, p.status, want)
			}
		}
		// Pages are compressed for a client that takes gzip.
		req, _ := http.NewRequest(http.MethodGet, base+"/t/vm", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("a page asked for gzipped: %q %v", resp.Header.Get("Content-Encoding"), err)
		} else if b, _ := io.ReadAll(zr); !strings.Contains(string(b), "web01") {
			t.Errorf("the gzipped page reads %q", b)
		}
		resp.Body.Close()
		// Keyset paging: the next page's link carries the cursor and the search.
		for i := range 60 {
			if _, err := s.Create(context.Background(), inventorytest.Meta("t"), "vm", fmt.Sprintf("bulk%03d", i), map[string]any{"owner": "web"}); err != nil {
				t.Fatal(err)
			}
		}
		p := get("/t/vm?q=bulk")
		next, _ := p.doc.Find(`a[rel="next"]`).Attr("href")
		if got := p.texts("#results tbody td:first-child a"); len(got) != 50 || got[0] != "bulk000" || !strings.Contains(next, "q=bulk") {
			t.Fatalf("first page: %d rows from %v, next %q", len(got), got[:1], next)
		}
		if got := get(next).texts("#results tbody td:first-child a"); len(got) != 10 || got[0] != "bulk050" {
			t.Errorf("second page: %v", got)
		}

		// Create: a bad number is caught on its input; a bad address by the store, on its input.
		p = post("/t/vm", url.Values{"name": {"web03"}, "attr.cpus": {"many"}, "attr.owner": {"web"}})
		if p.status != 400 || p.doc.Find(`#f-cpus[aria-invalid="true"]`).Length() != 1 || !strings.Contains(p.doc.Find("#e-cpus").Text(), "not a whole number") {
			t.Errorf("bad cpus: %d %v", p.status, p.texts(".field-error"))
		}
		if v, _ := p.doc.Find("#f-owner").Attr("value"); v != "web" {
			t.Errorf("the form lost what was typed: owner %q", v)
		}
		p = post("/t/vm", url.Values{"name": {"web03"}, "attr.ip": {"192.0.2.300"}, "attr.owner": {"web"}})
		if p.status != 400 || p.doc.Find(`#f-ip[aria-invalid="true"]`).Length() != 1 {
			t.Errorf("bad ip: %d %v %v", p.status, p.texts(".field-error"), p.texts(".notice"))
		}
		p = post("/t/vm", url.Values{"name": {"web03"}, "attr.cpus": {"2"}, "attr.owner": {"web"}, "attr.tags": {"a\nb"}, "reason": {"ticket 7"}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/e/") {
			t.Fatalf("create: %d %q %v", p.status, p.loc, p.texts(".notice"))
		}
		web03 := strings.TrimPrefix(p.loc, "/e/")
		if p.flash() != "created vm web03" {
			t.Errorf("create's message: %q", p.flash())
		}
		e, err := s.GetByName(context.Background(), "vm", "web03")
		if err != nil || fmt.Sprint(e.Attrs["tags"]) != "[a b]" || e.Attrs["cpus"] != int64(2) {
			t.Fatalf("created: %v %v", e, err)
		}
		detail := get("/e/" + web03)
		if !strings.Contains(detail.body, "ticket 7") || !slices.Contains(detail.texts("main table th[scope=row]"), "cpus") {
			t.Errorf("detail lacks the history's reason or the attributes")
		}

		// Edit twice from the same form: the second is a conflict that
		// shows both; saving again keeps the other edit elsewhere.
		form := formOf(t, get("/e/"+web03+"/edit"), "main form")
		form.Set("attr.cpus", "4")
		if p := post("/e/"+web03, form); p.status != http.StatusSeeOther {
			t.Fatalf("edit: %d %v", p.status, p.texts(".notice"))
		}
		if _, err := s.Update(context.Background(), inventorytest.Meta("bob"), mustID(t, web03), inventory.Patch{Version: 2, Attrs: map[string]any{"role": "db"}}); err != nil {
			t.Fatal(err)
		}
		form.Set("attr.cpus", "6")
		form.Set("attr.tags", "a\r\nb\r\n") // a browser's line ends: not a change
		p = post("/e/"+web03, form)
		if p.status != http.StatusConflict || p.doc.Find(".conflict").Length() != 1 {
			t.Fatalf("stale edit: %d %v", p.status, p.texts(".notice"))
		}
		if row := p.texts(".conflict tbody tr"); len(row) != 1 || !strings.Contains(row[0], "cpus") || !strings.Contains(row[0], "6") || !strings.Contains(row[0], "4") {
			t.Errorf("conflict rows: %q", row)
		}
		again := formOf(t, p, "main form")
		if again.Get("version") != "3" || again.Get("attr.role") != "db" || again.Get("attr.cpus") != "6" {
			t.Errorf("the conflict form: version %q, role %q, cpus %q; want 3, db (theirs), 6 (yours)", again.Get("version"), again.Get("attr.role"), again.Get("attr.cpus"))
		}
		if e, _ := s.GetByName(context.Background(), "vm", "web03"); e.Attrs["cpus"] != int64(4) {
			t.Errorf("the stale edit was written: cpus %v", e.Attrs["cpus"])
		}
		if p := post("/e/"+web03, again); p.status != http.StatusSeeOther {
			t.Fatalf("save after the conflict: %d %v", p.status, p.texts(".notice"))
		}
		if e, _ := s.GetByName(context.Background(), "vm", "web03"); e.Attrs["cpus"] != int64(6) || e.Attrs["role"] != "db" || fmt.Sprint(e.Attrs["tags"]) != "[a b]" {
			t.Errorf("after saving over the conflict: %v", e.Attrs)
		}

		// A typo in a number is an error on its input, not a blank.
		form = formOf(t, get("/e/"+web03+"/edit"), "main form")
		form.Set("attr.cpus", "4 cores")
		if p := post("/e/"+web03, form); p.status != 400 || p.doc.Find(`#f-cpus[aria-invalid="true"]`).Length() != 1 {
			t.Errorf("cpus '4 cores': %d", p.status)
		}

		// alice cannot see web01's annotation: saving her form keeps it.
		w1, _ := s.GetByName(context.Background(), "vm", "web01")
		aliceForm := formOf(t, fetch(t, noRedirect, http.MethodGet, base+"/e/"+idString(w1.ID)+"/edit", m.tokens["alice"], nil), "main form")
		aliceForm.Set("attr.cpus", "3")
		p = fetch(t, noRedirect, http.MethodPost, base+"/e/"+idString(w1.ID), m.tokens["alice"], aliceForm)
		if p.status != http.StatusSeeOther {
			t.Fatalf("alice edits web01: %d %v", p.status, p.texts(".notice"))
		}
		if e, _ := s.GetByName(context.Background(), "vm", "web01"); e.Attrs["annotation"] != "web notes" || e.Attrs["cpus"] != int64(3) {
			t.Errorf("after alice's edit: %v", e.Attrs)
		}

		// Delete and restore.
		if p := post("/e/"+web03+"/delete", url.Values{"version": {"4"}, "reason": {"gone"}}); p.status != http.StatusSeeOther {
			t.Fatalf("delete: %d %v", p.status, p.texts(".notice"))
		}
		if p := get("/e/" + web03); !strings.Contains(p.body, "Deleted") || p.doc.Find(`form[action$="/restore"]`).Length() != 1 {
			t.Errorf("a deleted entry's page offers no restore")
		}
		if p := post("/e/"+web03+"/restore", url.Values{"reason": {"back"}}); p.status != http.StatusSeeOther {
			t.Fatalf("restore: %d %v", p.status, p.texts(".notice"))
		}

		// Plan the changed VMs, review, apply.
		p = post("/plans", url.Values{"kind": {"changed"}, "type": {"vm"}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/plans/") {
			t.Fatalf("plan: %d %q %v", p.status, p.loc, p.texts(".notice"))
		}
		planPath := p.loc
		p = get(planPath)
		if fixes := p.texts("main tbody tr"); p.status != 200 || len(fixes) == 0 || p.doc.Find(`form[action$="/apply"] button`).Length() != 1 {
			t.Fatalf("plan page: %d %q", p.status, fixes)
		}
		if p := post(planPath+"/apply", url.Values{}); p.status != http.StatusSeeOther || !strings.Contains(p.flash(), "applied") {
			t.Fatalf("apply: %d %q %v", p.status, p.flash(), p.texts(".notice"))
		}
		if p := get(planPath); !strings.Contains(p.doc.Find("main p").First().Text(), "applied") || p.doc.Find(`form[action$="/apply"]`).Length() != 0 {
			t.Errorf("an applied plan: %q", p.doc.Find("main p").First().Text())
		}

		// A name pool has no end: neither 0 free nor full.
		if _, err := s.Create(context.Background(), inventorytest.Meta("t"), "name_pool", "svc", map[string]any{"template": "svc{seq:02}"}); err != nil {
			t.Fatal(err)
		}
		pools := map[string][]string{}
		get("/").doc.Find(`#pools-h ~ table tbody tr`).Each(func(_ int, r *goquery.Selection) {
			var cells []string
			r.Find("td").Each(func(_ int, c *goquery.Selection) { cells = append(cells, strings.TrimSpace(c.Text())) })
			pools[cells[0]] = cells
		})
		if got := pools["svc"]; len(got) < 3 || got[2] != "no end" || pools["lab"][2] != "254" {
			t.Errorf("dashboard's pools: %q", pools)
		}
		if got := get("/allocate").doc.Find(`#name_pool option[value="svc"]`).Text(); got != "svc (no end)" {
			t.Errorf("allocate offers the name pool as %q", got)
		}

		// Allocate an address for web03 twice with one key: one grant.
		form = url.Values{"ip_pool": {"lab"}, "type": {"vm"}, "name": {"web03"}, "key": {"k1"}}
		first := post("/allocate", form)
		second := post("/allocate", form)
		got, want := first.doc.Find("#granted-h + ul strong").Text(), second.doc.Find("#granted-h + ul strong").Text()
		if first.status != 200 || got == "" || got != want || !strings.Contains(second.body, "granted before under this key") {
			t.Errorf("allocate: %d %q then %q %v", first.status, got, want, first.texts(".notice"))
		}
		if p := post("/allocate", url.Values{"type": {"vm"}}); p.status != 400 || !strings.Contains(p.body, "choose a name pool") {
			t.Errorf("allocate without a pool: %d", p.status)
		}

		// Tokens: made once, shown once, revoked.
		p = post("/tokens", url.Values{"name": {"ci"}, "role": {"reader"}})
		secret, _ := p.doc.Find("#secret").Attr("value")
		if p.status != 200 || !strings.HasPrefix(secret, "tana_") {
			t.Fatalf("token: %d %q", p.status, p.texts(".notice"))
		}
		if p := get("/tokens"); strings.Contains(p.body, secret) {
			t.Error("the token list shows a secret")
		}
		if p := post("/tokens/ci/revoke", url.Values{}); p.status != http.StatusSeeOther {
			t.Errorf("revoke: %d", p.status)
		}
		// The delivery log lists what the changes above emitted.
		if _, err := s.RouteEvents(context.Background(), 1000, func(evs []inventory.Event) []inventory.Route {
			out := make([]inventory.Route, len(evs))
			for i, e := range evs {
				out[i] = inventory.Route{EventID: e.ID, Subscription: "hook", Subject: e.Subject}
			}
			return out
		}); err != nil {
			t.Fatal(err)
		}
		p = get("/events?subscription=hook")
		ids := p.texts("#deliveries tbody td:first-child")
		if len(ids) == 0 || !strings.Contains(p.body, "entry.created") {
			t.Fatalf("events page: %d %v", p.status, p.texts(".notice"))
		}
		if p := post("/events/"+ids[0]+"/redeliver", url.Values{}); p.status != http.StatusSeeOther || !strings.Contains(p.flash(), "sent again") {
			t.Errorf("redeliver: %d %q %v", p.status, p.flash(), p.texts(".notice"))
		}
		// A grant with a bad subject is refused naming it.
		if p := post("/permissions", url.Values{"level": {"read"}, "subject": {"team:nope"}, "type": {"vm"}}); p.status != 400 || !strings.Contains(p.body, "no team named") {
			t.Errorf("bad grant: %d %v", p.status, p.texts(".notice"))
		}
	}, appType())
}

// TestWebLogin: the login form, a wrong password shown on the form, the
// session cookie, CSRF on every change, a safe next, logout.
func TestWebLogin(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	mustLocalUser(t, s, "carol", "writer", "correct horse battery")
	ts := start(t, s)
	c := newJar(t)
	if p := fetch(t, c, http.MethodGet, ts.url+"/types", "", nil); p.status != http.StatusSeeOther || p.loc != "/login?next=%2Ftypes" {
		t.Fatalf("not logged in: %d %q", p.status, p.loc)
	}
	p := fetch(t, c, http.MethodGet, ts.url+"/login?next=%2Ftypes", "", nil)
	if v, _ := p.doc.Find(`input[name="next"]`).Attr("value"); v != "/types" || p.doc.Find(`label[for="password"]`).Length() != 1 {
		t.Fatalf("login page: next %q", v)
	}
	p = fetch(t, c, http.MethodPost, ts.url+"/login", "", url.Values{"user": {"carol"}, "password": {"wrong"}, "next": {"/types"}})
	if p.status != http.StatusUnauthorized || p.doc.Find("#login-error").Length() != 1 {
		t.Fatalf("wrong password: %d %v", p.status, p.texts(".notice"))
	}
	for next, want := range map[string]string{"//evil.example/": "/", "https://evil.example/": "/", "/\\evil": "/", "/types": "/types",
		"/x/../\\evil.example": "/", "/x/../%5Cevil.example": "/%5Cevil.example", "/\t/evil.example": "/", "/%2F%2Fevil.example": "/evil.example",
		"/t/vm?q=web&sort=-name": "/t/vm?q=web&sort=-name", "javascript:alert(1)": "/", "/a/../../b": "/b"} {
		if got := web.SafeNext(next); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", next, got, want)
		}
	}
	p = fetch(t, c, http.MethodPost, ts.url+"/login", "", url.Values{"user": {"carol"}, "password": {"correct horse battery"}, "next": {"/types"}})
	if p.status != http.StatusSeeOther || p.loc != "/types" {
		t.Fatalf("login: %d %q %s", p.status, p.loc, p.body)
	}
	p = fetch(t, c, http.MethodGet, ts.url+"/t/vm/new", "", nil)
	csrf, _ := p.doc.Find(`input[name="csrf_token"]`).Attr("value")
	if p.status != 200 || csrf == "" || !strings.Contains(p.doc.Find("header").Text(), "carol") {
		t.Fatalf("logged in: %d, csrf %q", p.status, csrf)
	}
	form := url.Values{"name": {"vm1"}}
	if p := fetch(t, c, http.MethodPost, ts.url+"/t/vm", "", form); p.status != http.StatusForbidden || !strings.Contains(p.doc.Find(".notice.error").Text(), "nothing was changed") {
		t.Errorf("a form without the CSRF token: %d, want 403 and a page that says why", p.status)
	}
	form.Set("csrf_token", csrf)
	p = fetch(t, c, http.MethodPost, ts.url+"/t/vm", "", form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("a form with the CSRF token: %d %v", p.status, p.texts(".notice"))
	}
	// The message is the next page's, once; a link cannot put one there.
	if got := fetch(t, c, http.MethodGet, ts.url+p.loc, "", nil).texts(`.notice[role="status"]`); len(got) != 1 || got[0] != "created vm vm1" {
		t.Errorf("after creating: %q", got)
	}
	if got := fetch(t, c, http.MethodGet, ts.url+p.loc+"?flash=Call+555-0100+to+verify+your+account", "", nil).texts(".notice"); len(got) != 0 {
		t.Errorf("a link put words on the page: %q", got)
	}
	if p := fetch(t, c, http.MethodPost, ts.url+"/logout", "", url.Values{"csrf_token": {csrf}}); p.status != http.StatusSeeOther || p.loc != "/login" {
		t.Errorf("logout: %d %q", p.status, p.loc)
	}
	if p := fetch(t, c, http.MethodGet, ts.url+"/types", "", nil); p.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", p.status)
	}
	if p := fetch(t, c, http.MethodPost, ts.url+"/t/vm", "", form); p.status != http.StatusUnauthorized || p.doc == nil || !strings.Contains(p.body, "log in again") {
		t.Errorf("a form sent after logout: %d %s", p.status, p.header.Get("Content-Type"))
	}
	// Guessing: after ten wrong passwords the login page says to wait.
	for range access.MaxFailedPerUser {
		fetch(t, c, http.MethodPost, ts.url+"/login", "", url.Values{"user": {"carol"}, "password": {"guess"}, "next": {"/"}})
	}
	p = fetch(t, c, http.MethodPost, ts.url+"/login", "", url.Values{"user": {"carol"}, "password": {"correct horse battery"}, "next": {"/"}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != "900" || !strings.Contains(p.doc.Find("#login-error").Text(), "too many failed logins") {
		t.Errorf("throttled login: %d %q %v", p.status, p.header.Get("Retry-After"), p.texts(".notice"))
	}
}

// formOf is what a browser would send from the form sel of a page: every
// named input, select and textarea with its value.
func formOf(t *testing.T, p page, sel string) url.Values {
	t.Helper()
	f := p.doc.Find(sel).First()
	if f.Length() == 0 {
		t.Fatalf("no %s on the page (%d)", sel, p.status)
	}
	out := url.Values{}
	f.Find("input[name], textarea[name], select[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		switch goquery.NodeName(s) {
		case "textarea":
			out.Set(name, strings.TrimPrefix(s.Text(), "\n"))
		case "select":
			v, _ := s.Find("option[selected]").Attr("value")
			out.Set(name, v)
		default:
			if typ, _ := s.Attr("type"); typ == "checkbox" {
				if _, on := s.Attr("checked"); !on {
					return
				}
			}
			v, _ := s.Attr("value")
			out.Set(name, v)
		}
	})
	return out
}

// mustID parses an entry id of a page's URL.
func mustID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebSmallPages: a server whose largest page is small still serves
// the dashboard and the drift page (they ask for no more than it allows).
func TestWebSmallPages(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s, func(o *Options) {
		o.Limits.MaxPageSize = 100
		o.Reconcile = reconcile.New(s, reconcile.Options{})
	})
	for _, path := range []string{"/", "/drift"} {
		if p := fetch(t, noRedirect, http.MethodGet, ts.url+path, "", nil); p.status != 200 {
			t.Errorf("%s with max_page_size 100: %d %v", path, p.status, p.texts(".notice"))
		}
	}
}
