package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/reconcile"
)

// Owned by the reconcile work (issue 6): tana collect --watch, and the
// schedules of tana.yaml built for a scheduler.

// watch reconciles full snapshots as they come and each change as an
// incomplete snapshot of what changed (so a change never deletes; the next
// full snapshot notices what is gone).
func (c *cli) watch(ctx context.Context, e *reconcile.Engine, cfg *config.Config, names []string) error {
	built, err := c.buildSources(cfg, names)
	if err != nil {
		return err
	}
	errc := make(chan error, len(built))
	for _, src := range built {
		go func(src source) {
			name := src.collector.Name()
			full := func(s *collectors.Snapshot) error {
				sum, err := e.Reconcile(ctx, s)
				if err == nil {
					c.printSummary(*sum)
				}
				return err
			}
			change := func(ch collectors.Change) error {
				snap := &collectors.Snapshot{Source: name, Scope: ch.Scope, Types: ch.Types, Objects: ch.Upserts,
					StartedAt: time.Now(), FinishedAt: time.Now()}
				snap.Kind, _, _ = strings.Cut(ch.Scope, ":")
				sum, err := e.Reconcile(ctx, snap)
				if err == nil {
					c.printSummary(*sum)
				}
				return err
			}
			if src.watcher == nil {
				errc <- fmt.Errorf("source %s cannot be watched", name)
				return
			}
			errc <- src.watcher.Watch(ctx, full, change)
		}(src)
	}
	var errs []error
	for range built {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// schedules builds the configured schedules for a scheduler (tana serve).
func (c *cli) schedules(ctx context.Context, cfg *config.Config) ([]reconcile.Schedule, error) {
	var out []reconcile.Schedule
	for _, sc := range cfg.Schedules {
		s := reconcile.Schedule{Name: sc.Name, Cron: sc.Cron}
		if len(sc.Collect) > 0 {
			cs, _, err := c.sources(ctx, cfg, sc.Collect)
			if err != nil {
				return nil, fmt.Errorf("schedule %s: %w", sc.Name, err)
			}
			s.Collect = cs
		}
		if r := sc.Report; r != nil {
			s.Report = true
			if r.Webhook != "" {
				secret, err := config.Secret("schedules."+sc.Name+".report.secret_env", r.SecretEnv)
				if err != nil {
					return nil, err
				}
				s.Webhook = &reconcile.Webhook{URL: r.Webhook, Secret: []byte(secret)}
			}
		}
		out = append(out, s)
	}
	return out, nil
}
