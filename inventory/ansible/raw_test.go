package ansible

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/schema"
)

// TestAppendRawMatchesDecoded checks that writing a stored value from its
// JSON gives the bytes that writing its decoded form gives.
func TestAppendRawMatchesDecoded(t *testing.T) {
	cases := []struct {
		v    any
		kind schema.Kind
	}{
		{"plain", schema.KindString}, {"", schema.KindString}, {"quote \" backslash \\", schema.KindString},
		{"<b>&amp;</b>", schema.KindString}, {"tab\tnl\n", schema.KindString}, {"üñí 日本 \u2028", schema.KindString},
		{"{{ lookup('pipe', 'id') }}", schema.KindString}, {"50{% raw %}", schema.KindString}, {"{#c#}", schema.KindString},
		{int64(0), schema.KindInteger}, {int64(-42), schema.KindInteger}, {int64(math.MaxInt64), schema.KindInteger},
		{60.5, schema.KindNumber}, {40.0, schema.KindNumber}, {1e21, schema.KindNumber}, {1e-7, schema.KindNumber},
		{true, schema.KindBoolean}, {false, schema.KindBoolean},
		{[]any{}, schema.KindString}, {[]any{"a", "{{ x }}", "b\"c"}, schema.KindString}, {[]any{int64(1), int64(2)}, schema.KindInteger},
	}
	for _, c := range cases {
		raw, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, allow := range []bool{false, true} {
			want := string(appendCMDBValue(nil, c.v, allow))
			if got := string(appendRaw(nil, string(raw), c.kind, allow)); got != want {
				t.Errorf("appendRaw(%s, templates %v) = %s, want %s", raw, allow, got, want)
			}
			if got := decodeRaw(string(raw), c.kind); !cmp.Equal(got, c.v) {
				t.Errorf("decodeRaw(%s) = %#v, want %#v", raw, got, c.v)
			}
		}
	}
}

func TestEachMember(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{`{}`, map[string]string{}, true},
		{`{"a":1,"b":"x","c":[1,"]",{"d":"}"}],"e":true}`, map[string]string{"a": "1", "b": `"x"`, "c": `[1,"]",{"d":"}"}]`, "e": "true"}, true},
		{` { "a" : "x\"y" , "k\u0065y" : [ 1, 2 ] } `, map[string]string{"a": `"x\"y"`, "key": "[ 1, 2 ]"}, true},
		{`{"a":"x\\","b":"\\\"q","c":1}`, map[string]string{"a": `"x\\"`, "b": `"\\\"q"`, "c": "1"}, true},
		{`{"a":1`, map[string]string{"a": "1"}, false},
		{`{"a" 1}`, map[string]string{}, false},
		{`["a"]`, map[string]string{}, false},
		{`{"a":"unterminated}`, map[string]string{}, false},
		{`{"a":1} trailing`, map[string]string{"a": "1"}, false},
	}
	for _, c := range cases {
		got := map[string]string{}
		ok := eachMember(c.in, func(k, raw string) { got[k] = raw })
		if ok != c.ok || !cmp.Equal(got, c.want) {
			t.Errorf("eachMember(%s) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
