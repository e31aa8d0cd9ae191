package ansible

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchYAML is benchOptions as tana.yaml.
const benchYAML = `db: %s
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
  group_vars_from: [service]
`

// BenchmarkAnsibleInventory runs the real ansible-inventory --list over
// 10,000 hosts four ways: a script that only cats the JSON (the floor:
// Ansible's own cost), contrib/tana-inventory (tana reading the store),
// the tana.cmdb plugin against a real tana serve, and the plugin with
// vars limited to five hostvars. Each run is one process, as Ansible
// users start it; run with -count to interleave the ways.
func BenchmarkAnsibleInventory(b *testing.B) {
	for _, bin := range []string{"ansible-inventory", "ansible-galaxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skipf("%s not found", bin)
		}
	}
	const n = 10_000
	dir := b.TempDir()
	if os.Getenv("TANA_BENCH_DIR") == "" {
		b.Setenv("TANA_BENCH_DIR", dir)
	}
	b.Setenv("TANA_BENCH_DIALECT", "") // the server and the script read this SQLite file
	benchStore(b, n)
	db := "sqlite:" + filepath.Join(os.Getenv("TANA_BENCH_DIR"), fmt.Sprintf("ansible-%d.db", n))
	e := &env{db: db, config: filepath.Join(dir, "tana.yaml")}
	types, _ := filepath.Abs(filepath.Join("testdata", "types"))
	if err := os.WriteFile(e.config, []byte(fmt.Sprintf(benchYAML, db)+"types: "+types+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	e.wrapper, _ = filepath.Abs(filepath.Join("..", "..", "contrib", "tana-inventory"))
	for _, d := range []string{"home", "tmp", "colls"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	e.vars = []string{"TANA_BIN=" + tanaBin, "TANA_DB=" + db, "TANA_CONFIG=" + e.config, "TANA_URL=", "TANA_TOKEN=",
		"ANSIBLE_HOME=" + filepath.Join(dir, "home"), "ANSIBLE_LOCAL_TEMP=" + filepath.Join(dir, "tmp"),
		"ANSIBLE_COLLECTIONS_PATH=" + filepath.Join(dir, "colls"), "ANSIBLE_INVENTORY_UNPARSED_FAILED=True"}
	base := startServe(b, e)
	runIn := func(args ...string) []byte {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), e.vars...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	runIn("ansible-galaxy", "collection", "install", base+"/ansible/tana-cmdb.tar.gz", "-p", filepath.Join(dir, "colls"))
	listJSON := filepath.Join(dir, "list.json")
	if err := os.WriteFile(listJSON, runIn(tanaBin, "inventory", "--list"), 0o600); err != nil {
		b.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			b.Fatal(err)
		}
		return p
	}
	ways := []struct{ name, inventory string }{
		{"cat", write("cat-inventory", "#!/bin/sh\nexec cat "+listJSON+"\n", 0o700)},
		{"script", e.wrapper},
		{"plugin", write("all.tana.yml", "plugin: tana.cmdb.inventory\nurl: "+base+"\n", 0o600)},
		{"plugin_vars5", write("five.tana.yml", "plugin: tana.cmdb.inventory\nurl: "+base+"\nvars: [ip, cluster, role, owner, power_state]\n", 0o600)},
	}
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			for b.Loop() {
				runIn("ansible-inventory", "-i", w.inventory, "--list", "--output", os.DevNull)
			}
		})
	}
}
