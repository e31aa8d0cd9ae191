package inventorytest

import (
	"fmt"

	"github.com/tana-cmdb/tana/inventory"
)

// Estate is n VMs with the attributes the vSphere collector fills, spread
// over 2 datacenters, 20 clusters and n/50 hosts, with one datastore and
// one network: the estate the inventory benchmarks read.
func Estate(n int) []inventory.Item {
	items := []inventory.Item{{Type: "datacenter", Name: "dc1"}, {Type: "datacenter", Name: "dc2"}}
	for c := 0; c < 20; c++ {
		items = append(items, inventory.Item{Type: "cluster", Name: fmt.Sprintf("cl%02d", c), Attrs: map[string]any{"datacenter": fmt.Sprintf("dc%d", c%2+1)}})
	}
	hosts := max(n/50, 1)
	for h := 0; h < hosts; h++ {
		items = append(items, inventory.Item{Type: "host", Name: fmt.Sprintf("esx%05d", h), Attrs: map[string]any{"cluster": fmt.Sprintf("cl%02d", h%20)}})
	}
	items = append(items, inventory.Item{Type: "datastore", Name: "ds1"}, inventory.Item{Type: "network", Name: "VM Network"})
	roles := []string{"web", "db", "cache", "app", "batch"}
	for i := 0; i < n; i++ {
		h := i % hosts
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		items = append(items, inventory.Item{Type: "vm", Name: fmt.Sprintf("vm%06d.example.com", i), Attrs: map[string]any{
			"instance_uuid": fmt.Sprintf("4210%08d-aaaa-bbbb-cccc-000000000000", i), "bios_uuid": fmt.Sprintf("4211%08d-aaaa-bbbb-cccc-000000000000", i),
			"moref": fmt.Sprintf("vm-%d", i), "vcenter": "vc1", "power_state": "poweredOn", "template": false,
			"guest_hostname": fmt.Sprintf("vm%06d", i), "guest_os": "debian12_64Guest",
			"ip": ip, "ips": []any{ip, "fe80::1"},
			"macs": []any{fmt.Sprintf("00:50:56:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)}, "cpus": i%8 + 1, "memory_mb": 4096, "disk_gb": 60.5,
			"disks": []any{"Hard disk 1:40", "Hard disk 2:20.5"}, "folder": "/dc1/vm/prod", "resource_pool": "Resources",
			"host": fmt.Sprintf("esx%05d", h), "cluster": fmt.Sprintf("cl%02d", h%20), "datacenter": fmt.Sprintf("dc%d", h%20%2+1),
			"datastores": []any{"ds1"}, "networks": []any{"VM Network"}, "owner": fmt.Sprintf("team%02d", i%50), "role": roles[i%5],
			"tags": []any{"env:prod", fmt.Sprintf("app%02d", i%20)}, "annotation": "managed by tana",
		}})
	}
	return items
}
