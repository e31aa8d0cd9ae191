package config

import (
	"strings"
	"testing"
	"time"
)

func TestEventsSection(t *testing.T) {
	c, err := Parse("tana.yaml", []byte(`
events:
  source: https://tana.example.com
  retry: {initial: 2s, max_interval: 5m, for: 12h}
  retention: 3d
  subscriptions:
    - name: st2
      url: https://st2.example.com/api/v1/webhooks/tana
      types: [drift.detected, drift.resolved]
      filter: {entity_type: [vm], scope: ["vsphere:*"], kind: [changed], owner: [team-a]}
      preset: stackstorm
      secret_env: TANA_ST2_WEBHOOK_SECRET
      api_key_env: TANA_ST2_API_KEY
    - name: chat
      url: https://hooks.slack.com/services/T/B/X
      types: ["entry.*"]
      preset: slack
`))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Events
	if e.Retry.For.D() != 12*time.Hour || e.Retention.D() != 72*time.Hour || len(e.Subscriptions) != 2 ||
		e.Subscriptions[0].Filter.Scope[0] != "vsphere:*" || e.Subscriptions[1].Preset != "slack" {
		t.Fatalf("parsed %+v", e)
	}
}

func TestEventsSectionErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no url", "events: {subscriptions: [{name: a}]}\n", "events.subscriptions[0].url: missing"},
		{"bad url", "events: {subscriptions: [{name: a, url: ftp://x}]}\n", "events.subscriptions[0].url: not an http(s) URL"},
		{"no name", "events: {subscriptions: [{url: http://x}]}\n", "events.subscriptions[0].name: missing"},
		{"twice", "events: {subscriptions: [{name: a, url: http://x}, {name: a, url: http://y}]}\n", `events.subscriptions[1].name: subscription "a" defined twice`},
		{"bad type", "events: {subscriptions: [{name: a, url: http://x, types: [drift.detcted]}]}\n", `events.subscriptions[0].types[0]: unknown event type "drift.detcted"`},
		{"bad preset", "events: {subscriptions: [{name: a, url: http://x, preset: discord}]}\n", `events.subscriptions[0].preset: unknown preset "discord"`},
		{"st2 without key", "events: {subscriptions: [{name: a, url: http://x, preset: stackstorm}]}\n", "events.subscriptions[0].api_key_env: preset stackstorm needs api_key_env"},
		{"unknown filter", "events: {subscriptions: [{name: a, url: http://x, filter: {tag: [x]}}]}\n", "events.subscriptions[0].filter.tag: unknown field"},
		{"bad retry", "events: {retry: {initial: 1m, max_interval: 1s}}\n", "events.retry.max_interval: 1s is shorter than retry.initial 1m0s"},
		{"bad duration", "events: {retry: {for: soon}}\n", `bad duration "soon"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("tana.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
