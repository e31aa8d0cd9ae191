package vsphere

import (
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/schema"
	"github.com/vmware/govmomi/vim25/types"
)

// vm maps a VirtualMachine. Its ID is the instance UUID; a VM without a
// readable config (inaccessible, being created) falls back to its moref.
func (a *adapter) vm(ref types.ManagedObjectReference) collectors.Object {
	name, _ := a.inv.str(ref, "name")
	attrs := map[string]any{"moref": ref.Value, "vcenter": a.vc}
	id := ref.Value
	if u, ok := a.inv.str(ref, "config.instanceUuid"); ok {
		id = strings.ToLower(u)
		attrs["instance_uuid"] = id
	}
	if u, ok := a.inv.str(ref, "config.uuid"); ok {
		attrs["bios_uuid"] = strings.ToLower(u)
	}
	a.setString(attrs, "power_state", ref, "runtime.powerState")
	a.setBool(attrs, "template", ref, "config.template")
	a.setString(attrs, "guest_hostname", ref, "guest.hostName")
	a.setString(attrs, "guest_os", ref, "config.guestFullName")
	if s, ok := a.inv.str(ref, "guest.ipAddress"); ok {
		if ip, ok := canonicalIP(s); ok {
			attrs["ip"] = ip
		}
	}
	setList(attrs, "ips", a.guestIPs(ref))
	a.setInt(attrs, "cpus", ref, "config.hardware.numCPU", 1)
	a.setInt(attrs, "memory_mb", ref, "config.hardware.memoryMB", 1)
	a.devices(ref, attrs)
	a.placement(ref, attrs)
	a.setString(attrs, "annotation", ref, "config.annotation")
	a.customValues(ref, attrs)
	if t := a.tags[ref]; len(t) > 0 {
		setList(attrs, "tags", t)
	}
	return collectors.Object{Type: "vm", ID: id, Name: name, Attrs: attrs}
}

// setList sets attr to a []any of items, only when there are any.
func setList[T any](attrs map[string]any, attr string, items []T) {
	if len(items) == 0 {
		return
	}
	l := make([]any, len(items))
	for i, it := range items {
		l[i] = it
	}
	attrs[attr] = l
}

// guestIPs lists the addresses VMware Tools reports on all NICs, canonical
// and without duplicates, in the order reported.
func (a *adapter) guestIPs(ref types.ManagedObjectReference) []string {
	v, _ := a.inv.get(ref, "guest.net")
	nics, _ := v.([]types.GuestNicInfo)
	seen := map[string]bool{}
	var ips []string
	add := func(s string) {
		if ip, ok := canonicalIP(s); ok && !seen[ip] {
			seen[ip] = true
			ips = append(ips, ip)
		}
	}
	for _, n := range nics {
		for _, s := range n.IpAddress {
			add(s)
		}
		if n.IpConfig != nil {
			for _, c := range n.IpConfig.IpAddress {
				add(c.IpAddress)
			}
		}
	}
	return ips
}

// devices maps virtual disks (disk_gb, disks) and NICs (macs).
func (a *adapter) devices(ref types.ManagedObjectReference, attrs map[string]any) {
	v, ok := a.inv.get(ref, "config.hardware.device")
	if !ok {
		return
	}
	devs, _ := v.([]types.BaseVirtualDevice)
	var disks, macs []string
	var total int64
	for _, d := range devs {
		switch dev := d.(type) {
		case *types.VirtualDisk:
			bytes := dev.CapacityInBytes
			if bytes == 0 {
				bytes = dev.CapacityInKB * 1024
			}
			gb := roundGB(bytes)
			total += bytes
			label := "disk " + strconv.Itoa(int(dev.Key))
			if info := dev.DeviceInfo; info != nil && info.GetDescription().Label != "" {
				label = info.GetDescription().Label
			}
			disks = append(disks, label+":"+strconv.FormatFloat(gb, 'f', -1, 64))
		case types.BaseVirtualEthernetCard:
			if m, err := schema.NormalizeMAC(dev.GetVirtualEthernetCard().MacAddress); err == nil {
				macs = append(macs, m)
			}
		}
	}
	if len(disks) > 0 {
		attrs["disk_gb"] = roundGB(total)
	}
	setList(attrs, "disks", disks)
	setList(attrs, "macs", macs)
}

// placement maps where the VM lives: folder, pool, host, cluster,
// datacenter, datastores and networks.
func (a *adapter) placement(ref types.ManagedObjectReference, attrs map[string]any) {
	if p, ok := a.inv.ref(ref, "parent"); ok {
		if path, ok := a.inv.path(p); ok {
			attrs["folder"] = path
		}
	}
	if rp, ok := a.inv.ref(ref, "resourcePool"); ok {
		a.setString(attrs, "resource_pool", rp, "name")
	}
	host, hok := a.inv.ref(ref, "runtime.host")
	a.setRef(attrs, "host", host, hok)
	if hok {
		if p, ok := a.inv.ref(host, "parent"); ok && p.Type == "ClusterComputeResource" {
			a.setRef(attrs, "cluster", p, true)
		}
	}
	dc, ok := a.inv.datacenter(ref)
	if !ok && hok {
		dc, ok = a.inv.datacenter(host)
	}
	a.setRef(attrs, "datacenter", dc, ok)
	v, _ := a.inv.get(ref, "datastore")
	setList(attrs, "datastores", a.refList(asRefs(v)))
	v, _ = a.inv.get(ref, "network")
	setList(attrs, "networks", a.refList(asRefs(v)))
}

func (a *adapter) refList(refs []types.ManagedObjectReference) []collectors.Ref {
	var out []collectors.Ref
	for _, r := range refs {
		if t := entityOf(r.Type); t != "" {
			out = append(out, collectors.Ref{Type: t, ID: r.Value})
		}
	}
	return out
}

// customValues maps the custom attributes named owner and role.
func (a *adapter) customValues(ref types.ManagedObjectReference, attrs map[string]any) {
	v, _ := a.inv.get(ref, "customValue")
	vals, _ := v.([]types.BaseCustomFieldValue)
	for _, cv := range vals {
		s, ok := cv.(*types.CustomFieldStringValue)
		if !ok || s.Value == "" {
			continue
		}
		switch name := strings.ToLower(a.fields[s.Key]); name {
		case "owner", "role":
			attrs[name] = s.Value
		}
	}
}
