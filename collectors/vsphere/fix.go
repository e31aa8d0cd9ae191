package vsphere

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// ErrStale means reality no longer holds a fix's Old value; nothing changed.
var ErrStale = errors.New("current value differs from the fix's old value")

// ErrUnsupported is returned for fixes this fixer does not make.
var ErrUnsupported = errors.New("unsupported fix")

// Fixer pushes the declared VM attributes vSphere can hold: annotation
// (notes), owner and role (custom attributes) and tags. Nothing else.
type Fixer struct{ c *Collector }

var _ collectors.Fixer = (*Fixer)(nil)

// NewFixer returns a fixer with its own session.
func NewFixer(cfg Config, log *slog.Logger) (*Fixer, error) {
	c, err := New(cfg, log)
	if err != nil {
		return nil, err
	}
	return c.Fixer(), nil
}

// Fixer returns a fixer sharing this collector's session.
func (c *Collector) Fixer() *Fixer { return &Fixer{c: c} }

// Handles reports whether scope is this vCenter's.
func (f *Fixer) Handles(scope string) bool { return scope == f.c.Scope() }

// Apply makes each fix on its own; errs[i] is nil when fixes[i] was made.
func (f *Fixer) Apply(ctx context.Context, fixes []collectors.Fix) []error {
	errs := make([]error, len(fixes))
	for i, fx := range fixes {
		errs[i] = f.apply(ctx, fx)
		f.c.log.Info("vsphere fix", "fix", fx.String(), "err", errs[i])
	}
	return errs
}

func (f *Fixer) apply(ctx context.Context, fx collectors.Fix) error {
	fail := func(err error) error {
		return fmt.Errorf("vsphere %s: fix %s %q %s: %w", f.c.cfg.Name, fx.Object.Type, fx.Object.Name, fx.Attr, err)
	}
	switch {
	case !f.Handles(fx.Scope):
		return fail(fmt.Errorf("%w: scope %q is not %q", ErrUnsupported, fx.Scope, f.c.Scope()))
	case fx.Op != collectors.OpUpdate || fx.Object.Type != "vm":
		return fail(fmt.Errorf("%w: only updates of vm annotation, owner, role and tags, not %s %s", ErrUnsupported, fx.Op, fx.Object.Type))
	}
	switch fx.Attr {
	case "annotation", "owner", "role", "tags":
	default:
		return fail(fmt.Errorf("%w: attribute %q is not pushed to vSphere", ErrUnsupported, fx.Attr))
	}
	cn, err := f.c.session(ctx)
	if err != nil {
		return fail(err)
	}
	vm, err := cn.findVM(ctx, fx.Object)
	if err != nil {
		return fail(err)
	}
	if fx.Attr == "tags" {
		err = cn.fixTags(ctx, vm, fx)
	} else {
		err = cn.fixString(ctx, vm, fx)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// findVM locates the VM by instance UUID, or by moref when it has none.
func (c *conn) findVM(ctx context.Context, o collectors.Object) (types.ManagedObjectReference, error) {
	if uuid, ok := o.Attrs["instance_uuid"].(string); ok || o.ID != "" {
		if !ok {
			uuid = o.ID
		}
		res, err := methods.FindByUuid(ctx, c.vim, &types.FindByUuid{
			This: *c.vim.ServiceContent.SearchIndex, Uuid: uuid, VmSearch: true, InstanceUuid: types.NewBool(true),
		})
		if err != nil {
			return types.ManagedObjectReference{}, fmt.Errorf("find vm %s: %w", uuid, err)
		}
		if res.Returnval != nil {
			return *res.Returnval, nil
		}
	}
	if m, ok := o.Attrs["moref"].(string); ok && m != "" {
		return types.ManagedObjectReference{Type: "VirtualMachine", Value: m}, nil
	}
	return types.ManagedObjectReference{}, fmt.Errorf("vm %s not found", o.ID)
}

// current reads the VM's notes and custom values, mapped like a collection.
func (c *conn) current(ctx context.Context, vm types.ManagedObjectReference) (map[string]any, inventory, error) {
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: vm}},
		PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name", "config.annotation", "customValue"}}},
	}
	if cfm := c.vim.ServiceContent.CustomFieldsManager; cfm != nil {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: *cfm})
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: "CustomFieldsManager", PathSet: []string{"field"}})
	}
	inv, err := c.retrieve(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := inv[vm]; !ok {
		return nil, nil, fmt.Errorf("vm %s not found", vm.Value)
	}
	return newAdapter(c.name, inv, nil).vm(vm).Attrs, inv, nil
}

// fixString sets annotation, owner or role after checking Old.
func (c *conn) fixString(ctx context.Context, vm types.ManagedObjectReference, fx collectors.Fix) error {
	old, err1 := fixString(fx.Old)
	nv, err2 := fixString(fx.New)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	attrs, inv, err := c.current(ctx, vm)
	if err != nil {
		return err
	}
	if cur, _ := attrs[fx.Attr].(string); cur != old {
		return fmt.Errorf("%w: is %q, plan expected %q", ErrStale, cur, old)
	}
	if fx.Attr == "annotation" {
		if nv == "" {
			return fmt.Errorf("%w: clearing the annotation", ErrUnsupported) // ConfigSpec omits an empty annotation
		}
		task, err := object.NewVirtualMachine(c.vim, vm).Reconfigure(ctx, types.VirtualMachineConfigSpec{Annotation: nv})
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	key, err := c.fieldKey(ctx, inv, fx.Attr)
	if err != nil {
		return err
	}
	return object.NewCustomFieldsManager(c.vim).Set(ctx, vm, key, nv)
}

// fieldKey finds the custom attribute named name, creating it for VMs when
// it does not exist yet.
func (c *conn) fieldKey(ctx context.Context, inv inventory, name string) (int32, error) {
	if c.vim.ServiceContent.CustomFieldsManager == nil {
		return 0, fmt.Errorf("%w: server has no custom attributes", ErrUnsupported)
	}
	v, _ := inv.get(*c.vim.ServiceContent.CustomFieldsManager, "field")
	defs, _ := v.([]types.CustomFieldDef)
	for _, d := range defs {
		if strings.EqualFold(d.Name, name) && (d.ManagedObjectType == "" || d.ManagedObjectType == "VirtualMachine") {
			return d.Key, nil
		}
	}
	d, err := object.NewCustomFieldsManager(c.vim).Add(ctx, name, "VirtualMachine", nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create custom attribute %q: %w", name, err)
	}
	return d.Key, nil
}

// fixString reads a string fix value; nil means unset.
func fixString(v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	}
	return "", fmt.Errorf("expected a string value, got %T", v)
}

// fixList reads a list fix value as a sorted set; nil means empty.
func fixList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("expected a list value, got %T", v)
	}
	var out []string
	for i := range rv.Len() {
		s, ok := rv.Index(i).Interface().(string)
		if !ok {
			return nil, fmt.Errorf("expected a list of strings, got %T", rv.Index(i).Interface())
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
