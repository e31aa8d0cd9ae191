package browsertest

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// pages is a small site on loopback: one good page, and one per problem
// the harness must catch.
var pages = map[string]string{
	"/good": `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Good</title><link rel="icon" href="data:,"></head>
<body><main><h1>Good</h1><p>An accessible page.</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="dot"></main></body></html>`,
	"/console": `<!DOCTYPE html><html lang="en"><head><title>Console</title><link rel="icon" href="data:,"></head><body><main><h1>x</h1>
<script>console.error("boom from the page")</script></main></body></html>`,
	"/throws": `<!DOCTYPE html><html lang="en"><head><title>Throws</title><link rel="icon" href="data:,"></head><body><main><h1>x</h1>
<script>null.nothing()</script></main></body></html>`,
	"/outside": `<!DOCTYPE html><html lang="en"><head><title>Outside</title><link rel="icon" href="data:,"></head><body><main><h1>x</h1>
<script>fetch("http://192.0.2.1/beacon").catch(() => {})</script></main></body></html>`,
	"/csp": `<!DOCTYPE html><html lang="en"><head><title>CSP</title><link rel="icon" href="data:,"></head><body><main><h1>x</h1>
<script>document.title = "ran"</script></main></body></html>`,
	"/inaccessible": `<!DOCTYPE html><html><head><title>Bad</title><link rel="icon" href="data:,"></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></body></html>`,
}

func site(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/csp" {
			w.Header().Set("Content-Security-Policy", "script-src 'self'")
		}
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// recorder is a testing.TB that keeps failures instead of failing, so the
// harness's own test can see that it would fail a test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors, r.failed = append(r.errors, fmt.Sprintf(format, args...)), true
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}
func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) FailNow()          { runtime.Goexit() }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}

// inGoroutine runs f as a test body would run, so FailNow may Goexit.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestGoodPage(t *testing.T) {
	url := site(t)
	b := New(t)
	b.Navigate(url + "/good")
	if v := b.RunAxe(); len(v) != 0 {
		t.Fatalf("violations on the good page: %v", v)
	}
	dir := t.TempDir()
	b.Screenshot(filepath.Join(dir, "desktop.png"))
	b.Phone()
	b.Screenshot(filepath.Join(dir, "phone.png"))
	for name, want := range map[string][2]int{"desktop.png": {1280, 800}, "phone.png": {780, 1688}} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Width != want[0] || cfg.Height != want[1] {
			t.Fatalf("%s is %d×%d, want %d×%d", name, cfg.Width, cfg.Height, want[0], want[1])
		}
	}
}

// TestProblemsFailTheTest: each kind of problem fails the test that meets
// it, naming what happened.
func TestProblemsFailTheTest(t *testing.T) {
	url := site(t)
	cases := []struct{ path, want string }{
		{"/console", "boom from the page"},
		{"/throws", "null"},
		{"/outside", "request to http://192.0.2.1/beacon leaves the test server"},
		{"/csp", "Content Security Policy"},
		{"/inaccessible", "accessibility: image-alt (critical)"},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			rec := &recorder{TB: t}
			b := New(rec)
			inGoroutine(func() {
				b.Navigate(url + c.path)
				// Events arrive on their own goroutine: give them a moment.
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					b.mu.Lock()
					n := len(b.problems)
					b.mu.Unlock()
					if n > 0 {
						break
					}
				}
				b.Check()
				b.RunAxe()
			})
			if !rec.Failed() || !strings.Contains(rec.text(), c.want) {
				t.Fatalf("the harness did not fail on %s; it said:\n%s", c.path, rec.text())
			}
		})
	}
}

func TestLocal(t *testing.T) {
	cases := map[string]bool{
		"http://127.0.0.1:4000/x": true, "https://localhost/": true, "ws://[::1]:80/": true, "data:text/plain,x": true,
		"blob:http://127.0.0.1/1": true, "about:blank": true,
		"https://unpkg.com/react": false, "http://192.0.2.1/": false, "http://localhost.example.com/": false,
		"ftp://127.0.0.1/": false, "chrome://settings": false,
	}
	for u, want := range cases {
		if got := Local(u); got != want {
			t.Errorf("Local(%q) = %v", u, got)
		}
	}
}
