package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
)

// subscriptions turns tana.yaml's subscriptions into package events'.
func subscriptions(cfg *config.Config) []events.Subscription {
	out := make([]events.Subscription, 0, len(cfg.Events.Subscriptions))
	for _, s := range cfg.Events.Subscriptions {
		out = append(out, events.Subscription{Name: s.Name, URL: s.URL, Types: s.Types, Preset: s.Preset,
			Filter:    events.Filter{EntityType: s.Filter.EntityType, Scope: s.Filter.Scope, Kind: s.Filter.Kind, Owner: s.Filter.Owner},
			SecretEnv: s.SecretEnv, APIKeyEnv: s.APIKeyEnv, Timeout: s.Timeout.D(), Concurrency: s.Concurrency})
	}
	return out
}

// checkEvents is serve's (and config check --env's) check of the
// subscriptions: their secrets' variables are set and hold secrets.
func checkEvents(cfg *config.Config) []config.Problem {
	var ps []config.Problem
	for i, s := range subscriptions(cfg) {
		for _, err := range s.CheckSecrets(fmt.Sprintf("events.subscriptions[%d]", i)) {
			ps = append(ps, cfg.ProblemOf("", err))
		}
	}
	return ps
}

// startEvents runs the event worker beside the server until ctx ends; the
// returned wait blocks until it has stopped (its requests in flight
// finished and recorded).
func startEvents(ctx context.Context, s *inventory.Store, cfg *config.Config, log *slog.Logger) (wait func(), err error) {
	e := cfg.Events
	w, err := events.New(events.Options{Store: s, Subscriptions: subscriptions(cfg), Source: e.Source, Logger: log,
		Retry:     events.Retry{Initial: e.Retry.Initial.D(), Max: e.Retry.MaxInterval.D(), For: e.Retry.For.D()},
		Retention: e.Retention.D()})
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil {
			log.Error("event worker stopped", "err", err)
		}
	}()
	log.Info("event worker started", "subscriptions", len(e.Subscriptions))
	return wg.Wait, nil
}
