package vsphere

import (
	"net/netip"
	"sort"
	"strconv"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/schema"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	mib = 1 << 20
	gib = 1 << 30
)

// entityOf maps a managed object type to the entity type it becomes; types
// not listed (compute resources, pools) only help resolve other values.
func entityOf(moType string) string {
	switch moType {
	case "Datacenter":
		return "datacenter"
	case "ClusterComputeResource":
		return "cluster"
	case "HostSystem":
		return "host"
	case "Datastore":
		return "datastore"
	case "Network", "DistributedVirtualPortgroup", "OpaqueNetwork":
		return "network"
	case "Folder":
		return "folder"
	case "VirtualMachine":
		return "vm"
	}
	return ""
}

// adapt turns the wire view of a vCenter into snapshot objects, sorted by
// type and ID. tags holds "category:name" tags per VM (nil: not read).
func adapt(vcenter string, inv inventory, tags map[types.ManagedObjectReference][]string) []collectors.Object {
	a := newAdapter(vcenter, inv, tags)
	out := make([]collectors.Object, 0, len(inv))
	for ref := range inv {
		if o, ok := a.object(ref); ok {
			out = append(out, o)
		}
	}
	sortObjects(out)
	return out
}

func sortObjects(objs []collectors.Object) {
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].Type != objs[j].Type {
			return objs[i].Type < objs[j].Type
		}
		return objs[i].ID < objs[j].ID
	})
}

// adapter holds what the per-object mapping needs from the whole inventory.
type adapter struct {
	vc     string
	inv    inventory
	tags   map[types.ManagedObjectReference][]string
	fields map[int32]string            // custom field key → name
	vlans  map[string]map[string]int64 // datacenter moref → port group name → VLAN
}

func newAdapter(vcenter string, inv inventory, tags map[types.ManagedObjectReference][]string) *adapter {
	a := &adapter{vc: vcenter, inv: inv, tags: tags, fields: map[int32]string{}, vlans: map[string]map[string]int64{}}
	for ref, r := range inv {
		switch ref.Type {
		case "CustomFieldsManager":
			defs, _ := unwrap(r.Props["field"]).([]types.CustomFieldDef)
			for _, d := range defs {
				a.fields[d.Key] = d.Name
			}
		case "HostSystem":
			a.addVLANs(ref)
		}
	}
	return a
}

// addVLANs learns standard port group VLANs from a host's configuration.
func (a *adapter) addVLANs(host types.ManagedObjectReference) {
	dc, ok := a.inv.datacenter(host)
	if !ok {
		return
	}
	v, _ := a.inv.get(host, "config.network.portgroup")
	pgs, _ := v.([]types.HostPortGroup)
	for _, pg := range pgs {
		if a.vlans[dc.Value] == nil {
			a.vlans[dc.Value] = map[string]int64{}
		}
		a.vlans[dc.Value][pg.Spec.Name] = int64(pg.Spec.VlanId)
	}
}

func (a *adapter) object(ref types.ManagedObjectReference) (collectors.Object, bool) {
	typ := entityOf(ref.Type)
	if typ == "" {
		return collectors.Object{}, false
	}
	if typ == "vm" {
		return a.vm(ref), true
	}
	name, _ := a.inv.str(ref, "name")
	o := collectors.Object{Type: typ, ID: ref.Value, Name: name, Attrs: map[string]any{"moref": ref.Value, "vcenter": a.vc}}
	if typ != "datacenter" {
		dc, ok := a.inv.datacenter(ref)
		a.setRef(o.Attrs, "datacenter", dc, ok)
	}
	switch typ {
	case "cluster":
		a.cluster(ref, o.Attrs)
	case "host":
		a.host(ref, o.Attrs)
	case "datastore":
		a.datastore(ref, o.Attrs)
	case "network":
		a.network(ref, o.Attrs)
	case "folder":
		if p, ok := a.inv.path(ref); ok {
			o.Attrs["path"] = p
		}
	}
	return o, true
}

// setRef sets attr to a Ref to the entity of target, when there is one.
func (a *adapter) setRef(attrs map[string]any, attr string, target types.ManagedObjectReference, ok bool) {
	if ok && entityOf(target.Type) != "" {
		attrs[attr] = collectors.Ref{Type: entityOf(target.Type), ID: target.Value}
	}
}

func (a *adapter) cluster(ref types.ManagedObjectReference, attrs map[string]any) {
	a.setInt(attrs, "cpu_cores", ref, "summary.numCpuCores", 1)
	a.setInt(attrs, "memory_mb", ref, "summary.totalMemory", mib)
	v, _ := a.inv.get(ref, "configurationEx")
	if p, ok := v.(*types.ClusterConfigInfoEx); ok && p != nil {
		v = *p
	}
	if cfg, ok := v.(types.ClusterConfigInfoEx); ok {
		if b, ok := asBool(cfg.DasConfig.Enabled); ok {
			attrs["ha_enabled"] = b
		}
		if b, ok := asBool(cfg.DrsConfig.Enabled); ok {
			attrs["drs_enabled"] = b
		}
	}
}

func (a *adapter) host(ref types.ManagedObjectReference, attrs map[string]any) {
	a.setString(attrs, "hardware_uuid", ref, "hardware.systemInfo.uuid")
	if p, ok := a.inv.ref(ref, "parent"); ok && p.Type == "ClusterComputeResource" {
		a.setRef(attrs, "cluster", p, true)
	}
	a.setInt(attrs, "cpu_cores", ref, "summary.hardware.numCpuCores", 1)
	a.setInt(attrs, "memory_mb", ref, "summary.hardware.memorySize", mib)
	a.setString(attrs, "connection_state", ref, "runtime.connectionState")
	a.setString(attrs, "power_state", ref, "runtime.powerState")
	a.setString(attrs, "version", ref, "config.product.version")
	if ip, ok := a.hostIP(ref); ok {
		attrs["ip"] = ip
	}
}

// hostIP is the management (vmk0, else first) VMkernel address, or the
// host name when that is an address.
func (a *adapter) hostIP(ref types.ManagedObjectReference) (string, bool) {
	v, _ := a.inv.get(ref, "config.network.vnic")
	nics, _ := v.([]types.HostVirtualNic)
	var ip string
	for i, n := range nics {
		if n.Spec.Ip != nil && (i == 0 || n.Device == "vmk0") && n.Spec.Ip.IpAddress != "" {
			ip = n.Spec.Ip.IpAddress
		}
	}
	if ip == "" {
		ip, _ = a.inv.str(ref, "name")
	}
	return canonicalIP(ip)
}

func (a *adapter) datastore(ref types.ManagedObjectReference, attrs map[string]any) {
	a.setString(attrs, "kind", ref, "summary.type")
	a.setString(attrs, "url", ref, "summary.url")
	a.setGB(attrs, "capacity_gb", ref, "summary.capacity")
	a.setGB(attrs, "free_gb", ref, "summary.freeSpace")
}

func (a *adapter) network(ref types.ManagedObjectReference, attrs map[string]any) {
	switch ref.Type {
	case "DistributedVirtualPortgroup":
		attrs["kind"] = "distributed"
		v, _ := a.inv.get(ref, "config.defaultPortConfig")
		if s, ok := v.(*types.VMwareDVSPortSetting); ok && s.Vlan != nil {
			if id, ok := s.Vlan.(*types.VmwareDistributedVirtualSwitchVlanIdSpec); ok {
				attrs["vlan"] = int64(id.VlanId)
			}
		}
	case "OpaqueNetwork":
		attrs["kind"] = "opaque"
	default:
		attrs["kind"] = "standard"
		name, _ := a.inv.str(ref, "name")
		if dc, ok := a.inv.datacenter(ref); ok {
			if id, ok := a.vlans[dc.Value][name]; ok {
				attrs["vlan"] = id
			}
		}
	}
}

func (a *adapter) setString(attrs map[string]any, attr string, ref types.ManagedObjectReference, path string) {
	if s, ok := a.inv.str(ref, path); ok {
		attrs[attr] = s
	}
}

// setInt sets attr to the integer at path divided by unit.
func (a *adapter) setInt(attrs map[string]any, attr string, ref types.ManagedObjectReference, path string, unit int64) {
	v, _ := a.inv.get(ref, path)
	if n, ok := asInt(v); ok {
		attrs[attr] = n / unit
	}
}

func (a *adapter) setBool(attrs map[string]any, attr string, ref types.ManagedObjectReference, path string) {
	v, _ := a.inv.get(ref, path)
	if b, ok := asBool(v); ok {
		attrs[attr] = b
	}
}

// setGB sets attr to bytes at path in GiB, rounded to 0.01.
func (a *adapter) setGB(attrs map[string]any, attr string, ref types.ManagedObjectReference, path string) {
	v, _ := a.inv.get(ref, path)
	if n, ok := asInt(v); ok {
		attrs[attr] = roundGB(n)
	}
}

func roundGB(bytes int64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(bytes)/gib, 'f', 2, 64), 64)
	return f
}

// canonicalIP returns an address in schema's canonical text, dropping
// link-local zones; anything unparsable is absent.
func canonicalIP(s string) (string, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() != "" {
		s = a.WithZone("").String()
	}
	ip, err := schema.NormalizeIP(s)
	return ip, err == nil
}
