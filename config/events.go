package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// Events is tana.yaml's events section: where events go (subscriptions),
// how failed deliveries are retried, and how long the log is kept.
type Events struct {
	// Source is the CloudEvents source of tana's events (default "tana"),
	// e.g. the server's URL.
	Source        string         `yaml:"source"`
	Retry         EventRetry     `yaml:"retry"`
	Retention     Duration       `yaml:"retention"` // default 7d
	Subscriptions []Subscription `yaml:"subscriptions"`
}

// EventRetry says how failed deliveries are retried: after initial, twice
// as long each time up to max_interval, with jitter, for up to for.
type EventRetry struct {
	Initial     Duration `yaml:"initial"`      // default 1s
	MaxInterval Duration `yaml:"max_interval"` // default 10m
	For         Duration `yaml:"for"`          // default 24h
}

// Subscription sends events to one receiver. Secrets are in the
// environment: secret_env (Standard Webhooks, whsec_…), api_key_env
// (StackStorm's St2-Api-Key).
type Subscription struct {
	Name        string      `yaml:"name"`
	URL         string      `yaml:"url"`
	Types       []string    `yaml:"types"`
	Filter      EventFilter `yaml:"filter"`
	Preset      string      `yaml:"preset"`
	SecretEnv   string      `yaml:"secret_env"`
	APIKeyEnv   string      `yaml:"api_key_env"`
	Timeout     Duration    `yaml:"timeout"`
	Concurrency int         `yaml:"concurrency"`
}

// EventFilter narrows a subscription; empty lists match everything.
type EventFilter struct {
	EntityType []string `yaml:"entity_type"`
	Scope      []string `yaml:"scope"`
	Kind       []string `yaml:"kind"`
	Owner      []string `yaml:"owner"`
}

// EventPresets are the body presets a subscription may name.
var EventPresets = []string{"cloudevents", "slack", "teams", "stackstorm"}

func (c *Config) checkEvents() []Problem {
	var ps []Problem
	names := map[string]bool{}
	for i, s := range c.Events.Subscriptions {
		f := fmt.Sprintf("events.subscriptions[%d]", i)
		ps = append(ps, c.checkName(names, f, "subscription", s.Name, func(n string) string {
			if strings.ContainsAny(n, " \t\n/") {
				return fmt.Sprintf("want a name without spaces or slashes, got %q", n)
			}
			return ""
		})...)
		if s.URL == "" {
			ps = append(ps, c.Problem(f+".url", "missing"))
		} else if err := checkHTTPURL(s.URL); err != nil {
			ps = append(ps, c.Problem(f+".url", "%v", err))
		}
		for j, t := range s.Types {
			if !schema.IsEventType(t) {
				ps = append(ps, c.Problem(fmt.Sprintf("%s.types[%d]", f, j), "unknown event type %q (want one of %s, a family such as drift.*, or *)", t, strings.Join(schema.EventTypes, ", ")))
			}
		}
		if s.Preset != "" && !slices.Contains(EventPresets, s.Preset) {
			ps = append(ps, c.Problem(f+".preset", "unknown preset %q (want one of %s)", s.Preset, strings.Join(EventPresets, ", ")))
		}
		if s.Preset == "stackstorm" && s.APIKeyEnv == "" {
			ps = append(ps, c.Problem(f+".api_key_env", "preset stackstorm needs api_key_env: the environment variable holding the St2-Api-Key"))
		}
		if s.Concurrency < 0 || s.Concurrency > 256 {
			ps = append(ps, c.Problem(f+".concurrency", "want 1 to 256 requests at once, got %d", s.Concurrency))
		}
	}
	r := c.Events.Retry
	if r.MaxInterval != 0 && r.Initial > r.MaxInterval {
		ps = append(ps, c.Problem("events.retry.max_interval", "%s is shorter than retry.initial %s", r.MaxInterval.D(), r.Initial.D()))
	}
	if r.For != 0 && r.For < r.Initial {
		ps = append(ps, c.Problem("events.retry.for", "%s is shorter than retry.initial %s: nothing would be retried", r.For.D(), r.Initial.D()))
	}
	return ps
}
