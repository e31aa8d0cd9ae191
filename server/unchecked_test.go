package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// TestReportWithUnreadableData: a stored report that is not JSON makes
// reports an error, not a report with a null summary. (Each summary is
// counted from the report's items the caller may see.)
func TestReportWithUnreadableData(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		rec := &inventory.ReportRecord{Summary: "1 open drift items", Data: `{"open": `}
		if err := s.SaveReport(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		ts := start(t, s, func(o *Options) { o.Reconcile = reconcile.New(s, reconcile.Options{}) })
		r := ts.do(t, "", `{ reports { id summary } }`, nil)
		if len(r.Errors) != 1 || r.code() != "INTERNAL" {
			t.Fatalf("reports with an unreadable report: %d %s %+v", r.Status, r.Data, r.Errors)
		}
	})
}

// TestWriteJSONUnencodable: an answer JSON cannot hold is a 500 with an
// error, not a 200 with an empty body.
func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]any{"x": math.NaN()})
	var r gqlResponse
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if w.Code != http.StatusInternalServerError || r.code() != "INTERNAL" {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
