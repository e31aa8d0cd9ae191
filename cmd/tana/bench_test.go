package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// benchConfig is a typical ansible section: references, five keyed
// groups and a user group.
const benchConfig = `db: sqlite:%s
ansible:
  ref_attrs: [cluster.datacenter, host.cluster]
  keyed_groups:
    - {key: cluster, prefix: cluster}
    - {key: power_state}
    - {key: tags, prefix: tag}
    - {key: owner, prefix: owner}
    - {key: role, prefix: role}
  groups:
    big: {filters: {cpus: [7, 8]}, vars: {tier: large}}
`

// benchEstate writes tana.yaml for a SQLite store of n VMs
// (inventorytest.Estate) and returns its path.
func benchEstate(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	db := filepath.Join(dir, "tana.db")
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		b.Fatal(err)
	}
	s := inventorytest.OpenWith(b, "sqlite:"+db, reg)
	if _, err := s.Upsert(context.Background(), inventorytest.Meta("bench"), inventorytest.Estate(n), inventory.UpsertOptions{}); err != nil {
		b.Fatalf("seed %d VMs: %v", n, err)
	}
	inventorytest.MustClose(b, s)
	cfg := filepath.Join(dir, "tana.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(benchConfig, db)), 0o600); err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkInventoryList runs the real binary, tana inventory --list: a new
// process reading the store, as Ansible starts it, writing to /dev/null so
// that only tana's own time is measured. (Its peak memory is not reported:
// the child's rusage counts the parent's pages until exec.)
func BenchmarkInventoryList(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			cfg := benchEstate(b, n)
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer inventorytest.MustClose(b, devnull)
			for b.Loop() {
				cmd := exec.Command(tanaBin, "--config", cfg, "inventory", "--list")
				cmd.Stdout, cmd.Stderr = devnull, os.Stderr
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
