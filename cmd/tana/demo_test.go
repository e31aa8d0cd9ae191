package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDemoEndToEnd drives the real binary through the whole loop: demo up →
// GraphQL sees the VMs → plan shows exactly the scripted drift → apply →
// the DNS server has the new records and the store the new VM sizes →
// plan shows no drift → Ansible lists the renamed VM under its new name.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	demo := exec.Command(tanaBin, "demo", "--dir", dir, "--listen", "127.0.0.1:0", "--vms", "4")
	demo.Env = append(os.Environ(), "TANA_CONFIG=", "TANA_DB=")
	var demoOut, demoErr bytes.Buffer
	demo.Stdout, demo.Stderr = &demoOut, &demoErr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		_ = demo.Process.Kill() // exited already, unless the test failed
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", demoOut.String(), demoErr.String())
		}
	})
	base := "http://" + waitConfig(t, filepath.Join(dir, "tana.yaml"), "listen: ", exited)
	waitReady(t, base+"/readyz", exited)
	env := readEnv(t, filepath.Join(dir, "env.sh"))

	// GraphQL sees the VMs, with the resize already brought into the store
	// by the collection (observed attributes follow reality).
	var q struct {
		Data struct {
			Vms struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Name           string
						Cpus, MemoryMb int
					}
				}
			}
		}
	}
	graphql(t, base, `{ vms(first: 100, orderBy: NAME_ASC) { totalCount edges { node { name cpus memoryMb } } } }`, &q)
	sizes := map[string][2]int{}
	for _, e := range q.Data.Vms.Edges {
		sizes[e.Node.Name] = [2]int{e.Node.Cpus, e.Node.MemoryMb}
	}
	if q.Data.Vms.TotalCount != 13 || sizes["web02-big"] != [2]int{4, 8192} || sizes["web09"] == [2]int{} {
		t.Fatalf("graphql vms: %d %v", q.Data.Vms.TotalCount, sizes)
	}
	if _, ok := sizes["web02"]; ok {
		t.Fatal("the renamed VM is still listed under its old name")
	}

	// The plan holds exactly the scripted DNS drift.
	out := tana(t, env, 0, "plan", "--json")
	var plan struct {
		ID    string
		Fixes []struct {
			Direction string
			Reality   struct {
				Op     string
				Object struct{ Attrs map[string]any }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	var fixes []string
	for _, f := range plan.Fixes {
		a := f.Reality.Object.Attrs
		fixes = append(fixes, fmt.Sprintf("%s %s %s %s", f.Reality.Op, a["fqdn"], a["rtype"], a["value"]))
	}
	want := []string{
		"create 99.2.0.192.in-addr.arpa. PTR web09.lab.example.com.",
		"create web09.lab.example.com. A 192.0.2.99",
		"delete old-mail.lab.example.com. A 192.0.2.250",
	}
	if strings.Join(fixes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan fixes:\n%s\nwant:\n%s", strings.Join(fixes, "\n"), strings.Join(want, "\n"))
	}
	tana(t, env, 2, "plan", "--detailed-exitcode")

	tana(t, env, 0, "apply", plan.ID, "--auto-approve")

	// The DNS server now has the records, and the orphan is gone.
	server := configValue(filepath.Join(dir, "tana.yaml"), "server: ")
	expectRR(t, server, "web09.lab.example.com.", dns.TypeA, "192.0.2.99")
	expectRR(t, server, "99.2.0.192.in-addr.arpa.", dns.TypePTR, "web09.lab.example.com.")
	expectRR(t, server, "old-mail.lab.example.com.", dns.TypeA, "")

	tana(t, env, 0, "collect")
	tana(t, env, 0, "plan", "--detailed-exitcode")

	// The report lists each fixed item once, with how it was fixed.
	report := tana(t, env, 0, "report", "--format", "md")
	if n := strings.Count(report, "by apply of plan "+plan.ID); n != 3 {
		t.Errorf("report names the apply %d times, want 3 (one per fixed item):\n%s", n, report)
	}

	// A zone the server refuses: collect says which and exits 3.
	cfgPath := filepath.Join(dir, "tana.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "refused.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(cfg), "zones: [", "zones: [nosuch.example., ", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	badEnv := maps.Clone(env)
	badEnv["TANA_CONFIG"] = bad
	if out := tana(t, badEnv, 3, "collect"); !strings.Contains(out, "dns:nosuch.example.: 0 objects (incomplete)") || !strings.Contains(out, "  incomplete: ") {
		t.Errorf("collect with a refused zone:\n%s", out)
	}
	if out := tana(t, env, 0, "get", "vm", "web02-big", "--json"); !strings.Contains(out, `"memory_mb": 8192`) {
		t.Errorf("store lacks the new size: %s", out)
	}

	if _, err := exec.LookPath("ansible-inventory"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible-inventory is not installed in CI")
		}
		t.Log("!!! SKIPPING the Ansible step: ansible-inventory not installed !!!")
	} else {
		wrapper, _ := filepath.Abs("../../contrib/tana-inventory")
		cmd := exec.Command("ansible-inventory", "-i", wrapper, "--list")
		cmd.Env = append(envList(env), "TANA_BIN="+tanaBin, "ANSIBLE_HOME="+t.TempDir(), "ANSIBLE_LOCAL_TEMP="+t.TempDir())
		inv, err := cmd.Output()
		if err != nil {
			t.Fatalf("ansible-inventory: %v", err)
		}
		if !strings.Contains(string(inv), `"web02-big"`) || strings.Contains(string(inv), `"web02"`) || !strings.Contains(string(inv), `"web09"`) {
			t.Fatalf("inventory:\n%s", inv)
		}
	}

	// Ctrl-C stops the demo cleanly.
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("demo exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop on SIGINT")
	}
}

// waitConfig waits for the demo's tana.yaml and returns the value of key.
func waitConfig(t *testing.T, path, key string, exited <-chan error) string {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("demo exited early: %v", err)
		default:
		}
		if v := configValue(path, key); v != "" {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %q in %s after 90 s", key, path)
	return ""
}

// configValue returns the value of the first "key value" line of a file.
func configValue(path, key string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
			return v
		}
	}
	return ""
}

func waitReady(t *testing.T, url string, exited <-chan error) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("demo exited early: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("demo not ready in 90 s")
}

// readEnv parses the demo's env.sh (export K=V lines).
func readEnv(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env
}

func envList(env map[string]string) []string {
	out := append([]string{}, os.Environ()...)
	out = append(out, "TANA_DB=", "TANA_ACTOR=e2e")
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// tana runs the binary with the demo's environment and checks the exit code.
func tana(t *testing.T, env map[string]string, code int, args ...string) string {
	t.Helper()
	out, errOut, got := runEnv(t, env, args...)
	if got != code {
		t.Fatalf("tana %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, code, out, errOut)
	}
	return out
}

func graphql(t *testing.T, base, query string, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// expectRR queries the server; want "" means the name has no such record.
func expectRR(t *testing.T, server, name string, qtype uint16, want string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, err := dns.Exchange(m, server)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range r.Answer {
		switch x := rr.(type) {
		case *dns.A:
			got = append(got, x.A.String())
		case *dns.PTR:
			got = append(got, x.Ptr)
		}
	}
	if want == "" && len(got) > 0 || want != "" && (len(got) != 1 || got[0] != want) {
		t.Fatalf("%s %s: %v, want %q", name, dns.TypeToString[qtype], got, want)
	}
}
