package ansible

import (
	"bytes"
	"context"
	"net/http"
)

type visibilityKey struct{}

// WithVisibility returns ctx whose inventory requests (Handler) show what
// vis lets the caller read.
func WithVisibility(ctx context.Context, vis Visibility) context.Context {
	return context.WithValue(ctx, visibilityKey{}, vis)
}

// startedWriter notes whether anything reached the client, so a failure
// before the first byte can still be a proper error response.
type startedWriter struct {
	w       http.ResponseWriter
	written bool
}

func (sw *startedWriter) Write(p []byte) (int, error) {
	sw.written = true
	return sw.w.Write(p)
}

// Handler serves the inventory over HTTP: GET gives the --list JSON,
// GET ?host=NAME that host's vars. Authentication is the server's job;
// what a caller may see, it passes in the request's context
// (WithVisibility).
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
		if host, ok := r.URL.Query()["host"]; ok {
			var buf bytes.Buffer
			if err := inv.Host(r.Context(), &buf, host[0]); err != nil {
				writeError(w, err)
				return
			}
			w.Write(buf.Bytes())
			return
		}
		cw := &startedWriter{w: w}
		if err := inv.List(r.Context(), cw); err != nil {
			if !cw.written {
				writeError(w, err)
				return
			}
			// Half an inventory must not look like a whole one: cut the
			// connection so the client sees a broken response.
			panic(http.ErrAbortHandler)
		}
	})
}

func writeError(w http.ResponseWriter, err error) {
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(append(appendString([]byte(`{"error":`), err.Error()), "}\n"...))
}
