package itemfile

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParse: an import file is accepted only if it is UTF-8 (or UTF-16
// YAML) and, when JSON, exactly one JSON value; what is accepted can be
// exported and read back. Parse never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"type": "vm", "name": "web01", "attrs": {"cpus": 2, "tags": ["a"], "ip": null}}]`))
	f.Add([]byte("- type: vm\n  name: web01\n  attrs: {cpus: 2, tags: [a, b], owner: team-web}\n"))
	f.Add([]byte(`[{"type": "vm", "name": "a"}] xyz`))
	f.Add([]byte("[{\"type\": \"vm\", \"name\": \"a\xffb\"}]"))
	f.Add([]byte("- {type: vm, name: a}\n---\n- {type: vm, name: b}\n"))
	f.Add([]byte("- &a {type: vm, name: a, attrs: {x: *a}}\n"))
	f.Add([]byte("\xff\xfe-\x00 \x00{\x00}\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := Parse(data, "f")
		if err != nil {
			return
		}
		if !utf16(data) && !utf8.Valid(data) {
			t.Fatalf("accepted a file that is not UTF-8: %q", data)
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' && !json.Valid(data) {
			t.Fatalf("accepted JSON that is not one JSON value: %q", data)
		}
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, "json")
		for _, it := range items {
			if err := w.Write(it); err != nil {
				return // a YAML value JSON cannot hold; the store refuses it
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(buf.Bytes(), "export")
		if err != nil || len(back) != len(items) {
			t.Fatalf("export of %q does not read back: %v\n%s", data, err, buf.String())
		}
	})
}
