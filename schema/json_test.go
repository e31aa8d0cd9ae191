package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestAppendJSON checks the hand-written encoder against encoding/json
// (without its HTML escaping).
func TestAppendJSON(t *testing.T) {
	cases := []any{
		"", "plain", "quote \" backslash \\ slash /", "tab\tnl\nret\r", "\x00\x01\x1f\x7f",
		"<b>&amp;</b>", "üñí©ødé 日本", "\u2028\u2029", "bad \xff utf8",
		int64(0), int64(-42), int64(math.MaxInt64), 7, 1.5, -0.25, 40.0, 1e21, 1e-7, 123456789.125, 0.0,
		true, false, nil,
		[]any{"a", int64(1), 2.5, true, []any{}},
		[]any{}, []string{"x", "y\"z"},
		map[string]any{"b": 1, "a": []any{"x"}, "c": map[string]any{"z": nil}},
		time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), // through encoding/json
	}
	for _, v := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSON(nil, v)
		if err != nil || string(got)+"\n" != want.String() {
			t.Errorf("AppendJSON(%#v) = %s, %v; want %s", v, got, err, want.String())
		}
	}
	if _, err := AppendJSON(nil, map[string]any{"ch": make(chan int)}); err == nil {
		t.Error("AppendJSON of a channel: no error")
	}
	if got := string(AppendJSONFloat(nil, math.NaN())); got != "null" {
		t.Errorf("NaN = %s, want null", got)
	}
}
