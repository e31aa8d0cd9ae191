package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	Cron    string // five fields, or descriptors such as @hourly
	Collect []collectors.Collector
	Report  bool
	Webhook *Webhook // nil: no webhook
}

// Scheduler runs schedules with robfig/cron. Several replicas may run one
// scheduler each: a run takes the schedule's store lock (an advisory lock
// on PostgreSQL) and skips a tick another replica already ran, so each
// tick runs once.
type Scheduler struct {
	e    *Engine
	cron *cron.Cron
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// NewScheduler validates the schedules and prepares them; Start runs them.
func (e *Engine) NewScheduler(schedules []Schedule) (*Scheduler, error) {
	ctx, stop := context.WithCancel(context.Background())
	s := &Scheduler{e: e, cron: cron.New(cron.WithLocation(time.UTC)), ctx: ctx, stop: stop}
	for i := range schedules {
		sc := schedules[i]
		_, err := s.cron.AddFunc(sc.Cron, func() {
			s.wg.Add(1)
			defer s.wg.Done()
			if err := e.RunSchedule(s.ctx, sc); err != nil {
				e.log.Error("schedule failed", "schedule", sc.Name, "err", err)
			}
		})
		if err != nil {
			stop()
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("schedules[%d].cron", i), "bad cron expression %q: %v", sc.Cron, err)
		}
	}
	return s, nil
}

// Start begins running schedules in the background.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops the schedules and waits for running ones to finish.
func (s *Scheduler) Stop() {
	<-s.cron.Stop().Done()
	s.stop()
	s.wg.Wait()
}

// RunSchedule runs one schedule now, unless another replica holds it or
// already ran this minute's tick.
func (e *Engine) RunSchedule(ctx context.Context, sc Schedule) error {
	tick := e.now().UTC().Truncate(time.Minute)
	host, _ := os.Hostname()
	release, err := e.store.Lock(ctx, "schedule:"+sc.Name, fmt.Sprintf("%s pid %d", host, os.Getpid()), e.opts.LockTTL)
	if schema.ErrorCode(err) == schema.ELOCKED {
		e.log.Info("schedule running elsewhere", "schedule", sc.Name, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer release()
	prev, err := e.store.Runs(ctx, inventory.RunFilter{Kind: "schedule", Source: sc.Name, Limit: 1})
	if err != nil {
		return err
	}
	if len(prev) > 0 && !prev[0].StartedAt.Before(tick) {
		e.log.Info("schedule already ran this tick", "schedule", sc.Name, "tick", tick)
		return nil
	}
	since := tick.Add(-24 * time.Hour)
	if len(prev) > 0 {
		since = prev[0].StartedAt
	}
	start := e.now()
	e.log.Info("schedule started", "schedule", sc.Name)
	out := &scheduleOutcome{}
	err = e.runSchedule(ctx, sc, since, out)
	e.recordRun(ctx, "schedule", sc.Name, start, out.objects, out.changes, err, out.notes)
	return err
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
	if err := e.SaveReport(ctx, r); err != nil {
		errs = append(errs, err)
	}
	if sc.Webhook != nil {
		body, err := json.Marshal(r)
		if err == nil {
			err = sc.Webhook.Post(ctx, body)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
