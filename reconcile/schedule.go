package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Schedule is one cron job: collect sources (which reconciles them and
// applies policy-apply drift), expire stale entries, store a report and
// post it to a webhook.
type Schedule struct {
	Name    string
	Cron    string // five fields (six with seconds first), or descriptors such as @hourly
	Collect []collectors.Collector
	Report  bool
	Webhook *Webhook // nil: no webhook
	// OnlyOnChange posts the report only when its open drift differs from
	// that of the last report posted, with a Digest of how.
	OnlyOnChange bool
}

// Scheduler runs schedules. Several replicas may run one scheduler each;
// every tick of a schedule ends with exactly one finished run across them:
// a run records its tick, takes the schedule's lock, and a tick that has a
// finished run is not run again. A tick whose run died with its replica
// (the run reads interrupted once its lease ran out) is picked up by
// another replica at its next check, within one lease and one check
// interval of the death.
type Scheduler struct {
	e      *Engine
	items  []scheduled
	check  time.Duration // how often due ticks are looked for
	window time.Duration // how old a tick may be and still run
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	busy   map[string]bool // schedules this process is running
}

type scheduled struct {
	sc   Schedule
	spec cron.Schedule
}

// cronParser reads five fields, six with leading seconds, or descriptors
// such as @hourly and @every 1h.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CatchUpWindow is how old a tick may be and still be run by a scheduler
// that finds it without a finished run (its replica died, or every
// replica was down at the tick).
const CatchUpWindow = 10 * time.Minute

// NewScheduler validates the schedules and prepares them; Start runs them.
func (e *Engine) NewScheduler(schedules []Schedule) (*Scheduler, error) {
	ctx, stop := context.WithCancel(context.Background())
	s := &Scheduler{e: e, check: e.lease() / 2, window: CatchUpWindow, ctx: ctx, stop: stop, busy: map[string]bool{}}
	if s.check > 10*time.Second {
		s.check = 10 * time.Second
	}
	for i, sc := range schedules {
		spec, err := cronParser.Parse(sc.Cron)
		if err != nil {
			stop()
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("schedules[%d].cron", i), "bad cron expression %q: %v", sc.Cron, err)
		}
		s.items = append(s.items, scheduled{sc: sc, spec: spec})
	}
	return s, nil
}

// Start begins running schedules in the background.
func (s *Scheduler) Start() {
	s.wg.Add(1)
	go s.loop()
}

// Stop stops the schedules and waits for running ones to finish.
func (s *Scheduler) Stop() {
	s.stop()
	s.wg.Wait()
}

// loop wakes at every tick and every check interval and runs the due tick
// of each schedule that has not run.
func (s *Scheduler) loop() {
	defer s.wg.Done()
	for {
		now := s.e.now()
		wake := now.Add(s.check)
		for _, it := range s.items {
			s.fire(it, now)
			if next := it.spec.Next(now); next.Before(wake) {
				wake = next
			}
		}
		t := time.NewTimer(wake.Sub(now))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// fire runs, in the background, the ticks of a schedule that are due and
// have not run: those of the window whose runs were interrupted, oldest
// first, then the latest — unless this process is running the schedule
// already.
func (s *Scheduler) fire(it scheduled, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[it.sc.Name] {
		return
	}
	s.busy[it.sc.Name] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { s.mu.Lock(); delete(s.busy, it.sc.Name); s.mu.Unlock() }()
		ticks, err := s.e.store.UnfinishedTicks(s.ctx, "schedule", it.sc.Name, now.Add(-s.window))
		if err != nil {
			s.e.log.Error("schedule: look for interrupted ticks", "schedule", it.sc.Name, "err", err)
		}
		if due := lastTick(it.spec, now); !due.IsZero() && now.Sub(due) <= s.window && !slices.ContainsFunc(ticks, due.Equal) {
			ticks = append(ticks, due)
		}
		for _, tick := range ticks {
			if err := s.e.RunTick(s.ctx, it.sc, tick); err != nil {
				s.e.log.Error("schedule failed", "schedule", it.sc.Name, "tick", tick, "err", err)
			}
		}
	}()
}

// lastTick is the latest activation of spec at or before now; zero if
// there is none in the last 400 days. A constant delay (@every 10m) has no
// fixed activations of its own: its ticks are anchored to the zero time,
// so every replica finds the same ones.
func lastTick(spec cron.Schedule, now time.Time) time.Time {
	if d, ok := spec.(cron.ConstantDelaySchedule); ok {
		return now.Truncate(d.Delay)
	}
	for back := time.Second; back <= 400*24*time.Hour; back *= 2 {
		t := spec.Next(now.Add(-back))
		if t.After(now) {
			continue
		}
		for {
			next := spec.Next(t)
			if next.After(now) {
				return t
			}
			t = next
		}
	}
	return time.Time{}
}

// RunSchedule runs the latest tick of a schedule now, unless it ran
// already or another replica is running it.
func (e *Engine) RunSchedule(ctx context.Context, sc Schedule) error {
	spec, err := cronParser.Parse(sc.Cron)
	if err != nil {
		return schema.FieldErrorf(schema.EINVALID, "cron", "bad cron expression %q: %v", sc.Cron, err)
	}
	return e.RunTick(ctx, sc, lastTick(spec, e.now()))
}

// RunTick runs one tick of a schedule, unless the tick has a finished run
// already or a live run elsewhere. The run records the tick and holds the
// schedule's lock while it works.
func (e *Engine) RunTick(ctx context.Context, sc Schedule, tick time.Time) error {
	tick = tick.UTC().Truncate(time.Second)
	if taken, err := e.tickTaken(ctx, sc.Name, tick); taken || err != nil {
		return err
	}
	run, err := e.begin(ctx, "schedule", sc.Name, tick)
	if err != nil {
		return err
	}
	defer e.guard(ctx, run)
	err = run.Lock(ctx, "schedule:"+sc.Name)
	taken := schema.ErrorCode(err) == schema.ELOCKED
	if err == nil {
		// Another replica may have finished the tick between the look and
		// the lock. Its running records are the losers of the lock, about
		// to be discarded: only a finished run takes the tick now.
		taken, err = e.tickFinished(ctx, sc.Name, tick)
	}
	if taken || err != nil {
		e.log.Debug("schedule tick taken", "schedule", sc.Name, "tick", tick, "err", err)
		return errors.Join(run.Discard(ctx), ignoreLocked(err))
	}
	since, err := e.lastScheduleStart(ctx, sc.Name, run.ID, tick)
	if err != nil {
		e.end(ctx, run, 0, 0, err, nil)
		return err
	}
	e.log.Info("schedule started", "schedule", sc.Name, "tick", tick)
	out := &scheduleOutcome{}
	err = e.runSchedule(run.Context(), sc, since, out)
	e.end(ctx, run, out.objects, out.changes, err, out.notes)
	return err
}

func ignoreLocked(err error) error {
	if schema.ErrorCode(err) == schema.ELOCKED {
		return nil
	}
	return err
}

// tickTaken reports whether a tick has a finished run, or a live one.
func (e *Engine) tickTaken(ctx context.Context, name string, tick time.Time) (bool, error) {
	return e.tickHas(ctx, name, tick, func(r *inventory.RunRecord) bool { return r.Finished() || r.Status == inventory.RunRunning })
}

// tickFinished reports whether a tick has a finished run.
func (e *Engine) tickFinished(ctx context.Context, name string, tick time.Time) (bool, error) {
	return e.tickHas(ctx, name, tick, (*inventory.RunRecord).Finished)
}

func (e *Engine) tickHas(ctx context.Context, name string, tick time.Time, ok func(*inventory.RunRecord) bool) (bool, error) {
	runs, err := e.store.TickRuns(ctx, "schedule", name, tick)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(runs, func(r inventory.RunRecord) bool { return ok(&r) }), nil
}

// lastScheduleStart is when the schedule's previous finished run started
// (what its report covers since), or a day before the tick.
func (e *Engine) lastScheduleStart(ctx context.Context, name, self string, tick time.Time) (time.Time, error) {
	runs, err := e.store.Runs(ctx, inventory.RunFilter{Kind: "schedule", Source: name, Limit: 20})
	if err != nil {
		return time.Time{}, err
	}
	for _, r := range runs {
		if r.ID != self && r.Finished() {
			return r.StartedAt, nil
		}
	}
	return tick.Add(-24 * time.Hour), nil
}

// scheduleOutcome adds up what a schedule's run really did, for its run
// record: objects collected, entries changed (applied, deleted), and what
// safety limits held back or collections missed.
type scheduleOutcome struct {
	objects, changes int
	notes            []string
}

func (e *Engine) runSchedule(ctx context.Context, sc Schedule, since time.Time, out *scheduleOutcome) error {
	var errs []error
	for _, c := range sc.Collect {
		sums, err := e.Collect(ctx, c)
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range sums {
			out.objects += s.Objects
			out.changes += s.Applied + s.Deleted + s.Fixed
			out.notes = append(out.notes, s.notes()...)
		}
	}
	res, err := e.ExpireStale(ctx)
	out.changes += res.Deleted
	for _, m := range res.Limited {
		// A collection that held the same entries back said so already.
		if !slices.ContainsFunc(out.notes, func(n string) bool { return strings.HasSuffix(n, m) }) {
			out.notes = append(out.notes, m)
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("expire stale entries: %w", err))
	}
	if !sc.Report && sc.Webhook == nil {
		return errors.Join(errs...)
	}
	r, err := e.Report(ctx, since)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	r.Schedule = sc.Name
	if sc.Webhook == nil || !sc.OnlyOnChange {
		return errors.Join(append(errs, e.saveAndPost(ctx, sc.Webhook, r))...)
	}
	return errors.Join(append(errs, e.postDigest(ctx, sc, r))...)
}

// saveAndPost stores a report and posts it to w (if any), both even if
// the other fails.
func (e *Engine) saveAndPost(ctx context.Context, w *Webhook, r *Report) error {
	errs := []error{e.SaveReport(ctx, r)}
	if w != nil {
		errs = append(errs, postReport(ctx, w, r))
	}
	return errors.Join(errs...)
}

// postDigest stores the report with its digest and posts it only if the
// open drift changed since the last report posted. That report is
// remembered only once the receiver took the new one, so a post that
// failed is tried again at the next tick with the same "before"; a crash
// between the two posts the same change twice, never loses it.
func (e *Engine) postDigest(ctx context.Context, sc Schedule, r *Report) error {
	d, err := e.digest(ctx, sc.Name, r)
	if err != nil {
		return fmt.Errorf("schedule %s: digest: %w", sc.Name, err)
	}
	r.Digest = d
	if err := e.SaveReport(ctx, r); err != nil {
		return err // without it stored, it cannot be the next "before"
	}
	if d == nil {
		e.log.Info("schedule report unchanged, not posted", "schedule", sc.Name, "report", r.ID)
		return nil
	}
	if err := postReport(ctx, sc.Webhook, r); err != nil {
		return err
	}
	return e.recordDigest(ctx, sc.Name, r)
}

func postReport(ctx context.Context, w *Webhook, r *Report) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return w.Post(ctx, body)
}
