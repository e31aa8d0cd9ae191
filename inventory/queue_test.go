package inventory

import (
	"errors"
	"slices"
	"testing"
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
	tx.enqueue(job(0, boom))
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
