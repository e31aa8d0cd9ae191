package reconcile_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// digestReceiver is a webhook receiver on loopback that checks the
// signature, keeps every report it took, and answers 503 while down.
type digestReceiver struct {
	mu      sync.Mutex
	reports []reconcile.Report
	down    bool
}

func (d *digestReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !reconcile.Verify([]byte("k"), body, r.Header.Get(reconcile.SignatureHeader)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var rep reconcile.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d.reports = append(d.reports, rep)
}

func (d *digestReceiver) posted() []reconcile.Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reports)
}

func (d *digestReceiver) setDown(down bool) { d.mu.Lock(); d.down = down; d.mu.Unlock() }

// names is what a digest list says, as "entry.attr".
func names(items []reconcile.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.EntryName+"."+it.Attr)
	}
	return out
}

// TestDigestPostsOnlyWhenDriftChanges: a schedule with OnlyOnChange posts
// its first report, then only when the open drift differs from the last
// report posted — with what is new, changed and resolved since; a report
// the receiver did not take is posted again at the next tick, digest and
// all. Every tick still stores its report.
func TestDigestPostsOnlyWhenDriftChanges(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		rcv := &digestReceiver{}
		srv := httptest.NewServer(rcv)
		defer srv.Close()
		e := reconcile.New(s, reconcile.Options{})
		reconcileOK(t, e, vcSnap(true, vmObj("u1", "web1", map[string]any{"cpus": 2}), vmObj("u2", "web2", map[string]any{"cpus": 1})))
		e = reconcile.New(s, reconcile.Options{Policies: proposeAll()})
		col := &fakeCollector{name: "vc1"}
		sc := reconcile.Schedule{Name: "nightly", Cron: "@every 1h", Collect: []collectors.Collector{col}, Report: true, OnlyOnChange: true,
			Webhook: &reconcile.Webhook{URL: srv.URL, Secret: []byte("k"), Backoff: time.Millisecond, Retries: 1}}
		tick := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		step := func(name string, web1, web2 int, wantPosts int, wantErr bool) *reconcile.Digest {
			t.Helper()
			col.snaps = []*collectors.Snapshot{vcSnap(true, vmObj("u1", "web1", map[string]any{"cpus": web1}), vmObj("u2", "web2", map[string]any{"cpus": web2}))}
			tick = tick.Add(time.Hour)
			if err := e.RunTick(ctx, sc, tick); (err != nil) != wantErr {
				t.Fatalf("%s: run: %v (want an error: %v)", name, err, wantErr)
			}
			got := rcv.posted()
			if len(got) != wantPosts {
				t.Fatalf("%s: %d posts, want %d", name, len(got), wantPosts)
			}
			last := got[len(got)-1]
			if last.Digest == nil || last.Digest.Fingerprint != reconcile.Fingerprint(last.Open) {
				t.Fatalf("%s: digest %+v does not fingerprint the open drift", name, last.Digest)
			}
			return last.Digest
		}
		expect := func(name string, d *reconcile.Digest, add, changed, resolved []string) {
			t.Helper()
			if !slices.Equal(names(d.New), add) || !slices.Equal(names(d.Changed), changed) || !slices.Equal(names(d.Resolved), resolved) {
				t.Errorf("%s: new %v changed %v resolved %v; want %v %v %v", name, names(d.New), names(d.Changed), names(d.Resolved), add, changed, resolved)
			}
		}

		d := step("first", 4, 1, 1, false)
		expect("first", d, []string{"web1.cpus"}, nil, nil)
		if d.Previous != "" {
			t.Errorf("first digest has a previous report %q", d.Previous)
		}
		first := rcv.posted()[0].ID

		step("same drift", 4, 1, 1, false)
		step("same drift again", 4, 1, 1, false)

		d = step("new drift", 4, 8, 2, false)
		expect("new drift", d, []string{"web2.cpus"}, nil, nil)
		if d.Previous != first || d.PreviousAt == nil {
			t.Errorf("new drift: previous %q at %v, want %q", d.Previous, d.PreviousAt, first)
		}

		d = step("resolved", 2, 8, 3, false)
		expect("resolved", d, nil, nil, []string{"web1.cpus"})
		if r := d.Resolved[0]; r.ResolvedAt == nil || r.ResolvedBy == "" {
			t.Errorf("resolved item without its resolution: %+v", r)
		}

		for format, want := range map[string][]string{
			"md":   {"## Since the last report posted", "### Resolved (1)", "- changed vm/web1.cpus: store 2, actual 4 (observed) — resolved "},
			"html": {"<h2>Since the last report posted</h2>", ", posted 20", "<h3>Resolved (1)</h3><ul><li>changed vm/web1.cpus"},
		} {
			var b strings.Builder
			posted := rcv.posted()
			if err := reconcile.Render(&b, &posted[2], format); err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%s digest lacks %q:\n%s", format, w, b.String())
				}
			}
		}

		d = step("changed values", 2, 16, 4, false)
		expect("changed values", d, nil, []string{"web2.cpus"}, nil)
		if got := d.Changed[0].Actual; got != float64(16) {
			t.Errorf("changed item shows actual %v, want 16", got)
		}

		// The receiver is down: the run fails and nothing is recorded as
		// posted, so the next tick posts the same change again.
		rcv.setDown(true)
		step("receiver down", 3, 16, 4, true)
		rcv.setDown(false)
		d = step("receiver back", 3, 16, 5, false)
		expect("receiver back", d, []string{"web1.cpus"}, nil, nil)

		step("quiet after", 3, 16, 5, false)
		if rs, err := e.Reports(ctx, 0); err != nil || len(rs) != 9 {
			t.Fatalf("stored reports = %d, %v; want one per tick (9)", len(rs), err)
		}
	})
}

// TestDigestOnlyWhatTheReaderMaySee: a report cut down for a reader cuts
// its digest too, and drops the fingerprint that would tell them hidden
// drift moved.
func TestDigestOnlyWhatTheReaderMaySee(t *testing.T) {
	web := reconcile.Item{Kind: reconcile.Changed, Type: "vm", Scope: "vsphere:vc1", EntryID: 1, EntryName: "web1", Attr: "cpus"}
	db := reconcile.Item{Kind: reconcile.Changed, Type: "vm", Scope: "vsphere:vc1", EntryID: 2, EntryName: "db1", Attr: "cpus"}
	r := &reconcile.Report{Open: []reconcile.Item{web, db}, Digest: &reconcile.Digest{Fingerprint: "f",
		New: []reconcile.Item{web}, Changed: []reconcile.Item{db}, Resolved: []reconcile.Item{db}}}
	notDB := func(it *reconcile.Item) bool { return it.EntryName != "db1" }
	c := r.Only(notDB, func(string) bool { return true })
	if got := c.Digest; !slices.Equal(names(got.New), []string{"web1.cpus"}) || len(got.Changed)+len(got.Resolved) != 0 || got.Fingerprint != "" {
		t.Errorf("cut digest = %+v", got)
	}
	if all := r.Only(func(*reconcile.Item) bool { return true }, func(string) bool { return true }); all.Digest.Fingerprint != "f" || len(all.Digest.Resolved) != 1 {
		t.Errorf("digest for a reader who sees all = %+v", all.Digest)
	}
	if r.Digest.Fingerprint != "f" || len(r.Digest.Changed) != 1 {
		t.Errorf("Only changed the report it cut: %+v", r.Digest)
	}
}
