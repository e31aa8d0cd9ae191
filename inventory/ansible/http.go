package ansible

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

type visibilityKey struct{}

// WithVisibility returns ctx whose inventory requests (Handler) show what
// vis lets the caller read.
func WithVisibility(ctx context.Context, vis Visibility) context.Context {
	return context.WithValue(ctx, visibilityKey{}, vis)
}

// Handler serves the inventory over HTTP: GET gives the --list JSON,
// narrowed by the query form (ParseQuery: type, filter, owner, team,
// vars), GET ?host=NAME that host's vars. A list carries a strong ETag
// (a hash of its content) and answers 304 to a matching If-None-Match.
// Authentication is the server's job; what a caller may see, it passes in
// the request's context (WithVisibility).
func Handler(all *Inventory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv := all
		if vis, ok := r.Context().Value(visibilityKey{}).(Visibility); ok {
			inv = all.For(vis)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		params := r.URL.Query()
		if host, ok := params["host"]; ok {
			serveHost(w, r, inv, params, host)
			return
		}
		q, err := ParseQuery(params)
		if err == nil {
			inv, err = inv.Narrow(r.Context(), q)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		serveList(w, r, inv)
	})
}

// serveHost answers ?host=NAME, which takes no other parameter.
func serveHost(w http.ResponseWriter, r *http.Request, inv *Inventory, params map[string][]string, host []string) {
	for k := range params {
		if k != "host" {
			writeError(w, schema.FieldErrorf(schema.EINVALID, k, "not allowed with host"))
			return
		}
	}
	if len(host) != 1 || host[0] == "" {
		writeError(w, schema.FieldErrorf(schema.EINVALID, "host", "want one host name"))
		return
	}
	var buf bytes.Buffer
	if err := inv.Host(r.Context(), &buf, host[0]); err != nil {
		writeError(w, err)
		return
	}
	w.Write(buf.Bytes())
}

// serveList builds the list into a spool while hashing it, so the ETag
// is that of the very bytes sent, then answers 304 or sends them.
func serveList(w http.ResponseWriter, r *http.Request, inv *Inventory) {
	sp := &spool{limit: spoolMemory}
	defer sp.close()
	h := sha256.New()
	if err := inv.List(r.Context(), io.MultiWriter(sp, h)); err != nil {
		writeError(w, err)
		return
	}
	etag := `"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:24]) + `"`
	w.Header().Set("ETag", etag)
	// Another caller may see other hosts: no shared cache may keep it,
	// and a client asks again (If-None-Match) before it reuses its copy.
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Vary", "Authorization, Cookie")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(sp.size))
	if r.Method == http.MethodHead {
		return
	}
	if err := sp.writeTo(w); err != nil {
		// Half an inventory must not look like a whole one: cut the
		// connection so the client sees a broken response.
		panic(http.ErrAbortHandler)
	}
}

// etagMatch is If-None-Match's weak comparison of a header with etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// spoolMemory is how much of a list is kept in memory; the rest goes to
// a temporary file, so a 100,000-host inventory costs no 50 MB of heap.
const spoolMemory = 8 << 20

// spool holds one response: in memory up to limit, then in a temporary
// file.
type spool struct {
	limit int
	mem   bytes.Buffer
	file  *os.File
	size  int64
}

func (s *spool) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= s.limit {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "tana-inventory-*.json")
		if err != nil {
			return 0, fmt.Errorf("spool the inventory: %w", err)
		}
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, fmt.Errorf("spool the inventory: %w", err)
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.file.Write(p)
	if err != nil {
		return n, fmt.Errorf("spool the inventory: %w", err)
	}
	return n, nil
}

// writeTo sends the spooled bytes.
func (s *spool) writeTo(w io.Writer) error {
	if s.file == nil {
		_, err := w.Write(s.mem.Bytes())
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.file)
	return err
}

// close removes the temporary file, if any.
func (s *spool) close() {
	if s.file != nil {
		_ = s.file.Close()           // read only from here on: nothing to lose
		_ = os.Remove(s.file.Name()) // a temporary file: litter at worst
	}
}

// writeError answers err as JSON: 400 for a bad request (naming the
// parameter), 500 for anything else.
func writeError(w http.ResponseWriter, err error) {
	code, msg := http.StatusInternalServerError, err.Error()
	if schema.ErrorCode(err) == schema.EINVALID {
		code = http.StatusBadRequest
		if e, ok := err.(*schema.Error); ok && e.Field != "" {
			msg = e.Field + ": " + e.Message
		}
	}
	w.WriteHeader(code)
	w.Write(append(appendString([]byte(`{"error":`), msg), "}\n"...))
}
