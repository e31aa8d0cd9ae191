package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// The scenarios of "drift you can trust", each against the simulator and a
// real named, on SQLite and PostgreSQL.

// web01 with its A and PTR records: a lab without cross-source drift.
var (
	web01    = labVM{"web01", "192.0.2.11", "web01.example.test"}
	web01Fwd = "web01 IN A 192.0.2.11"
	web01Rev = "11 IN PTR web01.example.test."
)

// TestStalePlanRefused: a plan pins the drift it fixes. vCenter says 7
// CPUs, the plan would store 7; vCenter moves on to 8 and a collection
// sees it; applying the old plan must refuse, naming the item, and change
// nothing. A fresh plan then stores 8.
func TestStalePlanPinsDrift(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		l := newLab(t, s, []labVM{web01}, web01Fwd, web01Rev)
		e := l.engine(reconcile.Options{})
		l.collect(e)
		e = l.engine(reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {Observed: "propose"}}})
		before := get(t, s, "vm", "web01").Attrs["cpus"]

		if err := l.vc.Resize(ctx, l.vms["web01"], 7, 2048); err != nil {
			t.Fatal(err)
		}
		l.collect(e)
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: "vsphere"})
		if err != nil {
			t.Fatal(err)
		}
		if !anyContains(planLines(p), "cpus → 7") {
			t.Fatalf("plan: %v", planLines(p))
		}
		if err := l.vc.Resize(ctx, l.vms["web01"], 8, 2048); err != nil {
			t.Fatal(err)
		}
		l.collect(e)
		_, err = e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
		if schema.ErrorCode(err) != schema.ESTALE || !strings.Contains(err.Error(), "vm web01.cpus") ||
			!strings.Contains(err.Error(), "reality now says 8") || !strings.Contains(err.Error(), "plan again") {
			t.Fatalf("apply of a plan whose drift moved: %v", err)
		}
		if got := get(t, s, "vm", "web01").Attrs["cpus"]; got != before {
			t.Fatalf("a refused plan changed cpus to %v", got)
		}
		if open := driftStrings(t, e, reconcile.Filter{Source: "vsphere"}); !anyContains(open, "cpus", "actual 8") {
			t.Fatalf("the drift was closed by a refused plan: %v", open)
		}
		p2, err := e.MakePlan(ctx, reconcile.Filter{Source: "vsphere"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ctx, p2.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "vm", "web01").Attrs["cpus"]; got != int64(8) {
			t.Fatalf("cpus after a fresh plan = %v", got)
		}
	})
}

// TestAmbiguousNameGetsNoFix: two VMs whose guests both call themselves
// web41; the A record has the first one's address. tana reports one
// conflict naming both and proposes nothing for web41 — until a person
// declares the owner: then the fix for that owner appears.
func TestAmbiguousNameGetsNoFix(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		a := labVM{"web41a", "192.0.2.41", "web41.example.test"}
		b := labVM{"web41b", "192.0.2.48", "web41.example.test"}
		l := newLab(t, s, []labVM{a, b}, "web41 IN A 192.0.2.41", "41 IN PTR web41.example.test.")
		e := l.engine(reconcile.Options{})
		l.collect(e)
		open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope})
		if !anyContains(open, "2 VMs claim the DNS name web41.example.test.", "web41a (192.0.2.41", "web41b (192.0.2.48") {
			t.Fatalf("no conflict naming both candidates: %v", open)
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); anyContains(lines, "192.0.2.48") || anyContains(lines, "web41") {
			t.Fatalf("a fix for an ambiguous claim: %v", lines)
		}

		// Settled: web41b is the owner. The A record follows it.
		web41b := get(t, s, "vm", "web41b")
		if _, err := s.Update(ctx, inventorytest.Meta("alice"), web41b.ID, inventory.Patch{Attrs: map[string]any{"dns_name": "web41.example.test."}}); err != nil {
			t.Fatal(err)
		}
		// A plan checks the cross-source drift again: no collection needed.
		p, err = e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope}); anyContains(open, "claim") {
			t.Fatalf("the conflict stays after the owner was declared: %v", open)
		}
		lines := planLines(p)
		if !anyContains(lines, "update dns_record.value: 192.0.2.41 → 192.0.2.48") || !anyContains(lines, "48.2.0.192.in-addr.arpa. PTR web41.example.test.") || len(lines) != 2 {
			t.Fatalf("plan after settling: %v", lines)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		l.collect(e)
		get(t, s, "dns_record", "web41.example.test. A 192.0.2.48")
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("open drift after the fix: %v", open)
		}
	})
}

// TestHandEditedRecord: someone replaces web01's A record by hand. tana
// says the VM and its A record disagree and restores the VM's address;
// afterwards nothing is left open.
func TestHandEditedRecord(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		l := newLab(t, s, []labVM{web01}, web01Fwd, web01Rev)
		e := l.engine(reconcile.Options{})
		l.collect(e)
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("drift before the edit: %v", open)
		}
		l.nsupdate("update delete web01.example.test. A 192.0.2.11\nupdate add web01.example.test. 3600 A 192.0.2.111\nsend")
		l.collect(e)
		open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope})
		if !anyContains(open, "VM web01 has 192.0.2.11 but the A record of web01.example.test. says 192.0.2.111") {
			t.Fatalf("no conflict for the hand-edited record: %v", open)
		}
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 1 || !anyContains(lines, "update dns_record.value: 192.0.2.111 → 192.0.2.11") {
			t.Fatalf("plan: %v", lines)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		// The store follows the fix at once, before any collection.
		get(t, s, "dns_record", "web01.example.test. A 192.0.2.11")
		if open := driftStrings(t, e, reconcile.Filter{Source: reconcile.CrossScope}); len(open) != 0 {
			t.Fatalf("cross drift right after the apply: %v", open)
		}
		l.collect(e)
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("drift after the fix and a collection: %v", open)
		}
	})
}

// TestVanishedVMs: a VM destroyed in vCenter goes stale; no fix is
// proposed for it (no A or PTR to create), and the records it alone
// explained wait while it is stale. Once it is deleted (delete_after),
// they are orphans, and removing them is proposed.
func TestVanishedVMs(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		web05 := labVM{"web05", "192.0.2.15", "web05.example.test"} // no records yet
		web06 := labVM{"web06", "192.0.2.16", "web06.example.test"}
		l := newLab(t, s, []labVM{web01, web05, web06}, web01Fwd+"\nweb06 IN A 192.0.2.16", web01Rev+"\n16 IN PTR web06.example.test.")
		e := l.engine(reconcile.Options{})
		l.collect(e)
		p, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 2 || !anyContains(lines, "create dns_record web05.example.test. A 192.0.2.15") {
			t.Fatalf("plan before: %v", lines)
		}
		for _, name := range []string{"web05", "web06"} {
			if err := l.vc.Destroy(ctx, l.vms[name]); err != nil {
				t.Fatal(err)
			}
		}
		l.collect(e)
		if en := get(t, s, "vm", "web05"); en.Status != inventory.StatusStale {
			t.Fatalf("web05 is %s", en.Status)
		}
		p, err = e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if lines := planLines(p); len(lines) != 0 {
			t.Fatalf("fixes for stale VMs: %v", lines)
		}

		later := reconcile.New(s, reconcile.Options{Fixers: l.fixers, Now: func() time.Time { return time.Now().Add(reconcile.DefaultDeleteAfter + time.Hour) }})
		if res, err := later.ExpireStale(ctx); err != nil || res.Deleted != 2 {
			t.Fatalf("expire: %+v, %v", res, err)
		}
		if err := later.CrossCheck(ctx); err != nil {
			t.Fatal(err)
		}
		p, err = later.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		lines := planLines(p)
		if len(lines) != 2 || !anyContains(lines, "delete dns_record web06.example.test. A 192.0.2.16") ||
			!anyContains(lines, "delete dns_record 16.2.0.192.in-addr.arpa. PTR web06.example.test.") {
			t.Fatalf("plan after the VMs were deleted: %v", lines)
		}
		if _, err := later.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		l.collect(e)
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("drift after removing the orphans: %v", open)
		}
	})
}

// TestResolvedOnceWithCause: a VM without DNS records gets them from an
// applied plan. The store follows the fix at once, so the collections
// after it reopen nothing, and the report lists each fixed item once,
// with when and how it was resolved.
func TestResolvedOnceWithCause(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		start := time.Now().Add(-time.Minute)
		l := newLab(t, s, []labVM{web01, {"web09", "192.0.2.99", "web09.example.test"}}, web01Fwd, web01Rev)
		e := l.engine(reconcile.Options{})
		l.collect(e)
		p, err := e.MakePlan(ctx, reconcile.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Collect(ctx, l.vcCol); err != nil {
			t.Fatal(err)
		}
		if open := driftStrings(t, e, reconcile.Filter{}); len(open) != 0 {
			t.Fatalf("drift reopened by the collection after the apply: %v", open)
		}
		l.collect(e)
		r, err := e.Report(ctx, start)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Resolved) != 2 || r.Summary.Resolved != 2 {
			t.Fatalf("resolved = %v", r.Resolved)
		}
		for _, it := range r.Resolved {
			if it.ResolvedBy != "apply of plan "+p.ID || it.ResolvedAt == nil {
				t.Errorf("%s resolved by %q at %v", it.String(), it.ResolvedBy, it.ResolvedAt)
			}
		}
		for _, format := range reconcile.Formats {
			var b strings.Builder
			if err := reconcile.Render(&b, r, format); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(b.String(), "apply of plan "+p.ID); n != 2 {
				t.Errorf("%s report names the plan %d times:\n%s", format, n, b.String())
			}
		}
	})
}

// TestIncompleteResolvesNothing: vCenter dies during a collection, and a
// DNS zone's transfer is refused while the other zone transfers. The open
// drift of both scopes stays open — an incomplete snapshot may add or
// update drift, never resolve it — and the summaries say why.
func TestIncompleteResolvesNothing(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		vms := []labVM{web01, {"web02", "192.0.2.12", ""}, {"web03", "192.0.2.13", ""}}
		l := newLab(t, s, vms, web01Fwd, web01Rev)
		l.collect(l.engine(reconcile.Options{}))
		e := l.engine(reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {Observed: "propose"}, "dns_record": {Observed: "propose"}}})
		for _, v := range vms {
			if err := l.vc.Resize(ctx, l.vms[v.name], 6, 2048); err != nil {
				t.Fatal(err)
			}
		}
		l.nsupdate("update add extra1.example.test. 300 A 198.51.100.1\nupdate add extra2.example.test. 300 A 198.51.100.2\nsend")
		l.collect(e)
		vcOpen := driftStrings(t, e, reconcile.Filter{Source: "vsphere"})
		dnsOpen := driftStrings(t, e, reconcile.Filter{Source: "dns:" + labZone})
		if len(vcOpen) < 3 || len(dnsOpen) != 2 {
			t.Fatalf("open drift before: vsphere %v, dns %v", vcOpen, dnsOpen)
		}

		l.cut.Store(true) // vCenter dies mid-collection
		sums, err := e.Collect(ctx, l.vcCol)
		if err != nil || len(sums) != 1 || sums[0].Complete || len(sums[0].Errors) == 0 {
			t.Fatalf("collection of a dying vCenter: %+v, %v", sums, err)
		}
		// One zone refused, the other transferred.
		bind2 := dnstest.StartBIND(t, dnstest.Options{Zones: labZones(web01Fwd, web01Rev)[1:]})
		col2, err := dns.New(l.dnsConfig(bind2, labZone, labRev), nil)
		if err != nil {
			t.Fatal(err)
		}
		sums, err = e.Collect(ctx, col2)
		if err != nil || len(sums) != 2 {
			t.Fatalf("collection with a refused zone: %+v, %v", sums, err)
		}
		for _, sum := range sums {
			if want := sum.Scope != "dns:"+labZone; sum.Complete != want || !want && len(sum.Errors) == 0 {
				t.Errorf("%s: complete %v, errors %v", sum.Scope, sum.Complete, sum.Errors)
			}
		}
		if got := driftStrings(t, e, reconcile.Filter{Source: "vsphere"}); len(got) != len(vcOpen) {
			t.Errorf("vsphere drift after an incomplete collection: %v (was %v)", got, vcOpen)
		}
		if got := driftStrings(t, e, reconcile.Filter{Source: "dns:" + labZone}); len(got) != 2 {
			t.Errorf("drift of the refused zone: %v (was %v)", got, dnsOpen)
		}
		if resolved := driftStrings(t, e, reconcile.Filter{Resolved: true}); len(resolved) != 0 {
			t.Errorf("resolved by incomplete collections: %v", resolved)
		}
	})
}

// TestSafetyLimitsCountRealityDeletes: 60 orphan A records in the zone; a
// plan that removes them all from DNS is more deletes than max_deletes
// (50 by default, or the type's own), so apply refuses and DNS keeps them;
// overriding the limits removes them.
func TestSafetyLimitsCountRealityDeletes(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		var fwd strings.Builder
		fwd.WriteString(web01Fwd + "\n")
		for i := range 60 {
			fmt.Fprintf(&fwd, "old%02d IN A 198.51.100.%d\n", i, i+1)
		}
		l := newLab(t, s, []labVM{web01}, fwd.String(), web01Rev)
		e := l.engine(reconcile.Options{})
		l.collect(e)
		p, err := e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(planLines(p)); n != 60 {
			t.Fatalf("plan has %d fixes, want 60 deletes", n)
		}
		for _, c := range []struct {
			policy reconcile.Policy
			want   string
		}{
			{reconcile.Policy{}, "delete 60 dns_record entries, more than max_deletes 50"},
			{reconcile.Policy{MaxDeletes: 10}, "more than max_deletes 10"},
		} {
			e := l.engine(reconcile.Options{Policies: map[string]reconcile.Policy{"dns_record": c.policy}})
			_, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{})
			if schema.ErrorCode(err) != schema.ECONFLICT || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("apply past the limit (%+v): %v", c.policy, err)
			}
		}
		l.collect(e)
		if _, err := s.GetByName(ctx, "dns_record", "old00.example.test. A 198.51.100.1"); err != nil {
			t.Fatalf("a refused plan removed a record: %v", err)
		}
		p, err = e.MakePlan(ctx, reconcile.Filter{Source: reconcile.CrossScope})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{OverrideLimits: true})
		if err != nil || res.Reality != 60 {
			t.Fatalf("apply with --override-limits: %+v, %v", res, err)
		}
		l.collect(e)
		if n, err := s.Count(ctx, inventory.Query{Type: "dns_record"}); err != nil || n != 5 { // two NS, ns1 A, web01 A and PTR
			t.Fatalf("records left: %d, %v", n, err)
		}
	})
}

// TestScheduleExpiryWithinLimits: eight VMs are destroyed and a schedule
// runs after their delete_after. With max_deletes 5 none is deleted: they
// are marked stale (they were active until then) and stay for a person,
// and the run says why; with max_deletes 10 all eight go, and the
// schedule's run record counts them.
func TestScheduleExpiryWithinLimits(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		var vms []labVM
		for i := range 9 {
			vms = append(vms, labVM{fmt.Sprintf("app%02d", i), fmt.Sprintf("192.0.2.%d", 100+i), ""})
		}
		l := newLab(t, s, vms, "", "")
		l.collect(l.engine(reconcile.Options{}))
		for _, v := range vms[1:] {
			if err := l.vc.Destroy(ctx, l.vms[v.name]); err != nil {
				t.Fatal(err)
			}
		}
		later := func() time.Time { return time.Now().Add(reconcile.DefaultDeleteAfter + time.Hour) }
		sc := reconcile.Schedule{Name: "nightly", Cron: "@daily", Collect: []collectors.Collector{l.vcCol}}
		tick := later().Truncate(time.Hour)

		e := l.engine(reconcile.Options{Now: later, Policies: map[string]reconcile.Policy{"vm": {MaxDeletes: 5}}})
		if err := e.RunTick(ctx, sc, tick); err != nil {
			t.Fatal(err)
		}
		for _, v := range vms[1:] {
			if en := get(t, s, "vm", v.name); en.Status != inventory.StatusStale {
				t.Fatalf("%s held back by the limit is %s, want stale", v.name, en.Status)
			}
		}
		if page, err := s.Find(ctx, inventory.Query{Type: "vm", Status: inventory.StatusStale}); err != nil || len(page.Entries) != 8 {
			t.Fatalf("stale VMs: %v, %v", page, err)
		}
		open := driftStrings(t, e, reconcile.Filter{Source: "vsphere"})
		if len(open) != 8 || !anyContains(open, "held back", "max_deletes 5") {
			t.Fatalf("drift of held-back VMs: %v", open)
		}
		// The schedule's run counts what its collection changed (a datastore's
		// free space, say), and no deletes.
		recon := lastRun(t, s, "reconcile", "vsphere:vc1")
		runs, err := s.Runs(ctx, inventory.RunFilter{Kind: "schedule", Source: "nightly"})
		if err != nil || len(runs) != 1 || runs[0].Changes != recon.Changes || len(runs[0].Errors) != 1 || !anyContains(runs[0].Errors, "max_deletes 5") {
			t.Fatalf("schedule run held back: %+v, %v (its collection: %+v)", runs, err, recon)
		}

		e = l.engine(reconcile.Options{Now: func() time.Time { return later().Add(time.Hour) }, Policies: map[string]reconcile.Policy{"vm": {MaxDeletes: 10}}})
		if err := e.RunTick(ctx, sc, tick.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Count(ctx, inventory.Query{Type: "vm"}); err != nil || n != 1 {
			t.Fatalf("VMs left: %d, %v", n, err)
		}
		recon = lastRun(t, s, "reconcile", "vsphere:vc1")
		runs, err = s.Runs(ctx, inventory.RunFilter{Kind: "schedule", Source: "nightly"})
		if err != nil || len(runs) != 2 || runs[0].Changes != recon.Changes || recon.Changes < 8 {
			t.Fatalf("schedule run that deleted: %+v, %v (its collection: %+v)", runs, err, recon)
		}
	})
}

func lastRun(t *testing.T, s *inventory.Store, kind, source string) inventory.RunRecord {
	t.Helper()
	runs, err := s.Runs(context.Background(), inventory.RunFilter{Kind: kind, Source: source, Limit: 1})
	if err != nil || len(runs) != 1 {
		t.Fatalf("last %s run of %s: %v, %v", kind, source, runs, err)
	}
	return runs[0]
}
