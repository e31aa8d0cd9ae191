package web

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever comes in as next, the login redirects to a path
// on this server — also after http.Redirect cleans it, and as browsers
// read a backslash.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/types", "//evil.example", "/\\evil", "/x/../\\evil", "https://e.example/", "/%5Cevil", "/a?b=//c", "\t//e", "/..//e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") {
			t.Fatalf("SafeNext(%q) = %q: not a local path", next, got)
		}
		// What a browser reads: the raw path, a backslash as a slash.
		raw, _, _ := strings.Cut(got, "?")
		raw = strings.ReplaceAll(raw, "\\", "/")
		if c := path.Clean(raw); strings.HasPrefix(raw, "//") || strings.HasPrefix(c, "//") || strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("SafeNext(%q) = %q: another host to a browser", next, got)
		}
	})
}
