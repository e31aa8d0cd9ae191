package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Run statuses. A run is recorded running when it starts; a running run
// whose lease ran out (its process died) is interrupted.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunPartial     = "partial"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// DefaultLease is how long a run and the locks it holds live without a
// heartbeat. A run renews its lease every third of it, so a run whose
// process died is interrupted, and its scopes are free, at most this long
// after its last heartbeat.
const DefaultLease = 15 * time.Second

// RunRecord is one collection, reconcile, apply or schedule run.
type RunRecord struct {
	ID        string        `json:"id" db:"id"`
	Kind      string        `json:"kind" db:"kind"` // collect, reconcile, apply, schedule, …
	Source    string        `json:"source" db:"source"`
	Status    string        `json:"status" db:"status"` // running, ok, partial, failed, interrupted
	StartedAt time.Time     `json:"started_at" db:"started_at"`
	Duration  time.Duration `json:"duration" db:"-"`
	DurMS     int64         `json:"-" db:"duration_ms"`
	Objects   int           `json:"objects" db:"objects"`
	Changes   int           `json:"changes" db:"changes"`
	Errors    []string      `json:"errors,omitempty" db:"-"`
	RawErrors string        `json:"-" db:"errors"`
	Detail    string        `json:"detail,omitempty" db:"detail"`
	Holder    string        `json:"holder,omitempty" db:"holder"` // "host pid N" of the process that ran it
	ExpiresAt *time.Time    `json:"-" db:"expires_at"`            // lease, while running
	Tick      *time.Time    `json:"tick,omitempty" db:"tick"`     // a schedule run's tick
	process
}

// Finished reports whether the run ended, well or badly, as opposed to
// running or interrupted.
func (r *RunRecord) Finished() bool {
	return r.Status != RunRunning && r.Status != RunInterrupted
}

// RunOptions tune StartRun.
type RunOptions struct {
	Lease time.Duration // 0: DefaultLease
	Tick  time.Time     // a schedule's tick; zero for none
}

// Run is a run in progress: recorded as running when it starts, kept alive
// by a heartbeat that renews its lease and its locks' leases, and finished
// once. Locks belong to runs, never to plans or schedules, so two runs of
// one plan are two holders.
type Run struct {
	ID        string
	Kind      string
	Source    string
	StartedAt time.Time

	s       *Store
	lease   time.Duration
	ctx     context.Context
	cancel  context.CancelCauseFunc
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	mu      sync.Mutex
	locks   map[string]bool
}

// ErrLeaseLost is why a run's context ends when it lost its lease: its
// heartbeat could not renew it in time, or someone freed its locks (tana
// unlock). Work under the run stops rather than run on without its locks.
var ErrLeaseLost = errors.New("the run lost its lease")

// StartRun records a run of kind over source as running and starts its
// heartbeat. Work of the run goes under Context; call Finish (or Discard)
// exactly once.
func (s *Store) StartRun(ctx context.Context, kind, source string, o RunOptions) (*Run, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	now := s.Now()
	r := &Run{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Source: source, StartedAt: now, s: s, lease: o.Lease,
		stop: make(chan struct{}), stopped: make(chan struct{}), locks: map[string]bool{}}
	var tick any
	if !o.Tick.IsZero() {
		tick = o.Tick.UTC()
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO runs (id, kind, source, status, started_at, duration_ms, objects, changes, errors, detail,
		holder, host, pid, pid_start, expires_at, tick) VALUES (?, ?, ?, ?, ?, 0, 0, 0, '[]', '', ?, ?, ?, ?, ?, ?)`),
		r.ID, kind, source, RunRunning, now.UTC(), s.proc.String(), s.proc.Host, s.proc.PID, s.proc.Start, now.Add(o.Lease).UTC(), tick)
	if err != nil {
		return nil, fmt.Errorf("record %s run of %s: %w", kind, source, mapError(err))
	}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	go r.heartbeat()
	return r, nil
}

// Context is the run's context: the one it started with, ended early if
// the run loses its lease (context.Cause is then ErrLeaseLost).
func (r *Run) Context() context.Context { return r.ctx }

// heartbeat renews the lease every third of it until the run ends. A run
// whose record or locks someone else took is cancelled. On PostgreSQL,
// where replicas on other hosts take over a lease that ran out, so is a
// run that could not renew it for two thirds of it: it stops before
// another can start. On SQLite, one host's file, a late heartbeat (a long
// write of another process held the database) costs nothing: a live
// process's locks are never taken (see Lock).
func (r *Run) heartbeat() {
	defer close(r.stopped)
	t := time.NewTicker(r.lease / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		err := r.renew()
		switch {
		case err == nil:
			last = time.Now()
		case errors.Is(err, ErrLeaseLost):
			r.cancel(err)
			return
		case r.s.dialect == migrations.Postgres && time.Since(last) >= r.lease*2/3:
			r.cancel(fmt.Errorf("%w: no heartbeat for %s (%v)", ErrLeaseLost, time.Since(last).Round(time.Second), err))
			return
		default:
			r.s.log.Warn("run heartbeat", "run", r.ID, "kind", r.Kind, "source", r.Source, "err", err)
		}
	}
}

// renew moves the run's lease and its locks' leases on.
func (r *Run) renew() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.lease/3)
	defer cancel()
	until := r.s.Now().Add(r.lease).UTC()
	res, err := r.s.db.ExecContext(ctx, r.s.db.Rebind("UPDATE runs SET expires_at = ? WHERE id = ? AND status = ?"), until, r.ID, RunRunning)
	if err != nil {
		return fmt.Errorf("renew run %s: %w", r.ID, mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: run %s was marked interrupted", ErrLeaseLost, r.ID)
	}
	r.mu.Lock()
	held := len(r.locks)
	r.mu.Unlock()
	if held == 0 {
		return nil
	}
	res, err = r.s.db.ExecContext(ctx, r.s.db.Rebind("UPDATE locks SET expires_at = ? WHERE holder = ?"), until, r.ID)
	if err != nil {
		return fmt.Errorf("renew locks of run %s: %w", r.ID, mapError(err))
	}
	if n, _ := res.RowsAffected(); n < int64(held) {
		return fmt.Errorf("%w: %d of its %d locks were freed by someone else", ErrLeaseLost, int64(held)-n, held)
	}
	return nil
}

// Fence checks, inside tx, that the run still holds its locks, and moves
// their leases on: a run that lost them (taken over after its lease ran
// out, or freed by tana unlock) must not commit what it did under them.
// On PostgreSQL the update also holds the rows until tx ends, so no one
// takes them over during the commit.
func (r *Run) Fence(ctx context.Context, tx *Tx) error {
	r.mu.Lock()
	held := len(r.locks)
	r.mu.Unlock()
	if held == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE locks SET expires_at = ? WHERE holder = ?"), tx.now.Add(r.lease).UTC(), r.ID)
	if err != nil {
		return fmt.Errorf("check the locks of run %s: %w", r.ID, mapError(err))
	}
	if n, _ := res.RowsAffected(); n < int64(held) {
		return schema.Errorf(schema.ELOCKED, "%s run %s lost %d of its %d locks before it could commit; nothing was written (%v)",
			r.Kind, r.ID, int64(held)-n, held, ErrLeaseLost)
	}
	return nil
}

// RunResult is how a run ended.
type RunResult struct {
	Status  string // ok, partial or failed
	Objects int
	Changes int
	Errors  []string
	Detail  string
	// SafetyLimits are the safety limits the run hit (each also among
	// Errors): each writes a safety_limit.hit event.
	SafetyLimits []string
}

// Finish records how the run ended, stops its heartbeat and frees its
// locks. If the run had already lost its lease, its record stays
// interrupted and Finish says so.
func (r *Run) Finish(ctx context.Context, res RunResult) error {
	if !r.end() {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	errs, _ := json.Marshal(orEmpty(res.Errors))
	dur := r.s.Now().Sub(r.StartedAt)
	err := r.s.InTx(ctx, func(tx *Tx) error {
		out, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE runs SET status = ?, duration_ms = ?, objects = ?, changes = ?, errors = ?, detail = ?, expires_at = NULL
		WHERE id = ? AND status = ?`), res.Status, dur.Milliseconds(), res.Objects, res.Changes, string(errs), res.Detail, r.ID, RunRunning)
		if err != nil {
			return fmt.Errorf("finish %s run of %s: %w", r.Kind, r.Source, mapError(err))
		}
		if n, _ := out.RowsAffected(); n == 0 {
			return schema.Errorf(schema.ELOCKED, "%s run %s lost its lease before it finished; it is recorded as interrupted", r.Kind, r.ID)
		}
		return tx.Emit(ctx, r.events(res, dur)...)
	})
	return errors.Join(err, r.releaseAll(ctx))
}

// events are the events of a run's end: a collection that failed or
// missed part of its sources, and the safety limits it hit.
func (r *Run) events(res RunResult, dur time.Duration) []Event {
	data := func(extra map[string]any) string {
		m := map[string]any{"run_id": r.ID, "kind": r.Kind, "source": r.Source, "status": res.Status,
			"started_at": r.StartedAt.UTC(), "duration_ms": dur.Milliseconds(), "objects": res.Objects, "errors": orEmpty(res.Errors)}
		maps.Copy(m, extra)
		b, _ := json.Marshal(m) // plain values: cannot fail
		return string(b)
	}
	var out []Event
	if r.Kind == "collect" {
		typ := map[string]string{RunFailed: schema.EventCollectionFailed, RunPartial: schema.EventCollectionIncomplete}[res.Status]
		if typ != "" {
			out = append(out, Event{Type: typ, Subject: "collection/" + r.Source, Scope: r.Source, Kind: res.Status, Data: data(nil)})
		}
	}
	for _, limit := range res.SafetyLimits {
		out = append(out, Event{Type: schema.EventSafetyLimitHit, Subject: r.Kind + "/" + r.Source, Scope: r.Source, Kind: r.Kind,
			Data: data(map[string]any{"limit": limit})})
	}
	return out
}

// Discard drops the record of a run that did nothing (a schedule tick
// another replica ran) and frees its locks.
func (r *Run) Discard(ctx context.Context) error {
	if !r.end() {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	_, err := r.s.db.ExecContext(ctx, r.s.db.Rebind("DELETE FROM runs WHERE id = ?"), r.ID)
	if err != nil {
		err = fmt.Errorf("discard run %s: %w", r.ID, mapError(err))
	}
	return errors.Join(err, r.releaseAll(ctx))
}

// end stops the heartbeat; it reports false when the run already ended.
func (r *Run) end() bool {
	first := false
	r.once.Do(func() {
		first = true
		close(r.stop)
		<-r.stopped
	})
	if first {
		defer r.cancel(context.Canceled)
	}
	return first
}

func (r *Run) releaseAll(ctx context.Context) error {
	r.mu.Lock()
	r.locks = map[string]bool{}
	r.mu.Unlock()
	if _, err := r.s.db.ExecContext(ctx, r.s.db.Rebind("DELETE FROM locks WHERE holder = ?"), r.ID); err != nil {
		return fmt.Errorf("free the locks of run %s: %w", r.ID, mapError(err))
	}
	return nil
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	Kind   string
	Source string
	Since  time.Time
	Limit  int
}

// runCols reads a run with a running run whose lease ran out shown as
// interrupted (the second argument is now).
const runCols = `id, kind, source, CASE WHEN status = 'running' AND expires_at < ? THEN 'interrupted' ELSE status END AS status,
	started_at, duration_ms, objects, changes, errors, detail, holder, expires_at, tick, host, pid, pid_start`

// Runs returns runs, newest first.
func (s *Store) Runs(ctx context.Context, f RunFilter) ([]RunRecord, error) {
	query, args := "SELECT "+runCols+" FROM runs WHERE started_at >= ?", []any{s.Now().UTC(), f.Since.UTC()}
	if f.Kind != "" {
		query += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.Source != "" {
		query += " AND source = ?"
		args = append(args, f.Source)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	query += fmt.Sprintf(" ORDER BY started_at DESC, id DESC LIMIT %d", f.Limit)
	return s.selectRuns(ctx, query, args...)
}

// TickRuns returns the runs of one schedule tick, newest first.
func (s *Store) TickRuns(ctx context.Context, kind, source string, tick time.Time) ([]RunRecord, error) {
	return s.selectRuns(ctx, "SELECT "+runCols+" FROM runs WHERE kind = ? AND source = ? AND tick = ? ORDER BY started_at DESC, id DESC",
		s.Now().UTC(), kind, source, tick.UTC())
}

// MaxTickAttempts is how many runs a tick gets: a tick whose runs were
// interrupted this often (it crashes its process, say) is left alone.
const MaxTickAttempts = 3

// UnfinishedTicks lists the ticks since since of a schedule (runs of kind
// and source) that have runs but neither a finished one nor a live one,
// and fewer than MaxTickAttempts: the ticks whose runs were interrupted,
// oldest first.
func (s *Store) UnfinishedTicks(ctx context.Context, kind, source string, since time.Time) ([]time.Time, error) {
	var out []time.Time
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(`SELECT tick FROM runs WHERE kind = ? AND source = ? AND tick >= ?
		GROUP BY tick
		HAVING SUM(CASE WHEN status IN ('ok', 'partial', 'failed') THEN 1 ELSE 0 END) = 0
		   AND SUM(CASE WHEN status = 'running' AND expires_at >= ? THEN 1 ELSE 0 END) = 0
		   AND COUNT(*) < ?
		ORDER BY tick`), kind, source, since.UTC(), s.Now().UTC(), MaxTickAttempts)
	if err != nil {
		return nil, fmt.Errorf("load unfinished ticks of %s: %w", source, mapError(err))
	}
	for i := range out {
		out[i] = out[i].UTC()
	}
	return out, nil
}

func (s *Store) selectRuns(ctx context.Context, query string, args ...any) ([]RunRecord, error) {
	var out []RunRecord
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(query), args...); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load runs: %w", mapError(err))
	}
	for i := range out {
		r := &out[i]
		r.StartedAt, r.Duration = r.StartedAt.UTC(), time.Duration(r.DurMS)*time.Millisecond
		if r.Tick != nil {
			t := r.Tick.UTC()
			r.Tick = &t
		}
		if err := json.Unmarshal([]byte(r.RawErrors), &r.Errors); err != nil {
			return nil, fmt.Errorf("decode run %s: %w", r.ID, err)
		}
		if alive, known := r.alive(s.proc); r.Status == RunRunning && known && !alive {
			r.Status = RunInterrupted // its process is gone: no need to wait for the lease
		}
	}
	return out, nil
}

// interrupt marks a running run interrupted (its lease ran out, or its
// locks were freed by hand).
func interrupt(ctx context.Context, ex sqlx.ExecerContext, rebind func(string) string, runID, why string) error {
	errs, _ := json.Marshal([]string{why})
	_, err := ex.ExecContext(ctx, rebind("UPDATE runs SET status = ?, errors = ?, expires_at = NULL WHERE id = ? AND status = ?"),
		RunInterrupted, string(errs), runID, RunRunning)
	if err != nil {
		return fmt.Errorf("mark run %s interrupted: %w", runID, mapError(err))
	}
	return nil
}
