package itemfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

func TestParseRefuses(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"json trailing garbage", `[{"type": "vm", "name": "a"}] xyz`, `f:1:31: data after the list of items`},
		{"json second list", "[]\n[{\"type\": \"vm\", \"name\": \"a\"}]\n", `f:2:1: data after the list of items`},
		{"json invalid utf-8", "[{\"type\": \"vm\",\n  \"name\": \"a\xffb\"}]", `f:2:13: invalid UTF-8 (byte 0xff)`},
		{"yaml invalid utf-8", "- type: vm\n  name: a\xc3", `f:2:10: invalid UTF-8 (byte 0xc3)`},
		{"yaml second document", "- {type: vm, name: a}\n---\n- {type: vm, name: b}\n", `f:2: a second YAML document`},
		{"json unknown field", `[{"type": "vm", "nme": "a"}]`, `f: bad JSON: json: unknown field "nme"`},
		{"json not closed", `[{"type": "vm"}`, `f:1:16: bad JSON: the list is not closed`},
		{"json syntax", "[\n  {\"type\": \"vm\",}]", `f:2:17: bad JSON: invalid character '}'`},
		{"yaml unknown field", "- type: vm\n  nme: x\n", `line 2: field nme not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, err := Parse([]byte(c.data), "f")
			if err == nil || !strings.Contains(err.Error(), c.want) || schema.ErrorCode(err) != schema.EINVALID {
				t.Fatalf("Parse = %v, %v; want an error with %q", items, err, c.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name, data string
		n          int
	}{
		{"json", "[{\"type\": \"vm\", \"name\": \"é\", \"attrs\": {\"cpus\": 2}}]\n\n", 1},
		{"yaml", "- {type: vm, name: a}\n- {type: vm, name: b}\n", 2},
		{"yaml document end", "---\n- {type: vm, name: a}\n...\n", 1},
		{"empty", "", 0},
		{"empty json", " [ ] ", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, err := Parse([]byte(c.data), "f")
			if err != nil || len(items) != c.n {
				t.Fatalf("Parse = %v, %v; want %d items", items, err, c.n)
			}
		})
	}
}

func TestWriterRoundTrip(t *testing.T) {
	items := []inventory.Item{{Type: "vm", Name: "a<b>", Attrs: map[string]any{"cpus": 2, "tags": []any{"x"}}}, {Type: "host", Name: "h"}}
	for _, format := range []string{"yaml", "json"} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, format)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if err := w.Write(it); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(buf.Bytes(), format)
		if err != nil || len(back) != 2 || back[0].Name != "a<b>" || back[1].Type != "host" {
			t.Fatalf("%s: %v %v\n%s", format, back, err, buf.String())
		}
	}
	if _, err := NewWriter(&bytes.Buffer{}, "xml"); err == nil {
		t.Fatal("NewWriter accepted xml")
	}
}
