package vsphere

import (
	"testing"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/vim25/types"
)

func moref(typ, val string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: typ, Value: val}
}

// wireInventory is a hand-written answer of the property collector, in the
// wire types (ArrayOf wrappers, enums, pointers) vCenter sends.
func wireInventory() inventory {
	dc, vmf, netf := moref("Datacenter", "datacenter-2"), moref("Folder", "group-v3"), moref("Folder", "group-n5")
	cl, host, pool := moref("ClusterComputeResource", "domain-c7"), moref("HostSystem", "host-9"), moref("ResourcePool", "resgroup-8")
	ds, pg, vm := moref("Datastore", "datastore-11"), moref("DistributedVirtualPortgroup", "dvportgroup-13"), moref("VirtualMachine", "vm-42")
	cfm := moref("CustomFieldsManager", "CustomFieldsManager")
	inv := inventory{}
	add := func(ref types.ManagedObjectReference, props map[string]any) { inv[ref] = &raw{Ref: ref, Props: props} }
	add(dc, map[string]any{"name": "Tokyo", "parent": moref("Folder", "group-d1")})
	add(vmf, map[string]any{"name": "vm", "parent": dc})
	add(netf, map[string]any{"name": "network", "parent": dc})
	add(moref("Folder", "group-h4"), map[string]any{"name": "host", "parent": dc})
	add(moref("Folder", "group-v20"), map[string]any{"name": "prod", "parent": vmf})
	add(cl, map[string]any{"name": "C1", "parent": moref("Folder", "group-h4"),
		"summary.numCpuCores": int16(48), "summary.totalMemory": int64(256 << 30),
		"configurationEx": &types.ClusterConfigInfoEx{DasConfig: types.ClusterDasConfigInfo{Enabled: types.NewBool(true)}}})
	add(host, map[string]any{"name": "esx1.example.com", "parent": cl,
		"hardware.systemInfo.uuid": "4c4c4544-0043", "summary.hardware.numCpuCores": int16(24),
		"summary.hardware.memorySize": int64(128 << 30), "runtime.connectionState": types.HostSystemConnectionStateConnected,
		"runtime.powerState": types.HostSystemPowerStatePoweredOn, "config.product.version": "8.0.3",
		"config.network.vnic": types.ArrayOfHostVirtualNic{HostVirtualNic: []types.HostVirtualNic{
			{Device: "vmk1", Spec: types.HostVirtualNicSpec{Ip: &types.HostIpConfig{IpAddress: "10.9.9.9"}}},
			{Device: "vmk0", Spec: types.HostVirtualNicSpec{Ip: &types.HostIpConfig{IpAddress: "192.0.2.10"}}},
		}},
		"config.network.portgroup": types.ArrayOfHostPortGroup{HostPortGroup: []types.HostPortGroup{
			{Spec: types.HostPortGroupSpec{Name: "VM Network", VlanId: 120}}}},
	})
	add(pool, map[string]any{"name": "Production", "parent": cl})
	add(ds, map[string]any{"name": "vsan", "parent": moref("Folder", "group-s6"),
		"summary.type": "vsan", "summary.url": "ds:///vmfs/volumes/vsan:1/", "summary.capacity": int64(1 << 40), "summary.freeSpace": int64(3 << 29)})
	add(moref("Network", "network-12"), map[string]any{"name": "VM Network", "parent": netf})
	add(pg, map[string]any{"name": "web", "parent": netf, "config.defaultPortConfig": &types.VMwareDVSPortSetting{
		Vlan: &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: 300}}})
	add(cfm, map[string]any{"field": types.ArrayOfCustomFieldDef{CustomFieldDef: []types.CustomFieldDef{
		{Key: 101, Name: "Owner"}, {Key: 102, Name: "role", ManagedObjectType: "VirtualMachine"}, {Key: 103, Name: "cost"}}}})
	add(vm, map[string]any{"name": "web01", "parent": moref("Folder", "group-v20"),
		"config.instanceUuid": "5003AAAA-BBBB-CCCC-DDDD-EEEEFFFF0000", "config.uuid": "4203aaaa-bbbb-cccc-dddd-eeeeffff1111",
		"config.template": false, "config.guestFullName": "Ubuntu Linux (64-bit)",
		"config.hardware.numCPU": int32(4), "config.hardware.memoryMB": int32(8192),
		"config.hardware.device": types.ArrayOfVirtualDevice{VirtualDevice: []types.BaseVirtualDevice{
			&types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: 2000, DeviceInfo: &types.Description{Label: "Hard disk 1"}}, CapacityInBytes: 40 << 30},
			&types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: 2001, DeviceInfo: &types.Description{Label: "Hard disk 2"}}, CapacityInKB: 1536 * 1024},
			&types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: types.VirtualEthernetCard{MacAddress: "00:50:56:AB:CD:EF"}}},
		}},
		"config.annotation": "", "runtime.powerState": types.VirtualMachinePowerStatePoweredOn, "runtime.host": host,
		"guest.hostName": "web01.example.com", "guest.ipAddress": "192.0.2.50",
		"guest.net": types.ArrayOfGuestNicInfo{GuestNicInfo: []types.GuestNicInfo{{
			IpAddress: []string{"192.0.2.50", "2001:DB8::0050", "fe80::1%ens192"},
		}}},
		"resourcePool": pool, "datastore": types.ArrayOfManagedObjectReference{ManagedObjectReference: []types.ManagedObjectReference{ds}},
		"network": types.ArrayOfManagedObjectReference{ManagedObjectReference: []types.ManagedObjectReference{pg}},
		"customValue": types.ArrayOfCustomFieldValue{CustomFieldValue: []types.BaseCustomFieldValue{
			&types.CustomFieldStringValue{CustomFieldValue: types.CustomFieldValue{Key: 101}, Value: "alice"},
			&types.CustomFieldStringValue{CustomFieldValue: types.CustomFieldValue{Key: 102}, Value: ""},
			&types.CustomFieldStringValue{CustomFieldValue: types.CustomFieldValue{Key: 103}, Value: "42"},
		}},
	})
	// A VM whose config cannot be read (inaccessible): identified by moref.
	add(moref("VirtualMachine", "vm-99"), map[string]any{"name": "ghost", "parent": vmf, "runtime.powerState": types.VirtualMachinePowerStatePoweredOff})
	return inv
}

func TestAdapt(t *testing.T) {
	tags := map[types.ManagedObjectReference][]string{moref("VirtualMachine", "vm-42"): {"env:prod"}}
	objs := adapt("vc1", wireInventory(), tags)
	snap := &collectors.Snapshot{Objects: objs}
	dcRef := ref("datacenter", "datacenter-2")

	cases := []struct {
		typ, name, id string
		want          map[string]any
		absent        []string
	}{
		{"vm", "web01", "5003aaaa-bbbb-cccc-dddd-eeeeffff0000", map[string]any{
			"instance_uuid": "5003aaaa-bbbb-cccc-dddd-eeeeffff0000", "bios_uuid": "4203aaaa-bbbb-cccc-dddd-eeeeffff1111",
			"moref": "vm-42", "vcenter": "vc1", "power_state": "poweredOn", "template": false,
			"guest_hostname": "web01.example.com", "guest_os": "Ubuntu Linux (64-bit)", "ip": "192.0.2.50",
			"ips": []any{"192.0.2.50", "2001:db8::50", "fe80::1"}, "macs": []any{"00:50:56:ab:cd:ef"},
			"cpus": int64(4), "memory_mb": int64(8192), "disk_gb": 41.5, "disks": []any{"Hard disk 1:40", "Hard disk 2:1.5"},
			"folder": "/Tokyo/vm/prod", "resource_pool": "Production", "host": ref("host", "host-9"),
			"cluster": ref("cluster", "domain-c7"), "datacenter": dcRef,
			"datastores": []any{ref("datastore", "datastore-11")}, "networks": []any{ref("network", "dvportgroup-13")},
			"owner": "alice", "tags": []any{"env:prod"},
		}, []string{"annotation", "role"}},
		{"vm", "ghost", "vm-99", map[string]any{"moref": "vm-99", "power_state": "poweredOff", "folder": "/Tokyo/vm", "datacenter": dcRef},
			[]string{"instance_uuid", "cpus", "disks", "macs", "ip", "ips", "tags", "template"}},
		{"cluster", "C1", "domain-c7", map[string]any{"cpu_cores": int64(48), "memory_mb": int64(256 * 1024), "ha_enabled": true, "datacenter": dcRef}, []string{"drs_enabled"}},
		{"host", "esx1.example.com", "host-9", map[string]any{"hardware_uuid": "4c4c4544-0043", "cluster": ref("cluster", "domain-c7"),
			"cpu_cores": int64(24), "memory_mb": int64(128 * 1024), "connection_state": "connected", "power_state": "poweredOn",
			"version": "8.0.3", "ip": "192.0.2.10"}, nil},
		{"datastore", "vsan", "datastore-11", map[string]any{"kind": "vsan", "url": "ds:///vmfs/volumes/vsan:1/", "capacity_gb": 1024.0, "free_gb": 1.5}, nil},
		{"network", "web", "dvportgroup-13", map[string]any{"kind": "distributed", "vlan": int64(300), "datacenter": dcRef}, nil},
		{"network", "VM Network", "network-12", map[string]any{"kind": "standard", "vlan": int64(120), "datacenter": dcRef}, nil},
		{"folder", "prod", "group-v20", map[string]any{"path": "/Tokyo/vm/prod", "datacenter": dcRef}, nil},
		{"datacenter", "Tokyo", "datacenter-2", map[string]any{"moref": "datacenter-2", "vcenter": "vc1"}, []string{"datacenter"}},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"/"+tc.name, func(t *testing.T) {
			o := mustObject(t, snap, tc.typ, tc.name)
			if o.ID != tc.id {
				t.Errorf("id %q, want %q", o.ID, tc.id)
			}
			assertAttrs(t, o, tc.want)
			for _, k := range tc.absent {
				if v, ok := o.Attrs[k]; ok {
					t.Errorf("%s = %#v, want absent", k, v)
				}
			}
		})
	}
	// Pools, compute resources and the field manager are not entities.
	if len(objs) != 12 {
		t.Errorf("%d objects, want 12", len(objs))
	}
}
