package config

import (
	"strings"
	"testing"
)

// TestParseRefusesWhatIssue20FoundAccepted: each value was taken as is
// (or silently ignored) before.
func TestParseRefusesWhatIssue20FoundAccepted(t *testing.T) {
	cases := []struct{ name, yaml, field string }{
		{"webhook not a url", "schedules: [{name: n, cron: '@daily', report: {webhook: 'not a url'}}]\n", "schedules[0].report.webhook"},
		{"source url not a url", "sources: [{name: v, type: vsphere, url: 'not a url'}]\n", "sources[0].url"},
		{"negative delete_after", "policies: {vm: {delete_after: -5d}}\n", "policies.vm.delete_after"},
		{"negative max_body_bytes", "server: {max_body_bytes: -1}\n", "server.max_body_bytes"},
		{"a trusted proxy that is no CIDR", "server: {trusted_proxies: [10.0.0.0/8, proxy.example.com]}\n", "server.trusted_proxies[1]"},
		{"bad cron", "schedules: [{name: n, cron: '61 * * * *'}]\n", "schedules[0].cron"},
		{"only_on_change without webhook", "schedules: [{name: n, cron: '@daily', report: {only_on_change: true}}]\n", "schedules[0].report.only_on_change: needs report.webhook"},
		{"only_on_change not a boolean", "schedules: [{name: n, cron: '@daily', report: {webhook: 'https://h.example/', only_on_change: sometimes}}]\n", "only_on_change"},
		{"percent over 100", "policies: {vm: {max_change_percent: 150}}\n", "policies.vm.max_change_percent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("tana.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Parse = %v, want an error about %s", err, c.field)
			}
		})
	}
}
