package inventory_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

func TestReconcileRecords(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		err := s.InTx(ctx, func(tx *inventory.Tx) error {
			if err := tx.SaveSnapshot(ctx, &inventory.SnapshotRecord{ID: "s1", Scope: "dns:a.", Source: "d", Kind: "dns",
				Complete: true, Objects: 3, StartedAt: now, FinishedAt: now, Data: "{}"}); err != nil {
				return err
			}
			return tx.SyncDrift(ctx, "dns:a.", []inventory.DriftRecord{
				{Key: "k1", Kind: "changed", Type: "vm", Data: "1"}, {Key: "k2", Kind: "conflict", Type: "vm", Data: "2"}}, inventory.Resolution{By: "collect dns:a."})
		})
		if err != nil {
			t.Fatal(err)
		}
		last, err := s.LastSnapshot(ctx, "dns:a.", true)
		if err != nil || last.ID != "s1" || !last.Complete || last.Objects != 3 {
			t.Fatalf("last snapshot = %+v, %v", last, err)
		}
		// An incomplete sync opens and updates but resolves nothing: k2 stays.
		err = s.InTx(ctx, func(tx *inventory.Tx) error {
			return tx.SyncDrift(ctx, "dns:a.", []inventory.DriftRecord{{Key: "k1", Kind: "changed", Type: "vm", Data: "1a"}}, inventory.Resolution{})
		})
		if err != nil {
			t.Fatal(err)
		}
		if open, err := s.Drift(ctx, inventory.DriftFilter{Scope: "dns:a."}); err != nil || len(open) != 2 || open[0].Data != "1a" {
			t.Fatalf("open drift after an incomplete sync = %+v, %v", open, err)
		}
		// k1 persists with new data, k2 goes away, k3 is new.
		err = s.InTx(ctx, func(tx *inventory.Tx) error {
			return tx.SyncDrift(ctx, "dns:a.", []inventory.DriftRecord{
				{Key: "k1", Kind: "changed", Type: "vm", Data: "1b"}, {Key: "k3", Kind: "changed", Type: "vm", Data: "3"}}, inventory.Resolution{By: "collect dns:a."})
		})
		if err != nil {
			t.Fatal(err)
		}
		open, err := s.Drift(ctx, inventory.DriftFilter{Scope: "dns:a."})
		if err != nil || len(open) != 2 || open[0].Key != "k1" || open[0].Data != "1b" {
			t.Fatalf("open drift = %+v, %v", open, err)
		}
		done, err := s.Drift(ctx, inventory.DriftFilter{Resolved: true})
		if err != nil || len(done) != 1 || done[0].Key != "k2" || done[0].ResolvedAt == nil || done[0].ResolvedBy != "collect dns:a." {
			t.Fatalf("resolved drift = %+v, %v", done, err)
		}

		err = s.InTx(ctx, func(tx *inventory.Tx) error {
			return tx.SavePlan(ctx, &inventory.PlanRecord{ID: "p1", Actor: "me", Status: inventory.PlanProposed, Fixes: 2, Data: "{}"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *inventory.Tx) error { return tx.SetPlanStatus(ctx, "p1", inventory.PlanApplied, "") }); err != nil {
			t.Fatal(err)
		}
		p, err := s.Plan(ctx, "p1")
		if err != nil || p.Status != inventory.PlanApplied || p.AppliedAt == nil {
			t.Fatalf("plan = %+v, %v", p, err)
		}
		if _, err := s.Plan(ctx, "nope"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("missing plan: %v", err)
		}

		run, err := s.StartRun(ctx, "collect", "vc1", inventory.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if runs, err := s.Runs(ctx, inventory.RunFilter{Kind: "collect"}); err != nil || len(runs) != 1 || runs[0].Status != inventory.RunRunning {
			t.Fatalf("runs while running = %+v, %v", runs, err)
		}
		if err := run.Finish(ctx, inventory.RunResult{Status: inventory.RunOK, Objects: 10, Errors: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
		runs, err := s.Runs(ctx, inventory.RunFilter{Kind: "collect"})
		if err != nil || len(runs) != 1 || runs[0].Status != inventory.RunOK || runs[0].Objects != 10 || runs[0].Errors[0] != "x" || runs[0].Holder == "" {
			t.Fatalf("runs = %+v, %v", runs, err)
		}

		if err := s.SaveReport(ctx, &inventory.ReportRecord{Summary: "2 open", Data: `{"a":1}`}); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Reports(ctx, 0)
		if err != nil || len(rs) != 1 {
			t.Fatalf("reports = %+v, %v", rs, err)
		}
		if r, err := s.Report(ctx, rs[0].ID); err != nil || r.Data != `{"a":1}` {
			t.Fatalf("report = %+v, %v", r, err)
		}
	})
}

// TestEachTransientDecodesLikeEach checks the hand decoder and references
// of EachTransient on awkward values against Each.
func TestEachTransientDecodesLikeEach(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		m := inventorytest.Meta("t")
		_, err := s.Upsert(ctx, m, []inventory.Item{
			{Type: "host", Name: "esx1", Attrs: map[string]any{"cpu_cores": 32}},
			{Type: "datastore", Name: "ds1", Attrs: map[string]any{"capacity_gb": 1.5}},
			{Type: "vm", Name: "a", Attrs: map[string]any{"cpus": 2, "disk_gb": 40.5, "template": false, "macs": []any{"00:50:56:00:00:01"},
				"annotation": "say \"hi\" <b> & é", "host": "esx1", "datastores": []any{"ds1"}, "tags": []any{}}},
			{Type: "vm", Name: "b", Attrs: map[string]any{"memory_mb": -1, "ips": []any{"10.0.0.1", "10.0.0.2"}}},
		}, inventory.UpsertOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*inventory.Entry{}
		if err := s.Each(ctx, "vm", func(e *inventory.Entry) error { want[e.Name] = e; return nil }); err != nil {
			t.Fatal(err)
		}
		n := 0
		err = s.EachTransient(ctx, "vm", func(e *inventory.Entry) error {
			n++
			w := want[e.Name]
			if w == nil || !reflect.DeepEqual(w.Attrs, e.Attrs) || fmt.Sprint(w.RefIDs) != fmt.Sprint(e.RefIDs) || w.Version != e.Version || w.Status != e.Status {
				t.Errorf("%s: got %v %v, want %v %v", e.Name, e.Attrs, e.RefIDs, w.Attrs, w.RefIDs)
			}
			return nil
		})
		if err != nil || n != 2 {
			t.Fatalf("EachTransient: %d entries, %v", n, err)
		}
	})
}

func TestPruneSnapshots(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		base := time.Now().UTC()
		for i := 0; i < 4; i++ {
			at := base.Add(time.Duration(i) * time.Minute)
			err := s.InTx(ctx, func(tx *inventory.Tx) error {
				return tx.SaveSnapshot(ctx, &inventory.SnapshotRecord{ID: fmt.Sprint("s", i), Scope: "vsphere:vc1", Source: "vc1", Kind: "vsphere",
					Complete: true, Objects: i, StartedAt: at, FinishedAt: at, Data: `{"objects":[]}`})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PruneSnapshots(ctx, "vsphere:vc1", 2); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"s0": "", "s1": "", "s2": `{"objects":[]}`, "s3": `{"objects":[]}`} {
			r, err := s.Snapshot(ctx, id)
			if err != nil || r.Data != want {
				t.Errorf("%s data = %q, %v; want %q", id, r.Data, err, want)
			}
		}
		list, err := s.Snapshots(ctx, "", 0)
		if err != nil || len(list) != 4 || list[0].ID != "s3" {
			t.Fatalf("snapshots = %+v, %v", list, err)
		}
	})
}

// TestBindAndProvenanceSpanStatements: bindings and provenance are upserts
// of up to 6,000 rows a statement; a batch of several statements, written
// twice, leaves one row per key with the second write's values.
func TestBindAndProvenanceSpanStatements(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 1)
		vm, err := s.GetByName(ctx, "vm", "vm000")
		if err != nil {
			t.Fatal(err)
		}
		const n = 13000 // two full statements and a tail
		for round := 1; round <= 2; round++ {
			objects := map[string]int64{}
			ps := make([]inventory.Provenance, 0, n)
			for i := 0; i < n; i++ {
				objects[fmt.Sprintf("obj-%05d", i)] = vm.ID
				ps = append(ps, inventory.Provenance{EntryID: vm.ID, Attr: fmt.Sprintf("a%05d", i), Source: "test", Value: fmt.Sprintf("<v%d> & %d", round, i)})
			}
			err := s.InTx(ctx, func(tx *inventory.Tx) error {
				if err := tx.Bind(ctx, "test:scope", objects); err != nil {
					return err
				}
				return tx.SetProvenance(ctx, ps)
			})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		bs, err := s.Bindings(ctx, "test:scope")
		if err != nil || len(bs) != n {
			t.Fatalf("bindings: %d, %v", len(bs), err)
		}
		prov, err := s.Provenance(ctx, vm.ID)
		if err != nil || len(prov) != n {
			t.Fatalf("provenance: %d rows, %v", len(prov), err)
		}
		for _, i := range []int{0, 5999, 6000, 12999} {
			if p := prov[i]; p.Attr != fmt.Sprintf("a%05d", i) || p.Value != fmt.Sprintf("<v2> & %d", i) {
				t.Errorf("provenance %d: %+v", i, p)
			}
		}
	})
}
