package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

func TestReportFormats(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		e := seeded(t, s)
		r, err := e.Report(ctx, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if r.Summary.Open != 2 || r.Summary.ByKind["changed"] != 2 || r.Summary.BySource["vsphere:vc1"] != 2 || r.Summary.New != 2 {
			t.Fatalf("summary = %+v", r.Summary)
		}
		if err := e.SaveReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		stored, err := e.StoredReport(ctx, r.ID)
		if err != nil || stored.Summary.Open != 2 || len(stored.Open) != 2 {
			t.Fatalf("stored report = %+v, %v", stored, err)
		}
		for format, want := range map[string]string{"md": "| changed | 2 |", "html": "<li>changed vm/web1.cpus", "json": `"by_kind"`} {
			var b bytes.Buffer
			if err := reconcile.Render(&b, stored, format); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s report lacks %q:\n%s", format, want, b.String())
			}
		}
		if err := reconcile.Render(io.Discard, r, "pdf"); err == nil {
			t.Error("pdf accepted")
		}
	})
}

func TestWebhookSignedAndRetried(t *testing.T) {
	secret := []byte("s3cret")
	var calls atomic.Int32
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !reconcile.Verify(secret, body, r.Header.Get(reconcile.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if calls.Add(1) == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		got = body
	}))
	defer srv.Close()
	w := &reconcile.Webhook{URL: srv.URL, Secret: secret, Backoff: time.Millisecond}
	if err := w.Post(context.Background(), []byte(`{"open":1}`)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || string(got) != `{"open":1}` {
		t.Fatalf("calls %d, body %s", calls.Load(), got)
	}
	bad := &reconcile.Webhook{URL: srv.URL, Secret: []byte("wrong"), Backoff: time.Millisecond}
	if err := bad.Post(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestScheduleRunsOncePerTick(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		var posts atomic.Int32
		var report reconcile.Report
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if !reconcile.Verify([]byte("k"), body, r.Header.Get(reconcile.SignatureHeader)) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			posts.Add(1)
			if err := json.Unmarshal(body, &report); err != nil {
				t.Errorf("webhook body: %v", err)
			}
		}))
		defer srv.Close()
		e := reconcile.New(s, reconcile.Options{})
		col := &fakeCollector{name: "vc1", snaps: []*collectors.Snapshot{vcSnap(true, vmObj("u1", "web1", nil))}}
		sc := reconcile.Schedule{Name: "nightly", Cron: "0 3 * * *", Collect: []collectors.Collector{col}, Report: true,
			Webhook: &reconcile.Webhook{URL: srv.URL, Secret: []byte("k"), Backoff: time.Millisecond}}
		// Two replicas fire the same tick: it runs once.
		if err := e.RunSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if err := reconcile.New(s, reconcile.Options{}).RunSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if posts.Load() != 1 || report.Schedule != "nightly" {
			t.Fatalf("posts %d, report %+v", posts.Load(), report)
		}
		if rs, _ := e.Reports(ctx, 0); len(rs) != 1 {
			t.Fatalf("stored reports = %v", rs)
		}
		if _, err := get(t, s, "vm", "web1"), error(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.NewScheduler([]reconcile.Schedule{{Name: "bad", Cron: "every day"}}); err == nil {
			t.Fatal("bad cron accepted")
		}
		sch, err := e.NewScheduler([]reconcile.Schedule{sc})
		if err != nil {
			t.Fatal(err)
		}
		sch.Start()
		sch.Stop()
	})
}

// TestReportListsNearlyFullPools: a pool at 90 % of its size or more is in
// the report, in every format; one with room is not.
func TestReportListsNearlyFullPools(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	e := reconcile.New(s, reconcile.Options{Pools: func(context.Context) ([]reconcile.PoolUsage, error) {
		return []reconcile.PoolUsage{{Pool: "lab-ips", Size: 100, Used: 95, Free: 5}, {Pool: "roomy", Size: 100, Used: 10, Free: 90},
			{Pool: "serials", Size: -1, Used: 5000, Free: -1}}, nil
	}})
	r, err := e.Report(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pools) != 1 || r.Pools[0].Pool != "lab-ips" {
		t.Fatalf("pools in the report: %+v", r.Pools)
	}
	for _, f := range reconcile.Formats {
		var b strings.Builder
		if err := reconcile.Render(&b, r, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "lab-ips") || strings.Contains(b.String(), "roomy") {
			t.Errorf("%s report:\n%s", f, b.String())
		}
	}
}
