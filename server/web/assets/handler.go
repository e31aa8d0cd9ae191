package assets

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

const (
	immutable   = "public, max-age=31536000, immutable"
	revalidate  = "no-cache" // a name without hash may change with the next build
	gzipMinSize = 512        // below this the gzip header eats the gain
)

// compressed holds the gzip form of each compressible asset, made once,
// on the first Handler call, and kept only where it is smaller.
var compressed = sync.OnceValue(func() map[string][]byte {
	gz := map[string][]byte{}
	for name, a := range embedded().byName {
		if len(a.body) < gzipMinSize || !compressible(a.ctype) {
			continue
		}
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		_, _ = w.Write(a.body)                                  // a bytes.Buffer does not fail
		_ = w.Close()
		if buf.Len() < len(a.body) {
			gz[name] = buf.Bytes()
		}
	}
	return gz
})

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") || ctype == "image/svg+xml"
}

// Handler serves the embedded files under Prefix. A hashed URL (from
// Path) is cached for a year as immutable; the plain name is served too,
// for hand-typed links, but must be revalidated. An old hash is not found:
// serving other content under it would be cached for a year.
func Handler() http.Handler {
	gz := compressed()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		c := embedded()
		a, cache := c.byHashed[name], immutable
		if a == nil {
			a, cache = c.byName[name], revalidate
		}
		if !ok || a == nil {
			http.NotFound(w, r)
			return
		}
		serve(w, r, a, cache, gz[a.name])
	})
}

func serve(w http.ResponseWriter, r *http.Request, a *asset, cache string, gz []byte) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	body, etag := a.body, `"`+a.hash+`"`
	if gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if AcceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = gz, `"`+a.hash+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if matches(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// AcceptsGzip reads Accept-Encoding: gzip (or *) with a q that is not 0.
func AcceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q, isQ := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q=")
		weight, err := strconv.ParseFloat(q, 64)
		return !isQ || err != nil || weight > 0
	}
	return false
}

// matches reports whether an If-None-Match list names etag (weakly, as
// RFC 9110 compares for GET) or is "*".
func matches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		tag := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
