package vsphere

import (
	"context"
	"errors"
	"fmt"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// viewTypes are the managed object types the ContainerView holds: the ones
// mapped to entities plus those needed to resolve names and paths
// (compute resources, resource pools). Subtypes are listed explicitly.
func viewTypes() []string {
	return []string{
		"Datacenter", "Folder", "ComputeResource", "ClusterComputeResource", "HostSystem",
		"Datastore", "Network", "DistributedVirtualPortgroup", "OpaqueNetwork",
		"ResourcePool", "VirtualApp", "VirtualMachine",
	}
}

// propSet lists, per type, only the properties the adapter maps.
func propSet() []types.PropertySpec {
	base := []string{"name", "parent"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	return []types.PropertySpec{
		{Type: "Datacenter", PathSet: base},
		{Type: "Folder", PathSet: base},
		{Type: "ComputeResource", PathSet: base},
		{Type: "ClusterComputeResource", PathSet: with(
			"summary.numCpuCores", "summary.totalMemory",
			"configurationEx")},
		{Type: "HostSystem", PathSet: with(
			"hardware.systemInfo.uuid", "summary.hardware.numCpuCores", "summary.hardware.memorySize",
			"runtime.connectionState", "runtime.powerState", "config.product.version",
			"config.network.vnic", "config.network.portgroup")},
		{Type: "Datastore", PathSet: with("summary.type", "summary.url", "summary.capacity", "summary.freeSpace")},
		{Type: "Network", PathSet: base},
		{Type: "DistributedVirtualPortgroup", PathSet: with("config.defaultPortConfig")},
		{Type: "OpaqueNetwork", PathSet: base},
		{Type: "ResourcePool", PathSet: base},
		{Type: "VirtualApp", PathSet: base},
		{Type: "VirtualMachine", PathSet: vmPaths()},
	}
}

// vmPaths are the VM properties mapped to vm attributes. config.changeVersion
// is not mapped: the watcher uses it to notice reconfigurations.
func vmPaths() []string {
	return []string{
		"name", "parent", "config.instanceUuid", "config.uuid", "config.template",
		"config.guestFullName", "config.hardware.numCPU", "config.hardware.memoryMB",
		"config.hardware.device", "config.annotation", "config.changeVersion",
		"runtime.powerState", "runtime.host", "guest.hostName", "guest.ipAddress", "guest.net",
		"resourcePool", "datastore", "network", "customValue",
	}
}

// filterSpec selects everything in view, plus the custom field definitions
// (to name custom values) — all in one retrieval.
func (c *conn) filterSpec(view types.ManagedObjectReference) types.PropertyFilterSpec {
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{
			Obj:       view,
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
		}},
		PropSet: propSet(),
	}
	if cfm := c.vim.ServiceContent.CustomFieldsManager; cfm != nil {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: *cfm})
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: "CustomFieldsManager", PathSet: []string{"field"}})
	}
	return spec
}

// createView makes a ContainerView over the whole inventory.
func (c *conn) createView(ctx context.Context) (types.ManagedObjectReference, error) {
	req := types.CreateContainerView{
		This:      *c.vim.ServiceContent.ViewManager,
		Container: c.vim.ServiceContent.RootFolder,
		Type:      viewTypes(),
		Recursive: true,
	}
	res, err := methods.CreateContainerView(ctx, c.vim, &req)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("vsphere %s: create view: %w", c.name, err)
	}
	return res.Returnval, nil
}

func (c *conn) destroyView(ctx context.Context, view types.ManagedObjectReference) {
	if _, err := methods.DestroyView(ctx, c.vim, &types.DestroyView{This: view}); err != nil {
		c.log.Warn("vsphere destroy view", "err", err)
	}
}

// retrieveAll reads the whole inventory: one view, one RetrievePropertiesEx
// and, only if the server pages the answer, its continuations. On error it
// returns what was read so far with the error.
func (c *conn) retrieveAll(ctx context.Context) (inventory, error) {
	view, err := c.createView(ctx)
	if err != nil {
		return inventory{}, err
	}
	defer c.destroyView(context.WithoutCancel(ctx), view)
	return c.retrieve(ctx, c.filterSpec(view))
}

// retrieve runs one RetrievePropertiesEx (plus continuations) for spec.
func (c *conn) retrieve(ctx context.Context, spec types.PropertyFilterSpec) (inventory, error) {
	inv := inventory{}
	pc := c.vim.ServiceContent.PropertyCollector
	res, err := methods.RetrievePropertiesEx(ctx, c.vim, &types.RetrievePropertiesEx{
		This: pc, SpecSet: []types.PropertyFilterSpec{spec},
	})
	if err != nil {
		return inv, fmt.Errorf("vsphere %s: retrieve: %w", c.name, err)
	}
	for page := res.Returnval; page != nil; {
		if err := inv.addContents(page.Objects); err != nil {
			return inv, fmt.Errorf("vsphere %s: retrieve: %w", c.name, err)
		}
		if page.Token == "" {
			break
		}
		next, err := methods.ContinueRetrievePropertiesEx(ctx, c.vim, &types.ContinueRetrievePropertiesEx{This: pc, Token: page.Token})
		if err != nil {
			return inv, fmt.Errorf("vsphere %s: retrieve (continue): %w", c.name, err)
		}
		page = &next.Returnval
	}
	return inv, nil
}

// addContents stores retrieved objects. A property vSphere could not read
// (no permission, …) makes the retrieval incomplete; an unset nested
// property (InvalidProperty) is just absent.
func (inv inventory) addContents(objs []types.ObjectContent) error {
	for _, oc := range objs {
		r := &raw{Ref: oc.Obj, Props: make(map[string]any, len(oc.PropSet))}
		for _, p := range oc.PropSet {
			r.Props[p.Name] = p.Val
		}
		inv[oc.Obj] = r
		for _, m := range oc.MissingSet {
			if !fault.Is(m.Fault.Fault, &types.InvalidProperty{}) {
				return fmt.Errorf("%s %s: property %s not readable: %s", oc.Obj.Type, oc.Obj.Value, m.Path, faultText(m.Fault))
			}
		}
	}
	return nil
}

func faultText(f types.LocalizedMethodFault) string {
	if f.LocalizedMessage != "" {
		return f.LocalizedMessage
	}
	return fmt.Sprintf("%T", f.Fault)
}

// Collect takes one snapshot of the vCenter. It returns an error only when
// nothing could be read (connect, TLS, login); a failure part-way gives an
// incomplete snapshot carrying the error.
func (c *Collector) Collect(ctx context.Context) ([]*collectors.Snapshot, error) {
	snap := c.newSnapshot()
	cn, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := cn.retrieveAll(ctx)
	snap.Complete = err == nil
	if err != nil {
		snap.Fail(err)
	}
	snap.Objects = adapt(c.cfg.Name, inv, c.readTags(ctx, cn, inv))
	snap.FinishedAt = c.now().UTC()
	c.log.Info("vsphere collection", "complete", snap.Complete, "objects", len(snap.Objects),
		"duration", snap.FinishedAt.Sub(snap.StartedAt), "errors", snap.Errors)
	return []*collectors.Snapshot{snap}, nil
}

// readTags fetches VM tags; tags are declared values, so when they cannot
// be read they are left out (never blanked) and the snapshot stays usable.
func (c *Collector) readTags(ctx context.Context, cn *conn, inv inventory) map[types.ManagedObjectReference][]string {
	vms := inv.refsOf("VirtualMachine")
	t, err := cn.vmTags(ctx, vms)
	switch {
	case errors.Is(err, errNoTagging):
		c.log.Debug("vsphere tags not read", "err", err) // ESXi: expected, every time
		return nil
	case err != nil:
		c.log.Warn("vsphere tags not read", "err", err)
		return nil
	}
	return t
}
