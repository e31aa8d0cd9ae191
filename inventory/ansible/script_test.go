package ansible

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tanaBin is the real binary, built once, which contrib/tana-inventory runs.
var tanaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tana-ansible")
	if err != nil {
		panic(err)
	}
	tanaBin = filepath.Join(dir, "tana")
	if out, err := exec.Command("go", "build", "-o", tanaBin, "github.com/tana-cmdb/tana/cmd/tana").CombinedOutput(); err != nil {
		panic("build tana: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir) // a temporary directory: litter at worst
	os.Exit(code)
}

// env is a seeded SQLite store, its tana.yaml and an environment in
// which Ansible writes only to temporary directories.
type env struct {
	db, config, wrapper string
	vars                []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{db: "sqlite:" + filepath.Join(dir, "tana.db"), config: filepath.Join(dir, "tana.yaml")}
	s := inventoryOn(t, e.db)
	seed(t, s)
	types, _ := filepath.Abs(filepath.Join("testdata", "types"))
	cfg, err := os.ReadFile(filepath.Join("testdata", "tana.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("types: ./types/"), []byte("types: "+types), 1)
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	e.wrapper, _ = filepath.Abs(filepath.Join("..", "..", "contrib", "tana-inventory"))
	for _, d := range []string{"home", "tmp", "remote"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	e.vars = []string{
		"TANA_BIN=" + tanaBin, "TANA_DB=" + e.db, "TANA_CONFIG=" + e.config, "TANA_URL=", "TANA_TOKEN=",
		"ANSIBLE_HOME=" + filepath.Join(dir, "home"), "ANSIBLE_LOCAL_TEMP=" + filepath.Join(dir, "tmp"),
		"ANSIBLE_REMOTE_TEMP=" + filepath.Join(dir, "remote"), "ANSIBLE_HOST_KEY_CHECKING=False",
		"ANSIBLE_INVENTORY_UNPARSED_FAILED=True", "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_DEPRECATION_WARNINGS=False", "ANSIBLE_LOAD_CALLBACK_PLUGINS=False", "ANSIBLE_STDOUT_CALLBACK=default",
	}
	return e
}

// run runs a command in the environment; extra variables override.
func (e *env) run(t *testing.T, extra []string, name string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), e.vars...), extra...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (e *env) mustRun(t *testing.T, extra []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := e.run(t, extra, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	if strings.Contains(errOut, "ERROR") || strings.Contains(errOut, "WARNING") {
		t.Errorf("%s %s complained:\n%s", name, strings.Join(args, " "), errOut)
	}
	return out
}

// needAnsible skips, loudly, without ansible-core (never in CI).
func needAnsible(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ansible-inventory", "ansible"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed in CI: %v", bin, err)
			}
			t.Skipf("!!! SKIPPING the Ansible integration test: %s not found (install ansible-core) !!!", bin)
		}
	}
}

func noSecrets(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"hunter2", "s3cret", "root_password", "api_key"} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, out)
		}
	}
}

func TestAnsibleInventoryScript(t *testing.T) {
	needAnsible(t)
	e := newEnv(t)

	out := e.mustRun(t, nil, "ansible-inventory", "-i", e.wrapper, "--list")
	noSecrets(t, "ansible-inventory --list", out)
	var got map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("ansible-inventory --list: %v\n%s", err, out)
	}
	hostvars, _ := got["_meta"]["hostvars"].(map[string]any)
	web01, _ := hostvars["web01"].(map[string]any)
	for k, want := range map[string]any{"ansible_host": "10.0.0.1", "cluster_datacenter": "dc1", "host_cluster": "prod01",
		"http_port": 8080.0, "nginx_workers": 4.0, "ntp_server": "ntp.example.com"} {
		if web01[k] != want {
			t.Errorf("Ansible sees web01 %s = %#v, want %#v", k, web01[k], want)
		}
	}
	if len(hostvars) != 3 || hostvars["off01"] != nil || hostvars["tmpl01"] != nil {
		t.Errorf("Ansible sees hosts %v, want db01, web01, web02", keys(hostvars))
	}

	graph := e.mustRun(t, nil, "ansible-inventory", "-i", e.wrapper, "--graph")
	for _, want := range []string{"@all:", "@webservers:", "@cluster_prod01:", "@cluster_test_01:", "@tag_frontend:",
		"@power_state_poweredOn:", "@dc_dc2:", "|--db01", "|--web02"} {
		if !strings.Contains(graph, want) {
			t.Errorf("--graph lacks %q:\n%s", want, graph)
		}
	}

	host := e.mustRun(t, nil, "ansible-inventory", "-i", e.wrapper, "--host", "db01")
	if !strings.Contains(host, `"ansible_host": "db01"`) || !strings.Contains(host, `"port": 5432`) {
		t.Errorf("ansible-inventory --host db01:\n%s", host)
	}

	adhoc := e.mustRun(t, nil, "ansible", "-i", e.wrapper, "all", "-m", "debug", "-a", "var=ansible_host", "--connection=local")
	for _, want := range []string{"web01 | SUCCESS", `"ansible_host": "10.0.0.1"`, "db01 | SUCCESS", `"ansible_host": "db01"`} {
		if !strings.Contains(adhoc, want) {
			t.Errorf("ansible all -m debug lacks %q:\n%s", want, adhoc)
		}
	}
	if strings.Contains(adhoc, "off01") || strings.Contains(adhoc, "tmpl01") {
		t.Errorf("ansible ran on excluded hosts:\n%s", adhoc)
	}
	ann := e.mustRun(t, nil, "ansible", "-i", e.wrapper, "web02", "-m", "debug", "-a", "var=annotation", "--connection=local")
	if !strings.Contains(ann, "lookup(") || strings.Contains(ann, `"INJECTED"`) {
		t.Errorf("Ansible templated a CMDB value (it must be unsafe):\n%s", ann)
	}
	port := e.mustRun(t, nil, "ansible", "-i", e.wrapper, "webservers", "-m", "debug", "-a", "var=http_port", "--connection=local")
	if strings.Count(port, `"http_port": 8080`) != 2 || strings.Contains(port, "db01") {
		t.Errorf("group vars from the CMDB do not reach the webservers:\n%s", port)
	}
}

// TestHTTPMatchesScript checks that the endpoint answers what the script
// prints, that the CLI reads a server with a token, and that Ansible
// accepts the wrapper in that mode too.
func TestHTTPMatchesScript(t *testing.T) {
	e := newEnv(t)
	script := e.mustRun(t, nil, tanaBin, "inventory", "--list")

	s := inventoryOn(t, e.db)
	inv, err := New(s, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(inv)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ansible/inventory" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	get := func(query string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ansible/inventory"+query, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		return resp.StatusCode, b.String()
	}
	if code, body := get(""); code != 200 || body != script {
		t.Errorf("GET /ansible/inventory = %d, differs from the script:\n%s\nscript:\n%s", code, body, script)
	}
	hostScript := e.mustRun(t, nil, tanaBin, "inventory", "--host", "web01")
	if code, body := get("?host=web01"); code != 200 || body != hostScript {
		t.Errorf("GET ?host=web01 = %d %s, script says %s", code, body, hostScript)
	}
	if code, body := get("?host=nosuch"); code != 200 || body != "{}\n" {
		t.Errorf("GET ?host=nosuch = %d %q, want {}", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ansible/inventory", nil)
	req.Header.Set("Authorization", "Bearer tok")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %v %v, want 405", resp, err)
	}

	remote := []string{"TANA_URL=" + srv.URL + "/", "TANA_TOKEN=tok", "TANA_DB=sqlite:/nonexistent/x.db"}
	if out := e.mustRun(t, remote, tanaBin, "inventory", "--list"); out != script {
		t.Errorf("tana inventory --list via TANA_URL differs from the store's:\n%s", out)
	}
	if out := e.mustRun(t, remote, tanaBin, "inventory", "--host", "web01"); out != hostScript {
		t.Errorf("tana inventory --host via TANA_URL = %s", out)
	}
	_, errOut, err := e.run(t, []string{"TANA_URL=" + srv.URL, "TANA_TOKEN=wrong"}, tanaBin, "inventory", "--list")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("wrong token: err %v, stderr %q; want exit 1 naming the 401", err, errOut)
	}
	if _, err := exec.LookPath("ansible-inventory"); err == nil {
		out := e.mustRun(t, remote, "ansible-inventory", "-i", e.wrapper, "--graph")
		if !strings.Contains(out, "@webservers:") {
			t.Errorf("ansible-inventory via TANA_URL:\n%s", out)
		}
	}
}

// TestScriptErrors checks that failures reach stderr with exit 1, which
// Ansible shows to the user.
func TestScriptErrors(t *testing.T) {
	e := newEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("ansible:\n  hosts: [nosuch]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		extra []string
		args  []string
		want  string
	}{
		{"no flag", nil, []string{"inventory"}, "--list or --host"},
		{"both flags", nil, []string{"inventory", "--list", "--host", "x"}, "--list or --host"},
		{"unknown host type", []string{"TANA_CONFIG=" + bad}, []string{"inventory", "--list"}, "nosuch"},
		{"server down", []string{"TANA_URL=http://127.0.0.1:1"}, []string{"inventory", "--list"}, "ask server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := e.run(t, c.extra, tanaBin, c.args...)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want 1 (stdout %q)", err, out)
			}
			if out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("stdout %q, stderr %q; want nothing on stdout and %q on stderr", out, errOut, c.want)
			}
		})
	}
}

func keys(m map[string]any) []string {
	return sortedKeys(m)
}
