package server

import (
	"net/http"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/itemfile"
	"github.com/tana-cmdb/tana/schema"
)

// export serves /export: the entries the caller may read, with the
// attributes it may read, as the YAML or JSON list `tana import` reads
// back (?type=T, ?format=yaml|json). Secret values are left out unless
// ?secrets=true, and then still only for those who may read them. The
// list streams: one query per type, whatever the grants.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, schema.Errorf(schema.EINVALID, "export answers GET"))
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "yaml"
	}
	sw := &startedWriter{w: w}
	iw, err := itemfile.NewWriter(sw, format)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reg := s.store.Registry()
	types := reg.Types()
	if name := q.Get("type"); name != "" {
		t, err := reg.Type(name)
		if err != nil {
			writeError(w, http.StatusNotFound, schema.FieldErrorf(schema.ENOTFOUND, "type", "no entity type %q", name))
			return
		}
		types = []*schema.EntityType{t}
	}
	secrets := q.Get("secrets") == "true"
	ctx := r.Context()
	acc, err := accessOf(ctx, s.store)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", map[string]string{"yaml": "application/yaml", "json": "application/json"}[format])
	for _, t := range types {
		err = s.store.EachVisible(ctx, t.Name, acc.Rows(t.Name, access.Read), func(e *inventory.Entry) error {
			acc.Hide(e)
			attrs, _ := t.Redact(e.Attrs, schema.RevealIf(secrets, schema.Drop))
			return iw.Write(inventory.Item{Type: e.Type, Name: e.Name, Attrs: attrs})
		})
		if err != nil {
			break
		}
	}
	if err == nil {
		err = iw.Close()
	}
	if err != nil {
		if !sw.written {
			writeError(w, statusOf(err), err)
			return
		}
		// Half an export must not look like a whole one.
		s.log.Warn("export cut short", "err", err)
		panic(http.ErrAbortHandler)
	}
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
