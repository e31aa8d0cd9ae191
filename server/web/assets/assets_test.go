package assets

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVendoredFilesMatchLock re-hashes static/vendor/ against vendor.lock:
// nobody edits a vendored file by hand, and nothing unlisted hides there.
func TestVendoredFilesMatchLock(t *testing.T) {
	data, err := os.ReadFile("vendor.lock")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages []struct {
			Name, Version string
			Files         []struct{ From, To, SHA256 string }
		}
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatalf("vendor.lock: %v", err)
	}
	listed := map[string]bool{}
	for _, p := range lock.Packages {
		for _, f := range p.Files {
			listed[f.To] = true
			body, err := os.ReadFile(filepath.Join("static", "vendor", f.To))
			if err != nil {
				t.Errorf("%s@%s: %v (run make vendor)", p.Name, p.Version, err)
				continue
			}
			sum := sha256.Sum256(body)
			if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
				t.Errorf("static/vendor/%s has sha256 %s, vendor.lock pins %s for %s@%s: run make vendor, never edit by hand",
					f.To, got, f.SHA256, p.Name, p.Version)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join("static", "vendor"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("static/vendor/%s is not in vendor.lock", e.Name())
		}
	}
	if len(listed) == 0 {
		t.Fatal("vendor.lock lists no files")
	}
}

// TestEmbeddedEverything: every file under static/ is embedded, so the
// catalog and the tree cannot drift apart (e.g. a dot file skipped).
func TestEmbeddedEverything(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir("static", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk = append(onDisk, filepath.ToSlash(strings.TrimPrefix(p, "static"+string(filepath.Separator))))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	names := Names()
	slices.Sort(onDisk)
	slices.Sort(names)
	if !slices.Equal(onDisk, names) {
		t.Fatalf("embedded %v, on disk %v", names, onDisk)
	}
}

func TestPath(t *testing.T) {
	p := Path("vendor/htmx.min.js")
	if !strings.HasPrefix(p, "/static/vendor/htmx.min.") || !strings.HasSuffix(p, ".js") || len(p) != len("/static/vendor/htmx.min.js")+17 {
		t.Fatalf("Path = %q", p)
	}
	if Path("vendor/htmx.min.js") != p {
		t.Fatal("Path is not stable")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Path of an unknown asset did not panic")
		}
	}()
	Path("nosuch.js")
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A bare transport: it neither asks for gzip nor decodes it behind our back.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestHandler serves over real loopback: hashed URLs immutable, plain
// names revalidated, the right type, ETag and 304, gzip when asked.
func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	want, err := os.ReadFile("static/vendor/graphiql.min.css")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + Path("vendor/graphiql.min.css")

	resp, body := get(t, url, nil)
	h := resp.Header
	if resp.StatusCode != 200 || string(body) != string(want) {
		t.Fatalf("GET %s: %d, %d bytes", url, resp.StatusCode, len(body))
	}
	if h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Content-Type") != "text/css; charset=utf-8" ||
		h.Get("Content-Encoding") != "" || h.Get("Vary") != "Accept-Encoding" || h.Get("ETag") == "" {
		t.Fatalf("headers %v", h)
	}
	resp, _ = get(t, url, map[string]string{"If-None-Match": h.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != h.Get("ETag") {
		t.Fatalf("revalidation: %d %v", resp.StatusCode, resp.Header)
	}

	resp, body = get(t, url, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") == h.Get("ETag") || len(body) >= len(want) {
		t.Fatalf("gzip: %v, %d bytes", resp.Header, len(body))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != string(want) {
		t.Fatalf("gzip body does not decode to the file: %v", err)
	}
	resp, _ = get(t, url, map[string]string{"Accept-Encoding": "gzip;q=0"})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 got gzip")
	}

	resp, body = get(t, srv.URL+"/static/app.js", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || len(body) == 0 {
		t.Fatalf("plain name: %d %v", resp.StatusCode, resp.Header)
	}
	for _, path := range []string{"/static/vendor/htmx.min.0000000000000000.js", "/static/nosuch.css", "/static/", "/static/vendor"} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	resp, err = http.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"gzip;q=0.5": true, "*": true, "identity": false, "deflate, br": false, "x-gzip": false,
	}
	for header, want := range cases {
		if got := AcceptsGzip(header); got != want {
			t.Errorf("AcceptsGzip(%q) = %v", header, got)
		}
	}
}

// TestOwnFilesSelfContained: tana's own and the vendored CSS load nothing
// from outside (fonts are data: URLs), so the pages work air-gapped.
func TestOwnFilesSelfContained(t *testing.T) {
	for _, name := range Names() {
		if !strings.HasSuffix(name, ".css") {
			continue
		}
		body, err := File(name)
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		cssRefs(string(body), func(u string) {
			if isExternal(u) {
				bad = append(bad, u)
			}
		})
		if len(bad) > 0 {
			t.Errorf("%s loads %v", name, bad)
		}
	}
}

func TestExternalRefs(t *testing.T) {
	cases := []struct {
		name, page string
		want       []string
	}{
		{"own links", `<a href="/vms">x</a><link rel=stylesheet href="/static/app.css"><img src="data:image/png;base64,AA"><a href="#top">`, nil},
		{"script", `<script src="https://unpkg.com/react"></script>`, []string{"https://unpkg.com/react"}},
		{"protocol relative", `<img src="//cdn.example/x.png">`, []string{"//cdn.example/x.png"}},
		{"no slashes", `<a href="https:evil.example">`, []string{"https:evil.example"}},
		{"backslashes", `<a href="\\evil.example">`, []string{`\\evil.example`}},
		{"tab inside", "<a href=\"ht\ttp://x.example\">", []string{"ht\ttp://x.example"}},
		{"srcset", `<img srcset="/a.png 1x, http://x.example/b.png 2x">`, []string{"http://x.example/b.png"}},
		{"form", `<form action="HTTP://x.example/post"><button formaction="https://y.example">`, []string{"HTTP://x.example/post", "https://y.example"}},
		{"style attr", `<div style="background: url('https://x.example/i.png')">`, []string{"https://x.example/i.png"}},
		{"style element", `<style>@import "https://x.example/a.css"; p { background: url(/ok.png) }</style>`, []string{"https://x.example/a.css"}},
		{"meta refresh", `<meta http-equiv="refresh" content="0; url=https://x.example/">`, []string{"https://x.example/"}},
		{"svg xlink", `<svg><use xlink:href="https://x.example/s.svg#i"/></svg>`, []string{"https://x.example/s.svg#i"}},
		{"text is not a reference", `<p>see https://example.com</p><code>http://x</code>`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ExternalRefs([]byte(c.page)); !slices.Equal(got, c.want) {
				t.Fatalf("ExternalRefs = %q, want %q", got, c.want)
			}
		})
	}
}
