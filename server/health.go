package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tana-cmdb/tana/version"
)

// healthz answers as long as the process serves requests, with the
// version the server runs (as tana version prints it).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	body, _ := json.Marshal(struct { // strings only: it cannot fail
		Status string `json:"status"`
		version.Info
	}{"ok", s.opts.Version})
	w.Write(append(body, '\n'))
}

// readyz answers 200 when the store is reachable and fully migrated, so a
// load balancer only sends traffic to replicas that can serve it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
