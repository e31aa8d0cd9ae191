package ansible

import (
	"encoding/json"
	"strings"
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

// TestAppendObject checks group vars: values from the store are guarded
// against templating, values from tana.yaml are not (schema's
// TestAppendJSON covers the encoding itself).
func TestAppendObject(t *testing.T) {
	vars := map[string]any{
		"b_yaml": "{{ inventory_hostname }}",
		"a_cmdb": cmdbValue{"{{ lookup('pipe', 'id') }}"},
		"c":      map[string]any{"z": []any{int64(1), 1.5, nil}, "<y>": "&"},
	}
	want := `{"a_cmdb":{"__ansible_unsafe":"{{ lookup('pipe', 'id') }}"},"b_yaml":"{{ inventory_hostname }}","c":{"<y>":"&","z":[1,1.5,null]}}`
	if got := string(appendObject(nil, vars)); got != want {
		t.Errorf("appendObject = %s\nwant %s", got, want)
	}
	if got := string(appendValue(nil, make(chan int))); !strings.HasPrefix(got, `"!unencodable: `) {
		t.Errorf("appendValue(chan) = %s", got)
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
