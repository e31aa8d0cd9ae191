package vsphere

import (
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func TestApplyChanges(t *testing.T) {
	paths := requestedPaths()
	cases := []struct {
		name    string
		changes []types.PropertyChange
		want    map[string]any
		refetch bool
	}{
		{"assign", []types.PropertyChange{{Name: "name", Op: types.PropertyChangeOpAssign, Val: "b"}},
			map[string]any{"name": "b", "guest.ipAddress": "10.0.0.1"}, false},
		{"remove", []types.PropertyChange{{Name: "guest.ipAddress", Op: types.PropertyChangeOpRemove}},
			map[string]any{"name": "a"}, false},
		{"below a requested path", []types.PropertyChange{{Name: "config.hardware.device[4000]", Op: types.PropertyChangeOpAdd}},
			map[string]any{"name": "a", "guest.ipAddress": "10.0.0.1"}, true},
		{"new config version", []types.PropertyChange{{Name: "config.changeVersion", Op: types.PropertyChangeOpAssign, Val: "2"}},
			map[string]any{"name": "a", "guest.ipAddress": "10.0.0.1", "config.changeVersion": "2"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &raw{Props: map[string]any{"name": "a", "guest.ipAddress": "10.0.0.1"}}
			if got := applyChanges(r, tc.changes, paths); got != tc.refetch {
				t.Errorf("refetch = %v, want %v", got, tc.refetch)
			}
			if len(r.Props) != len(tc.want) {
				t.Errorf("props %v, want %v", r.Props, tc.want)
			}
			for k, v := range tc.want {
				if r.Props[k] != v {
					t.Errorf("%s = %v, want %v", k, r.Props[k], v)
				}
			}
		})
	}
}

func TestWireValues(t *testing.T) {
	if s, ok := asString(types.VirtualMachinePowerStatePoweredOn); !ok || s != "poweredOn" {
		t.Errorf("enum string: %q %v", s, ok)
	}
	if _, ok := asString(""); ok {
		t.Error("empty string must be absent")
	}
	if n, ok := asInt(int16(7)); !ok || n != 7 {
		t.Errorf("int16: %d %v", n, ok)
	}
	var nilInt *int32
	if _, ok := asInt(nilInt); ok {
		t.Error("nil pointer must be absent")
	}
	refs := asRefs(types.ArrayOfManagedObjectReference{ManagedObjectReference: []types.ManagedObjectReference{{Type: "Datastore", Value: "ds-1"}}})
	if len(refs) != 1 || refs[0].Value != "ds-1" {
		t.Errorf("refs %v", refs)
	}
	l, err := fixList([]any{"b:x", "a:y", "b:x"})
	if err != nil || len(l) != 2 || l[0] != "a:y" {
		t.Errorf("fixList: %v %v", l, err)
	}
	if _, err := fixList("a:y"); err == nil {
		t.Error("fixList accepted a string")
	}
}
