package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// TestReconcileOverGraphQL drives drift, plan, applyPlan, runs, sources and
// /reports over HTTP: a VM resized in reality, with observed drift
// proposed by policy, is planned and applied through the API.
func TestReconcileOverGraphQL(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := reconcile.New(s, reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {Observed: "propose"}}})
		snap := func(cpus int64) *collectors.Snapshot {
			return &collectors.Snapshot{Source: "vc1", Kind: "vsphere", Scope: "vsphere:vc1", Types: []string{"vm"}, Complete: true,
				Objects: []collectors.Object{{Type: "vm", ID: "u1", Name: "web1", Attrs: map[string]any{"instance_uuid": "u1", "cpus": cpus}}}}
		}
		if _, err := s.Create(ctx, inventorytest.Meta("t"), "vm", "web1", map[string]any{"instance_uuid": "u1", "cpus": 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Reconcile(ctx, snap(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Reconcile(ctx, snap(4)); err != nil {
			t.Fatal(err)
		}
		ts := start(t, s, func(o *Options) {
			o.Reconcile = e
			o.Sources = []SourceInfo{{Name: "vc1", Type: "vsphere"}}
		})
		var d struct {
			Drift []struct {
				Kind, EntryName, Attr string
				Store, Actual         any
			}
			Sources []struct {
				Name    string
				LastRun *struct{ Status string }
			}
		}
		ts.query(t, `{ drift { kind entryName attr store actual } sources { name lastRun { status } } }`, nil, &d)
		if len(d.Drift) != 1 || d.Drift[0].Kind != "changed" || d.Drift[0].Attr != "cpus" || d.Drift[0].Actual != 4.0 {
			t.Fatalf("drift: %+v", d.Drift)
		}
		if len(d.Sources) != 1 || d.Sources[0].Name != "vc1" {
			t.Fatalf("sources: %+v", d.Sources)
		}
		var p struct {
			Plan struct {
				ID    string
				Fixes []struct{ Action, Direction string }
			}
		}
		ts.query(t, `mutation { plan(source: "vc1") { id fixes { action direction } } }`, nil, &p)
		if len(p.Plan.Fixes) != 1 || p.Plan.Fixes[0].Direction != "store" {
			t.Fatalf("plan: %+v", p.Plan)
		}
		// Reality moves on before the plan is applied: the plan no longer
		// fixes what it says, and applyPlan refuses it.
		if _, err := e.Reconcile(ctx, snap(5)); err != nil {
			t.Fatal(err)
		}
		r := ts.do(t, "", `mutation($id: String!) { applyPlan(id: $id) { status } }`, map[string]any{"id": p.Plan.ID})
		if msg := string(mustJSON(t, r.Errors)); !strings.Contains(msg, "STALE") || !strings.Contains(msg, "reality now says 5") {
			t.Fatalf("apply of a plan whose drift moved: %s", msg)
		}
		ts.query(t, `mutation { plan(source: "vc1") { id fixes { action direction } } }`, nil, &p)
		var a struct {
			ApplyPlan struct {
				Status string
				Store  int
			}
		}
		ts.query(t, `mutation($id: String!) { applyPlan(id: $id) { status store } }`, map[string]any{"id": p.Plan.ID}, &a)
		if a.ApplyPlan.Status != "applied" || a.ApplyPlan.Store != 1 {
			t.Fatalf("apply: %+v", a.ApplyPlan)
		}
		// Applying twice is an error with a code, not a crash.
		r = ts.do(t, "", `mutation($id: String!) { applyPlan(id: $id) { status } }`, map[string]any{"id": p.Plan.ID})
		if len(r.Errors) == 0 || !strings.Contains(string(mustJSON(t, r.Errors)), "CONFLICT") {
			t.Fatalf("second apply: %+v", r.Errors)
		}
		en, _ := s.GetByName(ctx, "vm", "web1")
		if en.Attrs["cpus"] != int64(5) {
			t.Fatalf("store after apply: %v", en.Attrs)
		}
		var runs struct {
			Runs []struct{ Kind, Status, Holder string }
		}
		ts.query(t, `{ runs(kind: "apply") { kind status holder } }`, nil, &runs)
		if len(runs.Runs) == 0 || !strings.Contains(runs.Runs[0].Holder, " pid ") {
			t.Fatalf("runs name no process: %+v", runs.Runs)
		}
		// Every apply is a run, refused ones too: stale, applied, refused again.
		if len(runs.Runs) != 3 || runs.Runs[0].Status != "failed" || runs.Runs[1].Status != "ok" || runs.Runs[2].Status != "failed" {
			t.Fatalf("runs: %+v", runs.Runs)
		}
		resp, err := http.Get(ts.url + "/reports?format=json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep struct {
			Resolved []struct{ Kind string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != 200 || len(rep.Resolved) != 1 {
			t.Fatalf("/reports: %d %+v %v", resp.StatusCode, rep, err)
		}
		metrics, err := http.Get(ts.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer metrics.Body.Close()
		body, _ := io.ReadAll(metrics.Body)
		if !strings.Contains(string(body), `tana_drift_open{kind="changed"}`) {
			t.Error("/metrics has no open drift gauge")
		}
		if resp, _ := http.Get(ts.url + "/reports?format=pdf"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("/reports?format=pdf: %d", resp.StatusCode)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
