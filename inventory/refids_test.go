package inventory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRefIDMap(t *testing.T) {
	tests := []struct {
		in   string
		want map[string][]int64
	}{
		{"", nil},
		{"host:44", map[string][]int64{"host": {44}}},
		{"cluster:1,host:44", map[string][]int64{"cluster": {1}, "host": {44}}},
		{"datastores:3,datastores:4,host:44", map[string][]int64{"datastores": {3, 4}, "host": {44}}},
		// Not grouped by attribute: tana writes ref_ids grouped, but a reader must not lose ids either way.
		{"networks:5,host:44,networks:6", map[string][]int64{"networks": {5, 6}, "host": {44}}},
	}
	for _, tt := range tests {
		got, err := refIDMap(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
	// The runs share one array: appending to one must not overwrite another.
	m, _ := refIDMap("a:1,b:2")
	_ = append(m["a"], 99)
	if m["b"][0] != 2 {
		t.Errorf("appending to a's ids changed b's: %v", m["b"])
	}
	if _, err := refIDMap("host:x"); err == nil {
		t.Error("malformed ref_ids accepted")
	}
}
