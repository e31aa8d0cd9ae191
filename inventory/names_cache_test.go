package inventory

import (
	"slices"
	"testing"
)

// TestNameCacheEpochs checks that the cache serves names of its own epoch
// only: older loads are dropped, newer ones replace it.
func TestNameCacheEpochs(t *testing.T) {
	var c nameCache
	loaded := map[int64]string{1: "esx01", 2: "esx02", 3: ""}
	c.keep(5, []int64{1, 2, 3}, loaded)
	c.keep(4, []int64{9}, map[int64]string{9: "older"})
	tests := []struct {
		epoch   int64
		ids     []int64
		missing []int64
		names   map[int64]string
	}{
		{5, []int64{1, 2, 3, 9}, []int64{3, 9}, map[int64]string{1: "esx01", 2: "esx02"}}, // 3 was not found, 9 is older
		{4, []int64{1}, []int64{1}, map[int64]string{}},
		{6, []int64{1}, []int64{1}, map[int64]string{}},
		{0, []int64{1}, []int64{1}, map[int64]string{}},
	}
	for _, tt := range tests {
		names := map[int64]string{}
		missing := c.lookup(tt.epoch, slices.Clone(tt.ids), names)
		if !slices.Equal(missing, tt.missing) || len(names) != len(tt.names) {
			t.Errorf("epoch %d: missing %v names %v, want %v %v", tt.epoch, missing, names, tt.missing, tt.names)
		}
		for id, n := range tt.names {
			if names[id] != n {
				t.Errorf("epoch %d: name of %d = %q, want %q", tt.epoch, id, names[id], n)
			}
		}
	}
	c.keep(6, []int64{7}, map[int64]string{7: "new"})
	if missing := c.lookup(6, []int64{1, 7}, map[int64]string{}); !slices.Equal(missing, []int64{1}) {
		t.Errorf("after a newer epoch: missing %v, want [1]", missing)
	}
}
