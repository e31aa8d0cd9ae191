package config

import (
	"errors"
	"testing"
)

// FuzzParse: whatever the file, Parse answers with a configuration or
// with problems that each name a message and, where they have one, a line
// of the file; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(""))
	f.Add([]byte("listen: x\n---\nlisten: y\n"))
	f.Add([]byte("sources: [{name: a, type: dns, server: s, zones: ['a b'], tsig: {}}]\nschedules: [{name: n, cron: '61 * * * *', collect: [b], report: {webhook: ':'}}]\n"))
	f.Add([]byte("policies: {vm: {delete_after: -5d, stale_after: 3x, max_deletes: -1, max_change_percent: 101}}\nserver: {max_body_bytes: -1, max_depth: abc}\n"))
	f.Add([]byte("ansible: {keyed_groups: [{key: a, separator: ~}], groups: {web: {filters: {a: [1, {b: c}]}}}}\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("events: {retry: {initial: 1m, max_interval: 1s, for: 2d}, subscriptions: [{name: a b, url: 'http://[::1', types: [drift.*, '*', x.*], preset: stackstorm, filter: {scope: ['vsphere:*']}, concurrency: -1}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("tana.yaml", data)
		if err == nil {
			if c == nil || len(c.Check()) > 0 {
				t.Fatalf("Parse accepted a configuration Check refuses")
			}
			return
		}
		var ps *Problems
		if !errors.As(err, &ps) || len(ps.List) == 0 {
			t.Fatalf("Parse error is not a list of problems: %v", err)
		}
		for _, p := range ps.List {
			// YAML breaks lines at \r and \n (and NEL, LS, PS) alike:
			// bound the line by the bytes.
			if p.Message == "" || p.Line < 0 || p.Line > len(data)+1 {
				t.Fatalf("bad problem %+v in a file of %d bytes", p, len(data))
			}
		}
	})
}
