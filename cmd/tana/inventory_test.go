package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestInventoryDefaultGroups checks that with no keyed_groups in tana.yaml
// the inventory has the default groups, and that keyed_groups: [] has
// none of them.
func TestInventoryDefaultGroups(t *testing.T) {
	db := inventorytest.DSN(t, "sqlite")
	items := filepath.Join(t.TempDir(), "items.yaml")
	mustWrite(t, items, []byte(`- {type: datacenter, name: dc1}
- {type: cluster, name: prod-01, attrs: {datacenter: dc1}}
- {type: vm, name: web01, attrs: {cluster: prod-01, datacenter: dc1, power_state: poweredOn, guest_os: "Ubuntu Linux (64-bit)"}}
`))
	mustRun(t, db, "import", items)
	out := mustRun(t, db, "inventory", "--list")
	for _, g := range []string{`"cluster_prod_01"`, `"datacenter_dc1"`, `"power_state_poweredOn"`, `"os_linux"`} {
		if !strings.Contains(out, g+`:{"children":[],"hosts":["web01"]`) {
			t.Errorf("default inventory lacks group %s with web01:\n%s", g, out)
		}
	}
	cfg := filepath.Join(t.TempDir(), "tana.yaml")
	mustWrite(t, cfg, []byte("ansible:\n  keyed_groups: []\n"))
	cmd := exec.Command(tanaBin, "--config", cfg, "inventory", "--list")
	cmd.Env = append(os.Environ(), "TANA_DB="+db)
	none, err := cmd.Output()
	if err != nil || strings.Contains(string(none), "cluster_prod_01") || !strings.Contains(string(none), `"web01"`) {
		t.Errorf("keyed_groups: [] gives %s (%v); want web01 and no keyed groups", none, err)
	}
}
