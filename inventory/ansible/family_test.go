package ansible

import (
	"slices"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

func TestOSFamily(t *testing.T) {
	for in, want := range map[string]any{
		"Ubuntu Linux (64-bit)": "linux", "debian12_64Guest": "linux", "Other 3.x or later Linux (64-bit)": "linux",
		"Oracle Linux 8 (64-bit)": "linux", "VMware Photon OS (64-bit)": "linux", "rhel9_64Guest": "linux",
		"Microsoft Windows Server 2019 (64-bit)": "windows", "windows2019srv_64Guest": "windows", "winNetStandardGuest": "windows",
		"darwin21_64Guest": "macos", "Apple macOS 12 (64-bit)": "macos", "Oracle Solaris 11 (64-bit)": "solaris",
		"FreeBSD 13 (64-bit)": "bsd", "Other (64-bit)": "other", "otherGuest": "other", "": nil,
	} {
		if got := osFamily(in); got != want {
			t.Errorf("osFamily(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestDefaultGroups checks the groups an inventory has with no
// keyed_groups configured, and that host types without the keys are left
// out of them rather than refused.
func TestDefaultGroups(t *testing.T) {
	s := inventoryOn(t, "sqlite:"+t.TempDir()+"/tana.db")
	seed(t, s)
	e, err := s.GetByName(ctx, "vm", "web01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, inventorytest.Meta("t"), e.ID, inventory.Patch{Version: e.Version, Attrs: map[string]any{"guest_os": "Ubuntu Linux (64-bit)"}}); err != nil {
		t.Fatal(err)
	}
	_, got := list(t, s, Options{Hosts: []string{"vm", "service"}, HostAddress: []string{"name"}, KeyedGroups: DefaultKeyedGroups()})
	for group, hosts := range map[string][]string{
		"cluster_prod01": {"web01", "web02"}, "cluster_test_01": {"db01"}, "datacenter_dc1": {"web01"},
		"power_state_poweredOn": {"db01", "web01", "web02"}, "os_linux": {"web01"},
	} {
		if g := got.Groups[group]; !slices.Equal(g.Hosts, hosts) {
			t.Errorf("group %s = %v, want %v", group, g.Hosts, hosts)
		}
	}
	if got.Groups["service"].Hosts == nil {
		t.Errorf("services are not listed: %v", got.Groups["service"])
	}
}
