package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/reconcile"
)

// Owned by the reconcile work (issue 6): tana collect --watch, and the
// schedules of tana.yaml built for a scheduler.

// watch follows every named source's change feed with the engine (see
// reconcile.Engine.Watch) until ctx ends.
func (c *cli) watch(ctx context.Context, e *reconcile.Engine, cfg *config.Config, names []string) error {
	built, err := c.buildSources(cfg, names)
	if err != nil {
		return err
	}
	errc := make(chan error, len(built))
	for _, src := range built {
		go func(src source) {
			if src.watcher == nil {
				errc <- fmt.Errorf("source %s cannot be watched", src.collector.Name())
				return
			}
			errc <- e.Watch(ctx, src.collector.Name(), src.watcher, c.printSummary)
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
				s.OnlyOnChange = r.OnlyOnChange
			}
		}
		out = append(out, s)
	}
	return out, nil
}
