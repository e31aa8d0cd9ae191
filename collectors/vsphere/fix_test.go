package vsphere

import (
	"context"
	"errors"
	"testing"

	"github.com/tana-cmdb/tana/collectors"
)

func TestFixer(t *testing.T) {
	s := newSim(t, 1)
	c := newCollector(t, s.config(), nil)
	fx := c.Fixer()
	if !fx.Handles("vsphere:vc1") || fx.Handles("vsphere:vc2") || fx.Handles("dns:example.com.") {
		t.Fatal("Handles")
	}
	vm := mustObject(t, collectOne(t, c), "vm", "DC0_H0_VM0")
	update := func(attr string, old, new any) collectors.Fix {
		return collectors.Fix{Scope: "vsphere:vc1", Op: collectors.OpUpdate, Object: vm, Attr: attr, Old: old, New: new}
	}
	apply := func(fixes ...collectors.Fix) []error {
		errs := fx.Apply(context.Background(), fixes)
		if len(errs) != len(fixes) {
			t.Fatalf("%d errors for %d fixes", len(errs), len(fixes))
		}
		return errs
	}
	current := func() collectors.Object { return mustObject(t, collectOne(t, c), "vm", "DC0_H0_VM0") }

	// Set: the owner/role fields do not exist yet and are created.
	errs := apply(
		update("annotation", nil, "managed by tana"),
		update("owner", nil, "alice"),
		update("role", nil, "db"),
		update("tags", nil, []any{"team:web", "env:prod"}),
	)
	for i, err := range errs {
		if err != nil {
			t.Errorf("fix %d: %v", i, err)
		}
	}
	got := current()
	assertAttrs(t, got, map[string]any{"annotation": "managed by tana", "owner": "alice", "role": "db",
		"tags": []any{"env:prod", "team:web"}})

	// Change from the right Old; remove a tag.
	for i, err := range apply(
		update("owner", "alice", "bob"),
		update("tags", []any{"env:prod", "team:web"}, []string{"team:web"}),
	) {
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
	got = current()
	assertAttrs(t, got, map[string]any{"owner": "bob", "tags": []any{"team:web"}})

	// Stale Old: refused, nothing changed.
	errs = apply(
		update("annotation", "something else", "overwrite"),
		update("owner", "alice", "carol"),
		update("tags", nil, []any{"env:dev"}),
	)
	for i, err := range errs {
		if !errors.Is(err, ErrStale) {
			t.Errorf("stale fix %d: err = %v, want ErrStale", i, err)
		}
	}
	if after := current(); !equalObjects(after, got) {
		t.Errorf("stale fixes changed the vm:\n%v\n%v", got.Attrs, after.Attrs)
	}

	// Anything else is refused.
	other := []collectors.Fix{
		update("cpus", int64(1), int64(2)),
		update("dns_name", nil, "web.example.com."),
		{Scope: "vsphere:vc1", Op: collectors.OpDelete, Object: vm},
		{Scope: "vsphere:vc1", Op: collectors.OpCreate, Object: vm},
		{Scope: "vsphere:vc2", Op: collectors.OpUpdate, Object: vm, Attr: "owner", New: "x"},
		{Scope: "vsphere:vc1", Op: collectors.OpUpdate, Object: collectors.Object{Type: "host", ID: "host-21"}, Attr: "owner", New: "x"},
	}
	for i, err := range apply(other...) {
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("unsupported fix %d (%s): err = %v", i, other[i], err)
		}
	}
	t.Log(apply(other[0])[0])
}

func equalObjects(a, b collectors.Object) bool {
	if a.ID != b.ID || a.Name != b.Name || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for k, v := range a.Attrs {
		if !equalValue(v, b.Attrs[k]) {
			return false
		}
	}
	return true
}
