package inventory_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

func startRun(t *testing.T, s *inventory.Store, kind, source string, lease time.Duration) *inventory.Run {
	t.Helper()
	r, err := s.StartRun(context.Background(), kind, source, inventory.RunOptions{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // a no-op for a run the test ended
		if err := r.Discard(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return r
}

func runStatus(t *testing.T, s *inventory.Store, id string) string {
	t.Helper()
	runs, err := s.Runs(context.Background(), inventory.RunFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == id {
			return r.Status
		}
	}
	t.Fatalf("run %s not recorded", id)
	return ""
}

// TestRunLocks: locks belong to runs. A second run is refused a held scope
// with the holder named, whatever the store handle; the holder may take
// its own lock again; finishing frees every lock of the run.
func TestRunLocks(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		a := startRun(t, s1, "apply", "plan:p1", 0)
		b := startRun(t, s2, "apply", "plan:p1", 0) // the same plan: still another holder
		if err := a.Lock(ctx, "apply:dns:a."); err != nil {
			t.Fatal(err)
		}
		if err := a.Lock(ctx, "apply:dns:a."); err != nil {
			t.Fatalf("the holder locking again: %v", err)
		}
		err := b.Lock(ctx, "apply:dns:a.")
		if schema.ErrorCode(err) != schema.ELOCKED || !strings.Contains(err.Error(), "locked by run "+a.ID+" (apply plan:p1, ") {
			t.Fatalf("second run: %v", err)
		}
		if err := b.Lock(ctx, "apply:dns:b."); err != nil {
			t.Fatalf("another scope: %v", err)
		}
		if locks, err := s2.Locks(ctx); err != nil || len(locks) != 2 || locks[0].Holder != a.ID || locks[0].RunKind != "apply" {
			t.Fatalf("locks = %+v, %v", locks, err)
		}
		if err := a.Finish(ctx, inventory.RunResult{Status: inventory.RunOK}); err != nil {
			t.Fatal(err)
		}
		if err := b.Lock(ctx, "apply:dns:a."); err != nil {
			t.Fatalf("after the holder finished: %v", err)
		}
	})
}

// TestDeadRunsFreeTheirLocks: a run whose process died on this host frees
// its scope at once and reads interrupted; one on another host, whose
// life cannot be told, keeps it until its lease runs out; a live run keeps
// its locks however long.
func TestDeadRunsFreeTheirLocks(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		lease := 600 * time.Millisecond
		live := startRun(t, s1, "collect", "vc1", lease)
		dead := startRun(t, s1, "apply", "plan:p1", lease)
		far := startRun(t, s1, "apply", "plan:p2", lease)
		for scope, r := range map[string]*inventory.Run{"apply:vsphere:vc1": live, "apply:dns:a.": dead, "apply:dns:b.": far} {
			if err := r.Lock(ctx, scope); err != nil {
				t.Fatal(err)
			}
		}
		dead.Abandon()
		far.Abandon()
		inventorytest.KillRun(t, dsn, dead.ID)
		inventorytest.MoveRun(t, dsn, far.ID)
		other := startRun(t, s2, "apply", "plan:p3", lease)
		if err := other.Lock(ctx, "apply:dns:a."); err != nil {
			t.Fatalf("the scope of a dead process: %v", err)
		}
		if got := runStatus(t, s2, dead.ID); got != inventory.RunInterrupted {
			t.Fatalf("the dead run reads %s", got)
		}
		if err := other.Lock(ctx, "apply:dns:b."); schema.ErrorCode(err) != schema.ELOCKED {
			t.Fatalf("another host's run within its lease: %v", err)
		}
		time.Sleep(2 * lease)
		if err := other.Lock(ctx, "apply:dns:b."); err != nil {
			t.Fatalf("another host's run after its lease: %v", err)
		}
		if got := runStatus(t, s2, far.ID); got != inventory.RunInterrupted {
			t.Fatalf("the run elsewhere reads %s", got)
		}
		if err := other.Lock(ctx, "apply:vsphere:vc1"); schema.ErrorCode(err) != schema.ELOCKED {
			t.Fatalf("a live run's lock after 2 leases: %v", err)
		}
		if got := runStatus(t, s2, live.ID); got != inventory.RunRunning {
			t.Fatalf("the live run reads %s", got)
		}
	})
}

// TestLateHeartbeatKeepsTheLock: on SQLite a long write of another handle
// holds the database for three leases, so the holder cannot renew; it is
// alive, so its lock is not taken, and it can still commit (Fence).
func TestLateHeartbeatKeepsTheLock(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		lease := 300 * time.Millisecond
		holder := startRun(t, s1, "apply", "plan:p1", lease)
		if err := holder.Lock(ctx, "apply:vsphere:vc1"); err != nil {
			t.Fatal(err)
		}
		if err := s2.InTx(ctx, func(tx *inventory.Tx) error {
			if _, err := tx.Create(ctx, inventorytest.Meta("t"), "vm", "long", nil); err != nil {
				return err
			}
			time.Sleep(3 * lease)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		other := startRun(t, s2, "collect", "vc1", lease)
		if err := other.Lock(ctx, "apply:vsphere:vc1"); schema.ErrorCode(err) != schema.ELOCKED {
			t.Fatalf("the lock of a live run with a late heartbeat: %v", err)
		}
		if err := s1.InTx(ctx, func(tx *inventory.Tx) error { return holder.Fence(ctx, tx) }); err != nil {
			t.Fatalf("the holder's fence: %v", err)
		}
		if err := holder.Context().Err(); err != nil {
			t.Fatalf("the holder was stopped: %v", context.Cause(holder.Context()))
		}
	})
}

// TestUnlock: a person frees a stuck scope; the run that held it is
// interrupted and, alive, its context ends at its next heartbeat.
func TestUnlock(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		held := startRun(t, s1, "apply", "plan:p1", 300*time.Millisecond)
		if err := held.Lock(ctx, "apply:cross"); err != nil {
			t.Fatal(err)
		}
		freed, err := s2.Unlock(ctx, "apply:cross", "alice")
		if err != nil || freed.Holder != held.ID {
			t.Fatalf("unlock: %+v, %v", freed, err)
		}
		if _, err := s2.Unlock(ctx, "apply:cross", "alice"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("unlock of a free scope: %v", err)
		}
		select {
		case <-held.Context().Done():
			if !errors.Is(context.Cause(held.Context()), inventory.ErrLeaseLost) {
				t.Fatalf("cause: %v", context.Cause(held.Context()))
			}
		case <-time.After(3 * time.Second):
			t.Fatal("the unlocked run went on")
		}
		if got := runStatus(t, s2, held.ID); got != inventory.RunInterrupted {
			t.Fatalf("unlocked run reads %s", got)
		}
	})
}

// TestClaimPlanOnce: of two runs claiming one plan at once, on two handles,
// exactly one wins; the other is told the plan is being applied; once
// applied, nobody claims it; a plan whose applying run died reads
// interrupted and may be claimed again.
func TestClaimPlanOnce(t *testing.T) {
	inventorytest.ForEachPair(t, func(t *testing.T, dsn string, s1, s2 *inventory.Store) {
		ctx := context.Background()
		for _, id := range []string{"p1", "p2"} {
			if err := s1.InTx(ctx, func(tx *inventory.Tx) error {
				return tx.SavePlan(ctx, &inventory.PlanRecord{ID: id, Actor: "me", Status: inventory.PlanProposed, Data: "{}"})
			}); err != nil {
				t.Fatal(err)
			}
		}
		runs := []*inventory.Run{startRun(t, s1, "apply", "plan:p1", 0), startRun(t, s2, "apply", "plan:p1", 0)}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, s := range []*inventory.Store{s1, s2} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.ClaimPlan(ctx, "p1", runs[i]) }()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("claims: %v, %v — want exactly one", errs[0], errs[1])
		}
		loser := errs[0]
		if loser == nil {
			loser = errs[1]
		}
		if schema.ErrorCode(loser) != schema.ECONFLICT || !strings.Contains(loser.Error(), "is being applied by run") {
			t.Fatalf("losing claim: %v", loser)
		}
		winner := runs[0]
		if errs[0] != nil {
			winner = runs[1]
		}
		if err := s1.InTx(ctx, func(tx *inventory.Tx) error { return tx.SetPlanStatus(ctx, "p1", inventory.PlanApplied, "") }); err != nil {
			t.Fatal(err)
		}
		if err := s2.ClaimPlan(ctx, "p1", startRun(t, s2, "apply", "plan:p1", 0)); schema.ErrorCode(err) != schema.ECONFLICT ||
			!strings.Contains(err.Error(), "already applied") || !strings.Contains(err.Error(), winner.ID) {
			t.Fatalf("claim of an applied plan: %v", err)
		}

		dead := startRun(t, s1, "apply", "plan:p2", 300*time.Millisecond)
		if err := s1.ClaimPlan(ctx, "p2", dead); err != nil {
			t.Fatal(err)
		}
		dead.Abandon()
		inventorytest.KillRun(t, dsn, dead.ID)
		if p, err := s2.Plan(ctx, "p2"); err != nil || p.Status != inventory.PlanInterrupted {
			t.Fatalf("plan of a dead run: %+v, %v", p, err)
		}
		if err := s2.ClaimPlan(ctx, "p2", startRun(t, s2, "apply", "plan:p2", 0)); err != nil {
			t.Fatalf("claim of an interrupted plan: %v", err)
		}
	})
}
