package ansible

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/tana-cmdb/tana/schema"
)

// hostWith is a host named e whose one attribute, a, is v (as stored).
func hostWith(v any) *host {
	a := &schema.Attribute{Name: "a", Type: schema.ValueType{Kind: schema.KindString}}
	switch x := v.(type) {
	case int64:
		a.Type.Kind = schema.KindInteger
	case []any:
		a.Type.List = true
		if len(x) > 0 {
			if _, ok := x[0].(int64); ok {
				a.Type.Kind = schema.KindInteger
			}
		}
	}
	ht := &hostType{t: &schema.EntityType{Name: "vm", Attributes: []*schema.Attribute{a}}, index: map[string]int{"a": 0}, template: -1, power: -1}
	h := ht.newHost()
	h.name = "e"
	if v != nil {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		h.slots[0] = string(raw)
	}
	return h
}

// TestAppendValue checks the hand-written encoder against encoding/json.
func TestAppendValue(t *testing.T) {
	cases := []any{
		"", "plain", "quote \" backslash \\ slash /", "tab\tnl\nret\r", "\x00\x01\x1f\x7f",
		"<b>&amp;</b>", "üñí©ødé 日本", "\u2028\u2029", "bad \xff utf8",
		int64(0), int64(-42), int64(math.MaxInt64), 1.5, -0.25, 40.0, 1e21, 1e-7, 123456789.125, 0.0,
		true, false, nil,
		[]any{"a", int64(1), 2.5, true, []any{}},
		[]any{},
		map[string]any{"b": 1, "a": []any{"x"}, "c": map[string]any{"z": nil}},
	}
	for _, v := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got := string(appendValue(nil, v)) + "\n"
		if got != want.String() {
			t.Errorf("appendValue(%#v) = %s, want %s", v, got, want.String())
		}
	}
}

func TestAppendCMDBValue(t *testing.T) {
	cases := []struct {
		in    any
		want  string
		allow string
	}{
		{"plain {braces} and }} and { {", `"plain {braces} and }} and { {"`, ""},
		{"{{ lookup('pipe', 'id') }}", `{"__ansible_unsafe":"{{ lookup('pipe', 'id') }}"}`, `"{{ lookup('pipe', 'id') }}"`},
		{"x {% if 1 %}", `{"__ansible_unsafe":"x {% if 1 %}"}`, `"x {% if 1 %}"`},
		{"{# comment #}", `{"__ansible_unsafe":"{# comment #}"}`, `"{# comment #}"`},
		{"ends with {", `"ends with {"`, ""},
		{[]any{"a", "{{b}}"}, `["a",{"__ansible_unsafe":"{{b}}"}]`, `["a","{{b}}"]`},
		{int64(3), `3`, ""},
	}
	for _, c := range cases {
		if got := string(appendCMDBValue(nil, c.in, false)); got != c.want {
			t.Errorf("appendCMDBValue(%#v) = %s, want %s", c.in, got, c.want)
		}
		allow := c.allow
		if allow == "" {
			allow = c.want
		}
		if got := string(appendCMDBValue(nil, c.in, true)); got != allow {
			t.Errorf("appendCMDBValue(%#v, allow) = %s, want %s", c.in, got, allow)
		}
	}
}
