package inventory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/schema"
)

// TestExecQueue checks the statement queue: jobs run in order, the first
// error skips the rest and is returned by later enqueues and by drain,
// and a drained queue starts afresh.
func TestExecQueue(t *testing.T) {
	tx := &Tx{}
	var ran []int
	job := func(i int, err error) func() error {
		return func() error { ran = append(ran, i); return err }
	}
	for i := range 5 {
		if err := tx.enqueue(job(i, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.drain(); err != nil || !slices.Equal(ran, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	boom := errors.New("boom")
	ran = nil
	if err := tx.enqueue(job(0, boom)); err != nil {
		t.Fatal(err) // the job has not run yet
	}
	var err error
	for i := 1; err == nil && i < 100; i++ {
		err = tx.enqueue(job(i, nil))
	}
	if !errors.Is(err, boom) {
		t.Errorf("enqueue after a failed job: %v", err)
	}
	if err := tx.drain(); !errors.Is(err, boom) {
		t.Errorf("drain: %v, want boom", err)
	}
	if !slices.Equal(ran, []int{0}) {
		t.Errorf("jobs after the failed one ran: %v", ran)
	}
	if err := tx.enqueue(job(7, nil)); err != nil {
		t.Errorf("a drained queue keeps its error: %v", err)
	}
	if err := tx.drain(); err != nil {
		t.Error(err)
	}
}

// TestAbandonedQueueRunsNothingAfter checks that a transaction that fails
// or panics with statements still queued skips them and rolls back
// cleanly, on a real SQLite store.
func TestAbandonedQueueRunsNothingAfter(t *testing.T) {
	ctx := context.Background()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"), reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	queue := func(tx *Tx) *rowWriter {
		rw := tx.rowWriter("changesets", "id", "actor", "source", "reason", "created_at")
		for i := range 50000 { // several statements, most still queued
			if err := rw.add(ctx, fmt.Sprint("cs", i), "t", "test", "", tx.now); err != nil {
				t.Fatal(err)
			}
		}
		return rw
	}
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx *Tx) error { queue(tx); return nil }); err == nil || !strings.Contains(err.Error(), "changesets") {
		t.Errorf("a transaction that left rows unsent committed: %v", err)
	}
	if err := s.InTx(ctx, func(tx *Tx) error { queue(tx); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed transaction: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		_ = s.InTx(ctx, func(tx *Tx) error { queue(tx); panic("boom") }) // panics
	}()
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM changesets"); err != nil || n != 0 {
		t.Errorf("%d change sets written by abandoned transactions (%v)", n, err)
	}
	if err := s.InTx(ctx, func(tx *Tx) error { return queue(tx).flush(ctx) }); err != nil {
		t.Fatal(err)
	}
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM changesets"); err != nil || n != 50000 {
		t.Errorf("%d change sets after a committed transaction, want 50000 (%v)", n, err)
	}
}
