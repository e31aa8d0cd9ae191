package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTokenCommands creates, lists and revokes tokens on the real binary.
func TestTokenCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	out, errOut, code := run(t, db, "", "token", "create", "--role", "reader", "--name", "ci")
	if code != 0 || !strings.HasPrefix(out, "tana_") || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(t, db, "", "token", "create", "--role", "boss"); code == 0 || !strings.Contains(errOut, "unknown role") {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	out, _, _ = run(t, db, "", "token", "list")
	if !strings.Contains(out, "ci") || !strings.Contains(out, "reader") || strings.Contains(out, "tana_") {
		t.Fatalf("list: %q", out)
	}
	if _, _, code := run(t, db, "", "token", "revoke", "ci"); code != 0 {
		t.Fatalf("revoke: %d", code)
	}
	if _, errOut, code := run(t, db, "", "token", "revoke", "ci"); code == 0 || !strings.Contains(errOut, "not_found") {
		t.Fatalf("revoke twice: %d %q", code, errOut)
	}
}

// TestServe starts `tana serve` on a random port, queries it, and stops it
// with SIGTERM.
func TestServe(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	if _, _, code := run(t, db, "", "migrate"); code != 0 {
		t.Fatal("migrate failed")
	}
	cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TANA_DB="+db, "TANA_CONFIG=")
	cmd.Dir = t.TempDir()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }() // exited already, unless the test failed
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("serve never logged its address")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }() // keeps the pipe from filling; ends with the process
	resp, err := http.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(`{"query":"{ types { name } vms { totalCount } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"totalCount":0`) {
		t.Fatalf("graphql: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/readyz", "/ansible/inventory", "/metrics"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}
