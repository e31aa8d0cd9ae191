package ansible

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// startServe runs the real `tana serve` on a free loopback port over the
// environment's store and returns its base URL; it is stopped with the
// test.
func startServe(t testing.TB, e *env) string {
	t.Helper()
	cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), e.vars...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait() // its exit status is not what this test checks
	})
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }() // keeps the pipe from filling
			return "http://" + m[1]
		}
	}
	t.Fatal("tana serve never logged its address")
	return ""
}

// wire is a proxy in front of tana that records what crosses the network.
type wire struct {
	mu       sync.Mutex
	requests []string // "STATUS PATH?QUERY"
	bytes    int64
}

func (w *wire) proxy(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.requests = append(w.requests, fmt.Sprintf("%d %s", resp.StatusCode, resp.Request.URL.RequestURI()))
		if resp.ContentLength > 0 {
			w.bytes += resp.ContentLength
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// take returns and forgets the requests and bytes seen so far.
func (w *wire) take() ([]string, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, b := w.requests, w.bytes
	w.requests, w.bytes = nil, 0
	return r, b
}

// pluginConfig writes a tana.yml for the plugin and returns its path.
func pluginConfig(t *testing.T, name, base string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name+".tana.yml")
	body := "plugin: tana.cmdb.inventory\nurl: " + base + "\n" + extra
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// normList parses ansible-inventory --list output for comparison.
func normList(t *testing.T, out string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("ansible-inventory --list is not JSON: %v\n%s", err, out)
	}
	return v
}

// TestPlugin drives the tana.cmdb collection as users do: installed with
// ansible-galaxy from a real tana serve, read by the real
// ansible-inventory, compared with the script for the same settings.
func TestPlugin(t *testing.T) {
	needAnsible(t)
	e := newEnv(t)
	tok, _, err := e.run(t, nil, tanaBin, "token", "create", "--role", "reader", "--name", "ansible")
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	tok = strings.TrimSpace(tok)
	base := startServe(t, e)
	var w wire
	proxied := w.proxy(t, base)

	colls := t.TempDir()
	pe := []string{"ANSIBLE_COLLECTIONS_PATH=" + colls, "TANA_TOKEN=" + tok}
	e.mustRun(t, pe, "ansible-galaxy", "collection", "install", base+"/ansible/tana-cmdb.tar.gz", "-p", colls)
	if _, err := os.Stat(filepath.Join(colls, "ansible_collections", "tana", "cmdb", "plugins", "inventory", "inventory.py")); err != nil {
		t.Fatalf("ansible-galaxy did not install the plugin: %v", err)
	}
	doc := e.mustRun(t, pe, "ansible-doc", "-t", "inventory", "tana.cmdb.inventory")
	for _, want := range []string{"revalidate", "keyed_groups", "cache_timeout", "TANA_URL", "os_linux"} {
		if !strings.Contains(doc, want) {
			t.Errorf("ansible-doc lacks %q", want)
		}
	}

	t.Run("same as the script", func(t *testing.T) {
		cfg := pluginConfig(t, "all", proxied, "")
		for _, mode := range []string{"--list", "--graph"} {
			script := e.mustRun(t, pe, "ansible-inventory", "-i", e.wrapper, mode)
			plugin := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, mode)
			if mode == "--list" && !reflect.DeepEqual(normList(t, plugin), normList(t, script)) || mode == "--graph" && plugin != script {
				t.Errorf("ansible-inventory %s: the plugin differs from the script\nplugin:\n%s\nscript:\n%s", mode, plugin, script)
			}
		}
		if reqs, _ := w.take(); len(reqs) != 2 || !strings.HasPrefix(reqs[0], "200 /ansible/inventory") {
			t.Errorf("two runs made requests %v, want one GET each", reqs)
		}
		ann := e.mustRun(t, pe, "ansible", "-i", cfg, "web02", "-m", "debug", "-a", "var=annotation", "--connection=local")
		if !strings.Contains(ann, "lookup(") || strings.Contains(ann, `"INJECTED"`) {
			t.Errorf("Ansible templated a CMDB value read by the plugin:\n%s", ann)
		}
	})

	t.Run("query and vars", func(t *testing.T) {
		w.take()
		e.mustRun(t, pe, "ansible-inventory", "-i", pluginConfig(t, "all", proxied, ""), "--list")
		_, full := w.take()
		q := "type=vm&filter=role=web&vars=role,cluster"
		cfg := pluginConfig(t, "web", proxied, "query:\n  types: [vm]\n  filters: [\"role=web\"]\nvars: [role, cluster]\n")
		plugin := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--list")
		reqs, narrowed := w.take()
		if len(reqs) != 1 || !strings.Contains(reqs[0], "filter=role%3Dweb") || !strings.Contains(reqs[0], "vars=role%2Ccluster") {
			t.Errorf("requests %v, want one GET with the query", reqs)
		}
		if narrowed*3 > full*2 {
			t.Errorf("the query cut %d bytes to %d; want at least a third gone", full, narrowed)
		}
		script := e.mustRun(t, append(pe, "TANA_INVENTORY_QUERY="+q), "ansible-inventory", "-i", e.wrapper, "--list")
		if !reflect.DeepEqual(normList(t, plugin), normList(t, script)) {
			t.Errorf("with %s the plugin differs from the script\nplugin:\n%s\nscript:\n%s", q, plugin, script)
		}
		hv := normList(t, plugin)["_meta"].(map[string]any)["hostvars"].(map[string]any)
		web01, _ := hv["web01"].(map[string]any)
		if len(hv) != 2 || web01["role"] != "web" || web01["cluster"] != "prod01" || web01["ansible_host"] != "10.0.0.1" || web01["cpus"] != nil {
			t.Errorf("query and vars gave hostvars %v", hv)
		}
		bad := pluginConfig(t, "bad", proxied, "query:\n  filters: [\"cpus=two\"]\n")
		out, errOut, err := e.run(t, pe, "ansible-inventory", "-i", bad, "--list")
		if err == nil || !strings.Contains(errOut, "filter[0]") {
			t.Errorf("a bad filter: %v, stderr %s\n%s; want a failure naming filter[0]", err, errOut, out)
		}
		w.take()
	})

	t.Run("constructed", func(t *testing.T) {
		cfg := pluginConfig(t, "built", proxied, `strict: true
compose:
  tier: "'gold' if (cpus | default(0)) >= 2 else 'bronze'"
groups:
  tagged_web: "'web' in (tags | default([]))"
keyed_groups:
  - {key: role, prefix: role}
  - {key: tier, prefix: tier}
`)
		graph := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--graph")
		for _, want := range []string{"@role_web:", "@role_db:", "@tier_gold:", "@tier_bronze:", "@tagged_web:", "@cluster_prod01:"} {
			if !strings.Contains(graph, want) {
				t.Errorf("--graph lacks %s:\n%s", want, graph)
			}
		}
		hv := normList(t, e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--list"))["_meta"].(map[string]any)["hostvars"].(map[string]any)
		if hv["web01"].(map[string]any)["tier"] != "gold" || hv["db01"].(map[string]any)["tier"] != "bronze" {
			t.Errorf("compose: web01 %v, db01 %v", hv["web01"], hv["db01"])
		}
		w.take()
	})

	t.Run("cache", func(t *testing.T) {
		cacheDir := t.TempDir()
		opts := "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: " + cacheDir + "\ncache_timeout: 3600\n"
		cfg := pluginConfig(t, "cached", proxied, opts)
		first := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--list")
		second := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--list")
		if reqs, _ := w.take(); len(reqs) != 2 || !strings.HasPrefix(reqs[0], "200 ") || !strings.HasPrefix(reqs[1], "304 ") {
			t.Errorf("two cached runs made %v, want 200 then 304", reqs)
		}
		if !reflect.DeepEqual(normList(t, first), normList(t, second)) {
			t.Errorf("the inventory from the cache differs:\n%s\n%s", first, second)
		}
		ann := e.mustRun(t, pe, "ansible", "-i", cfg, "web02", "-m", "debug", "-a", "var=annotation", "--connection=local")
		if !strings.Contains(ann, "lookup(") || strings.Contains(ann, `"INJECTED"`) {
			t.Errorf("Ansible templated a CMDB value from the cache:\n%s", ann)
		}
		w.take()
		quiet := filepath.Join(filepath.Dir(cfg), "quiet.tana.yml")
		if err := os.WriteFile(quiet, []byte("plugin: tana.cmdb.inventory\nurl: "+proxied+"\n"+opts+"revalidate: false\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.mustRun(t, pe, "ansible-inventory", "-i", quiet, "--list")
		e.mustRun(t, pe, "ansible-inventory", "-i", quiet, "--list")
		if reqs, _ := w.take(); len(reqs) != 1 {
			t.Errorf("revalidate: false, two runs made %v; want the first only", reqs)
		}

		s := inventoryOn(t, e.db)
		en, err := s.GetByName(ctx, "vm", "db01")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, inventorytest.Meta("t"), en.ID, inventory.Patch{Version: en.Version, Attrs: map[string]any{"role": "web"}}); err != nil {
			t.Fatal(err)
		}
		graph := e.mustRun(t, pe, "ansible-inventory", "-i", cfg, "--graph", "webservers")
		if reqs, _ := w.take(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "200 ") || !strings.Contains(graph, "db01") {
			t.Errorf("after a change the cached run made %v and shows webservers\n%s; want 200 and db01 in it", reqs, graph)
		}
		play := filepath.Join(t.TempDir(), "play.yml")
		if err := os.WriteFile(play, []byte("- hosts: all\n  gather_facts: false\n  tasks: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.mustRun(t, pe, "ansible-playbook", "-i", cfg, "--flush-cache", play)
		if reqs, _ := w.take(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "200 ") {
			t.Errorf("--flush-cache made %v, want a plain GET answered 200", reqs)
		}
	})
}
