package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/tana-cmdb/tana/version"
)

// TestVersion builds tana as make build does, with the version linked in,
// and checks that tana version, tana --version and a server's /healthz
// all report it.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tana")
	ld := "-X github.com/tana-cmdb/tana/version.version=v9.9.9 -X github.com/tana-cmdb/tana/version.commit=c0ffee " +
		"-X github.com/tana-cmdb/tana/version.buildDate=2026-01-02T03:04:05Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	want := "tana v9.9.9 (commit c0ffee, " + runtimeVersion(t, bin) + ", built 2026-01-02T03:04:05Z)\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil || string(out) != want {
			t.Errorf("tana %s = %q, %v; want %q", strings.Join(args, " "), out, err, want)
		}
	}

	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TANA_DB=sqlite:"+filepath.Join(t.TempDir(), "tana.db"), "TANA_CONFIG=")
	cmd.Dir = t.TempDir()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait() // how it ends is TestServe's business
	}()
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Status string `json:"status"`
		version.Info
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 || got.Status != "ok" ||
		got.Version != "v9.9.9" || got.Commit != "c0ffee" || got.BuildDate != "2026-01-02T03:04:05Z" {
		t.Errorf("/healthz = %d %+v (%v); want ok with v9.9.9, c0ffee, 2026-01-02T03:04:05Z", resp.StatusCode, got, err)
	}
}

// runtimeVersion is the Go version bin was built with.
func runtimeVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command("go", "version", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}
