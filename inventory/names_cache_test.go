package inventory

import (
	"maps"
	"slices"
	"testing"
)

// TestNameCacheEpochs checks that the cache serves names of its own epoch
// only, and that names loaded at another epoch replace it.
func TestNameCacheEpochs(t *testing.T) {
	var c nameCache
	c.keep(5, []int64{1, 2, 3}, map[int64]string{1: "esx01", 2: "esx02", 3: ""})
	tests := []struct {
		name    string
		keep    func()
		epoch   int64
		ids     []int64
		missing []int64
		names   map[int64]string
	}{
		{"same epoch", nil, 5, []int64{1, 2, 3, 9}, []int64{3, 9}, map[int64]string{1: "esx01", 2: "esx02"}}, // 3 was not found
		{"older read", nil, 4, []int64{1}, []int64{1}, map[int64]string{}},
		{"newer read", nil, 6, []int64{1}, []int64{1}, map[int64]string{}},
		{"no epoch", nil, 0, []int64{1}, []int64{1}, map[int64]string{}},
		{"after a newer load", func() { c.keep(6, []int64{7}, map[int64]string{7: "new"}) }, 6, []int64{1, 7}, []int64{1}, map[int64]string{7: "new"}},
		{"after an older load (a restored database)", func() { c.keep(2, []int64{8}, map[int64]string{8: "old"}) }, 2, []int64{7, 8}, []int64{7}, map[int64]string{8: "old"}},
		{"the replaced epoch", nil, 6, []int64{7}, []int64{7}, map[int64]string{}},
	}
	for _, tt := range tests {
		if tt.keep != nil {
			tt.keep()
		}
		names := map[int64]string{}
		missing := c.lookup(tt.epoch, slices.Clone(tt.ids), names)
		if !slices.Equal(missing, tt.missing) || !maps.Equal(names, tt.names) {
			t.Errorf("%s: missing %v names %v, want %v %v", tt.name, missing, names, tt.missing, tt.names)
		}
	}
}
