package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/server/web/assets"
)

// vmCount is how many VMs the server holds.
func vmCount(t *testing.T, ts *testServer) int {
	t.Helper()
	var out struct{ Vms struct{ TotalCount int } }
	ts.query(t, `{ vms { totalCount } }`, nil, &out)
	return out.Vms.TotalCount
}

// TestCrossOriginWritesRefused: a browser on another origin can POST a
// text/plain body, or a form, without asking; tana takes POST bodies
// only as JSON and refuses state-changing requests a browser marks as
// cross-origin. Non-browser clients (no Origin, no Sec-Fetch-Site) and
// tana's own pages pass. Each refused request changes nothing.
func TestCrossOriginWritesRefused(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s)
	mutation := `{"query":"mutation { createVm(name: \"x\") { name } }"}`
	cases := []struct {
		name        string
		contentType string
		headers     map[string]string
		status      int
		field       string
	}{
		{"text/plain, as a browser sends it cross-origin", "text/plain;charset=UTF-8", nil, 415, "Content-Type"},
		{"a text/plain form", "text/plain", map[string]string{"Origin": "http://evil.example"}, 403, ""},
		{"urlencoded form", "application/x-www-form-urlencoded", nil, 415, "Content-Type"},
		{"application/graphql", "application/graphql", nil, 415, "Content-Type"},
		{"no content type", "", nil, 415, "Content-Type"},
		{"JSON from another site", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, 403, ""},
		{"JSON from the same site, another origin", "application/json", map[string]string{"Sec-Fetch-Site": "same-site"}, 403, ""},
		{"JSON from an old browser on another origin", "application/json", map[string]string{"Origin": "http://evil.example"}, 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := post(t, ts.url, c.contentType, mutation, c.headers)
			var out gqlResponse
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status || len(out.Errors) != 1 || out.Errors[0].Extensions["code"] == nil {
				t.Fatalf("%d %+v, want %d", resp.StatusCode, out.Errors, c.status)
			}
			if f, _ := out.Errors[0].Extensions["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q", f, c.field)
			}
			if n := vmCount(t, ts); n != 0 {
				t.Fatalf("%d VMs created", n)
			}
		})
	}
	allowed := []map[string]string{
		nil, // curl, scripts
		{"Sec-Fetch-Site": "same-origin", "Origin": ts.url}, // GraphiQL
		{"Sec-Fetch-Site": "none"},                          // typed into the address bar
		{"Origin": ts.url},                                  // an old browser on tana's page
	}
	for i, h := range allowed {
		resp := post(t, ts.url, "application/json; charset=utf-8", strings.ReplaceAll(mutation, `\"x\"`, `\"ok`+string(rune('a'+i))+`\"`), h)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%v: %d", h, resp.StatusCode)
		}
	}
	if n := vmCount(t, ts); n != len(allowed) {
		t.Fatalf("%d VMs, want %d", n, len(allowed))
	}
}

func post(t *testing.T, url, contentType, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestHardeningHeaders: no answer may be sniffed as another type or
// framed by another site; the GraphiQL page runs scripts from this server
// only (no inline script, no CDN, no eval).
func TestHardeningHeaders(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s)
	for _, path := range []string{"/graphql?query={__typename}", "/graphiql", "/healthz", "/metrics", "/nosuch", assets.Path("app.css")} {
		resp, err := http.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("%s: headers %v", path, h)
		}
		if path != "/graphiql" {
			continue
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GraphiQL policy %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") || strings.Contains(csp, "sha256-") {
			t.Errorf("GraphiQL policy %q allows more than this server's files", csp)
		}
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		doc.Find("script").Each(func(_ int, sc *goquery.Selection) {
			if src, _ := sc.Attr("src"); src == "" || strings.TrimSpace(sc.Text()) != "" {
				t.Errorf("GraphiQL has an inline script: %q", sc.Text())
			}
		})
		if doc.Find("style, [style]").Length() > 0 {
			t.Error("GraphiQL has inline styles")
		}
	}
}

// TestPanicAnswered: a handler that panics answers 500 with a coded error
// and the server goes on serving; before, net/http dropped the connection.
func TestPanicAnswered(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	ts := start(t, s, func(o *Options) {
		o.Ansible = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	resp, err := http.Get(ts.url + "/ansible/inventory")
	if err != nil {
		t.Fatalf("the connection was dropped: %v", err)
	}
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "INTERNAL" || strings.Contains(out.Errors[0].Message, "boom") {
		t.Fatalf("%d %+v", resp.StatusCode, out.Errors)
	}
	ts.query(t, `{ __typename }`, nil, nil)
}
