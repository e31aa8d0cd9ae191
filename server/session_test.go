package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

var cliBy = inventory.By{Actor: "cli"}

func mustLocalUser(t *testing.T, s *inventory.Store, name, role, password string, teams ...string) {
	t.Helper()
	ctx := context.Background()
	u, err := access.NewLocalUser(name, "", role, password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, cliBy, u); err != nil {
		t.Fatal(err)
	}
	for _, team := range teams {
		if _, err := s.Team(ctx, team); err != nil {
			if _, err := s.CreateTeam(ctx, cliBy, inventory.Team{Name: team}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddTeamMember(ctx, cliBy, team, name); err != nil {
			t.Fatal(err)
		}
	}
}

// httpCall is one request of a session test.
type httpCall struct {
	method, path, contentType, body string
	cookie, csrf, token             string
	header                          map[string]string
}

type httpAnswer struct {
	status int
	body   string
	resp   *http.Response
}

func (ts *testServer) call(t *testing.T, c httpCall) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(c.method, ts.url+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpAnswer{resp.StatusCode, string(b), resp}
}

func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// loginAs logs in and returns the session cookie's value and the CSRF token.
func (ts *testServer) loginAs(t *testing.T, user, password string) (string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "password": password})
	a := ts.call(t, httpCall{method: "POST", path: "/login", contentType: "application/json", body: string(body)})
	if a.status != 200 {
		t.Fatalf("login %s: %d %s", user, a.status, a.body)
	}
	var ans loginAnswer
	if err := json.Unmarshal([]byte(a.body), &ans); err != nil {
		t.Fatal(err)
	}
	c := sessionCookieOf(t, a.resp)
	if c == nil || ans.CSRFToken == "" {
		t.Fatalf("login gave no cookie or CSRF token: %s", a.body)
	}
	return c.Value, ans.CSRFToken
}

func gqlBody(q string) string {
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

// TestLogin covers POST /login over real HTTP: the cookie's attributes,
// the CSRF token, and what a wrong password, a disabled user and bad
// bodies get.
func TestLogin(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		mustLocalUser(t, s, "alice", "writer", "wonderland", "ops")
		mustLocalUser(t, s, "dave", "reader", "dave-secret")
		if _, err := s.ChangeUser(ctx, cliBy, "dave", inventory.UserChange{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		ts := start(t, s)
		a := ts.call(t, httpCall{method: "POST", path: "/login", contentType: "application/json", body: `{"user":"alice","password":"wonderland"}`})
		var ans loginAnswer
		if err := json.Unmarshal([]byte(a.body), &ans); a.status != 200 || err != nil || ans.User != "alice" || ans.Role != "writer" || !slices.Equal(ans.Teams, []string{"ops"}) || len(ans.CSRFToken) < 40 {
			t.Fatalf("login: %d %s", a.status, a.body)
		}
		c := sessionCookieOf(t, a.resp)
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || len(c.Value) < 40 {
			t.Fatalf("cookie: %+v", c)
		}
		if a.resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("a login answer may be cached")
		}
		form := url.Values{"user": {"alice"}, "password": {"wonderland"}}.Encode()
		if a := ts.call(t, httpCall{method: "POST", path: "/login", contentType: "application/x-www-form-urlencoded", body: form}); a.status != 200 || sessionCookieOf(t, a.resp) == nil {
			t.Fatalf("form login: %d %s", a.status, a.body)
		}
		cases := []struct {
			name, contentType, body string
			status                  int
			message                 string
		}{
			{"wrong password", "application/json", `{"user":"alice","password":"Wonderland"}`, 401, "wrong user name or password"},
			{"unknown user", "application/json", `{"user":"mallory","password":"wonderland"}`, 401, "wrong user name or password"},
			{"disabled user", "application/json", `{"user":"dave","password":"dave-secret"}`, 403, "disabled"},
			{"no password", "application/json", `{"user":"alice"}`, 400, `"field":"password"`},
			{"unknown field", "application/json", `{"user":"alice","password":"x","admin":true}`, 400, "unknown field"},
			{"two values", "application/json", `{"user":"alice","password":"x"} {}`, 400, "more than one value"},
			{"text/plain", "text/plain", `{"user":"alice","password":"wonderland"}`, 400, "Content-Type"},
			{"form field twice", "application/x-www-form-urlencoded", "user=alice&user=bob&password=x", 400, "given 2 times"},
			{"a megabyte", "application/json", `{"user":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "at most"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := ts.call(t, httpCall{method: "POST", path: "/login", contentType: c.contentType, body: c.body})
				if a.status != c.status || !strings.Contains(a.body, c.message) || sessionCookieOf(t, a.resp) != nil {
					t.Fatalf("got %d %s, want %d %q", a.status, a.body, c.status, c.message)
				}
			})
		}
		rs, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditLogin})
		var got []string
		for _, r := range rs {
			got = append(got, r.Actor+":"+r.Detail+":"+r.RemoteAddr)
		}
		want := []string{"dave:disabled:127.0.0.1", "mallory:unknown user:127.0.0.1", "alice:wrong password:127.0.0.1", "alice:source=local:127.0.0.1", "alice:source=local:127.0.0.1"}
		if !slices.Equal(got, want) {
			t.Fatalf("audit:\n%v\nwant\n%v", got, want)
		}
		// Another site's page cannot log a browser in (login CSRF).
		if a := ts.call(t, httpCall{method: "POST", path: "/login", contentType: "application/x-www-form-urlencoded", body: form,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}); a.status != 403 {
			t.Fatalf("cross-site login: %d %s", a.status, a.body)
		}
	})
}

// TestSessionRequests uses a session on the API: reads with the cookie
// alone, changes with the CSRF token only; idle expiry; logout.
func TestSessionRequests(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			clock := inventorytest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			mustLocalUser(t, s, "alice", "writer", "wonderland")
			mustLocalUser(t, s, "nora", "", "no-role-at-all")
			auth, err := access.New(access.Options{Store: s, Sessions: access.SessionOptions{Idle: 30 * time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			ts := start(t, s, func(o *Options) { o.Auth = auth })
			cookie, csrf := ts.loginAs(t, "alice", "wonderland")
			read, write := gqlBody(`{ vms { totalCount } }`), gqlBody(`mutation { createVm(name: "web01") { name } }`)
			cases := []struct {
				name   string
				c      httpCall
				status int
				want   string
			}{
				{"no credentials", httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: read}, 401, "UNAUTHORIZED"},
				{"GET with the cookie", httpCall{method: "GET", path: "/graphql?query=" + url.QueryEscape(`{ vms { totalCount } }`), cookie: cookie}, 200, "totalCount"},
				{"POST without CSRF", httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: write, cookie: cookie}, 403, "X-CSRF-Token"},
				{"POST with a wrong CSRF", httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: write, cookie: cookie, csrf: csrf + "x"}, 403, "wrong CSRF token"},
				{"POST with another session's CSRF", httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: write, cookie: cookie, csrf: "AAAA"}, 403, "wrong CSRF token"},
				{"mutation with CSRF", httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: write, cookie: cookie, csrf: csrf}, 200, `"web01"`},
				{"forged cookie", httpCall{method: "GET", path: "/graphql?query=" + url.QueryEscape(`{ vms { totalCount } }`), cookie: "forged"}, 401, "unknown session"},
				{"who am I", httpCall{method: "GET", path: "/session", cookie: cookie}, 200, `"csrf_token":"` + csrf + `"`},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					a := ts.call(t, c.c)
					if a.status != c.status || !strings.Contains(a.body, c.want) {
						t.Fatalf("got %d %s, want %d %q", a.status, a.body, c.status, c.want)
					}
				})
			}
			// The write is in the history under alice's name.
			e, err := s.GetByName(context.Background(), "vm", "web01")
			if err != nil {
				t.Fatal(err)
			}
			if h, err := s.History(context.Background(), e.ID); err != nil || len(h) != 1 || h[0].Actor != "alice" {
				t.Fatalf("history: %+v %v", h, err)
			}
			// A user with no built-in role writes nothing (until grants,
			// issue 22's other half, give it more).
			nc, ncsrf := ts.loginAs(t, "nora", "no-role-at-all")
			if a := ts.call(t, httpCall{method: "POST", path: "/graphql", contentType: "application/json", body: write, cookie: nc, csrf: ncsrf}); a.status != 403 {
				t.Fatalf("no role writes: %d %s", a.status, a.body)
			}
			// 29 minutes idle: still good (and moved on); 30 more: gone.
			clock.Advance(29 * time.Minute)
			if a := ts.call(t, httpCall{method: "GET", path: "/session", cookie: cookie}); a.status != 200 {
				t.Fatalf("after 29 idle minutes: %d %s", a.status, a.body)
			}
			clock.Advance(30 * time.Minute)
			if a := ts.call(t, httpCall{method: "GET", path: "/session", cookie: cookie}); a.status != 401 || !strings.Contains(a.body, "session idle") {
				t.Fatalf("after 30 idle minutes: %d %s", a.status, a.body)
			}
			// Logout needs the CSRF token, ends the session, clears the cookie.
			cookie, csrf = ts.loginAs(t, "alice", "wonderland")
			if a := ts.call(t, httpCall{method: "POST", path: "/logout", cookie: cookie}); a.status != 403 {
				t.Fatalf("logout without CSRF: %d %s", a.status, a.body)
			}
			a := ts.call(t, httpCall{method: "POST", path: "/logout", cookie: cookie, csrf: csrf})
			if c := sessionCookieOf(t, a.resp); a.status != 200 || c == nil || c.MaxAge >= 0 || c.Value != "" {
				t.Fatalf("logout: %d %s %+v", a.status, a.body, c)
			}
			if a := ts.call(t, httpCall{method: "GET", path: "/session", cookie: cookie}); a.status != 401 || !strings.Contains(a.body, "session ended") {
				t.Fatalf("after logout: %d %s", a.status, a.body)
			}
			// Logging out of an ended session just clears the cookie.
			if a := ts.call(t, httpCall{method: "POST", path: "/logout", cookie: cookie}); a.status != 200 {
				t.Fatalf("logout twice: %d %s", a.status, a.body)
			}
			if rs, _ := s.Audits(context.Background(), inventory.AuditFilter{Action: inventory.AuditLogout}); len(rs) != 1 || rs[0].Actor != "alice" || rs[0].RemoteAddr != "127.0.0.1" {
				t.Fatalf("logout audit: %+v", rs)
			}
		})
	}
}

// Over TLS, and when configured behind a TLS proxy, the cookie is Secure.
func TestSecureCookie(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	mustLocalUser(t, s, "alice", "reader", "wonderland")
	for _, c := range []struct {
		name   string
		tls    bool
		secure bool
	}{{"TLS", true, false}, {"behind a proxy", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			auth, err := access.New(access.Options{Store: s, Sessions: access.SessionOptions{SecureCookie: c.secure}})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := New(Options{Store: s, Auth: auth})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewUnstartedServer(srv.Handler())
			client := http.DefaultClient
			if c.tls {
				hs.StartTLS()
				client = hs.Client()
				client.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12
			} else {
				hs.Start()
			}
			defer hs.Close()
			resp, err := client.Post(hs.URL+"/login", "application/json", bytes.NewReader([]byte(`{"user":"alice","password":"wonderland"}`)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ck := sessionCookieOf(t, resp); resp.StatusCode != 200 || ck == nil || !ck.Secure {
				t.Fatalf("%d %+v", resp.StatusCode, ck)
			}
		})
	}
}

// A store with users but no tokens is no longer open: before users, the
// server fell open whenever no token existed.
func TestUsersCloseTheOpenServer(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s)
	if r := ts.do(t, "", `{ vms { totalCount } }`, nil); r.Status != 200 {
		t.Fatalf("open: %d", r.Status)
	}
	mustLocalUser(t, s, "alice", "reader", "wonderland")
	if r := ts.do(t, "", `{ vms { totalCount } }`, nil); r.Status != 401 || !strings.Contains(r.Errors[0].Message, "POST /login") {
		t.Fatalf("with a user: %d %+v", r.Status, r.Errors)
	}
}

// Tokens of users and teams authenticate as their owner; a disabled
// user's token is refused; GET /session shows the principal.
func TestOwnedTokens(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		mustLocalUser(t, s, "alice", "writer", "wonderland", "ops", "dev")
		mine, _, err := s.CreateTokenFor(ctx, cliBy, inventory.TokenSpec{Name: "alice-cli", User: "alice", Role: "reader"})
		if err != nil {
			t.Fatal(err)
		}
		bot, _, err := s.CreateTokenFor(ctx, cliBy, inventory.TokenSpec{Name: "ops-bot", Team: "ops", Role: "writer"})
		if err != nil {
			t.Fatal(err)
		}
		ts := start(t, s)
		for _, c := range []struct{ token, want string }{
			{mine, `{"kind":"token","name":"alice-cli","user":"alice","teams":["dev","ops"],"role":"reader","source":"token"}`},
			{bot, `{"kind":"token","name":"ops-bot","teams":["ops"],"role":"writer","source":"token"}`},
		} {
			if a := ts.call(t, httpCall{method: "GET", path: "/session", token: c.token}); a.status != 200 || strings.TrimSpace(a.body) != c.want {
				t.Fatalf("session: %d %s", a.status, a.body)
			}
		}
		// The token's role, not its user's, is what it may do.
		if r := ts.do(t, mine, `mutation { createVm(name: "x") { name } }`, nil); r.Status != 403 {
			t.Fatalf("reader token of a writer: %d", r.Status)
		}
		if _, err := s.ChangeUser(ctx, cliBy, "alice", inventory.UserChange{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		if r := ts.do(t, mine, `{ vms { totalCount } }`, nil); r.Status != 401 || !strings.Contains(r.Errors[0].Message, "disabled") {
			t.Fatalf("disabled user's token: %d %+v", r.Status, r.Errors)
		}
	})
}

func TestAuditQuery(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		mustLocalUser(t, s, "alice", "writer", "wonderland")
		admin, _, _ := s.CreateToken(ctx, "root", inventory.RoleAdmin)
		reader, _, _ := s.CreateToken(ctx, "ro", inventory.RoleReader)
		ts := start(t, s)
		ts.loginAs(t, "alice", "wonderland")
		_ = ts.call(t, httpCall{method: "POST", path: "/login", contentType: "application/json", body: `{"user":"alice","password":"nope"}`})
		r := ts.do(t, admin, `{ audit(first: 2, action: "login") { id at actor action target detail remoteAddr success } }`, nil)
		var got struct {
			Audit []struct {
				ID, At, Actor, Action, Detail, RemoteAddr string
				Success                                   bool
			}
		}
		if err := json.Unmarshal(r.Data, &got); r.Status != 200 || err != nil || len(got.Audit) != 2 {
			t.Fatalf("audit: %d %s %+v", r.Status, r.Data, r.Errors)
		}
		if a := got.Audit[0]; a.Actor != "alice" || a.Success || a.Detail != "wrong password" || a.RemoteAddr != "127.0.0.1" || a.At == "" {
			t.Fatalf("newest: %+v", a)
		}
		if a := got.Audit[1]; !a.Success {
			t.Fatalf("older: %+v", a)
		}
		next := ts.do(t, admin, `{ audit(before: "`+got.Audit[1].ID+`", action: "user.add") { actor target } }`, nil)
		if !strings.Contains(string(next.Data), `"target":"alice"`) {
			t.Fatalf("next page: %s %+v", next.Data, next.Errors)
		}
		if r := ts.do(t, admin, `{ audit(since: "1h") { actor } }`, nil); len(r.Errors) > 0 || !strings.Contains(string(r.Data), "alice") {
			t.Fatalf("since 1h: %s %+v", r.Data, r.Errors)
		}
		bad := map[string]string{
			`{ audit { actor } }`:                  "FORBIDDEN",
			`{ audit(since: "yesterday") { id } }`: "INVALID",
			`{ audit(first: 5000) { id } }`:        "INVALID",
			`{ audit(before: "x") { id } }`:        "INVALID",
		}
		for q, code := range bad {
			token := admin
			if code == "FORBIDDEN" {
				token = reader
			}
			if r := ts.do(t, token, q, nil); r.code() != code {
				t.Errorf("%s: %d %s %+v", q, r.Status, r.Data, r.Errors)
			}
		}
	})
}

// Resolvers find the caller's address for their audit records.
func TestRemoteAddrInContext(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	srv, err := New(Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := srv.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = RemoteAddr(r.Context()) }))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.RemoteAddr = "[2001:db8::7]:4242"
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != "2001:db8::7" || RemoteAddr(context.Background()) != "" {
		t.Fatalf("remote address %q", got)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h": now.Add(-24 * time.Hour), "7d": now.Add(-7 * 24 * time.Hour), "90m": now.Add(-90 * time.Minute),
		"2026-03-01T09:00:00Z": time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1h", "yesterday", "1x"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// FuzzParseLogin feeds POST /login bodies to the parser: it must not
// panic, and what it accepts has a user and a password.
func FuzzParseLogin(f *testing.F) {
	f.Add("application/json", []byte(`{"user":"alice","password":"wonderland"}`))
	f.Add("application/json; charset=utf-8", []byte(`{"user":"a","password":"b","x":1}`))
	f.Add("application/x-www-form-urlencoded", []byte("user=alice&password=w%26nderland"))
	f.Add("application/x-www-form-urlencoded", []byte("user=a&user=b&password=%zz"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, err := parseLogin(contentType, body)
		if err == nil && (req.User == "" || req.Password == "") {
			t.Fatalf("accepted a login without user or password: %+v", req)
		}
	})
}

// TestTrustedProxies: behind a proxy named in server.trusted_proxies the
// client is the nearest untrusted address of X-Forwarded-For — audit rows
// and login throttling see it; from anywhere else the header is ignored,
// so it cannot be used to dodge the throttle.
func TestTrustedProxies(t *testing.T) {
	for _, c := range []struct {
		name    string
		proxies []string
		xff     string
		want    string
	}{
		{"no proxies: the header is ignored", nil, "198.51.100.7", "127.0.0.1"},
		{"a trusted proxy", []string{"127.0.0.1/32"}, "198.51.100.7", "198.51.100.7"},
		{"a chain of trusted proxies", []string{"127.0.0.0/8", "10.0.0.0/8"}, "198.51.100.7, 10.1.2.3", "198.51.100.7"},
		{"a spoofed hop before the real client", []string{"127.0.0.1/32"}, "203.0.113.66, 198.51.100.7", "198.51.100.7"},
		{"garbage in the header", []string{"127.0.0.1/32"}, "not-an-address", "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := inventorytest.Open(t, "sqlite")
			mustLocalUser(t, s, "erin", "reader", "correct horse battery")
			ts := start(t, s, func(o *Options) { o.Limits.TrustedProxies = c.proxies })
			req, _ := http.NewRequest(http.MethodPost, ts.url+"/login", strings.NewReader(`{"user":"erin","password":"wrong"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", c.xff)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			recs, err := s.Audits(context.Background(), inventory.AuditFilter{Action: inventory.AuditLogin})
			if err != nil || len(recs) != 1 || recs[0].RemoteAddr != c.want {
				t.Fatalf("audit: %+v %v, want the login from %s", recs, err, c.want)
			}
		})
	}
}
