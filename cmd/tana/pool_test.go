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
	"testing"
)

// startServe runs `tana serve` on a free port with env until the test
// ends and returns its address.
func startServe(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1]
		}
	}
	t.Fatal("serve never logged its address")
	return ""
}

// TestPoolSizeFromConfig: db.max_conns in tana.yaml sizes the store's
// connection pool, which /metrics shows.
func TestPoolSizeFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tana.yaml")
	yaml := "db:\n  url: sqlite:" + filepath.Join(dir, "tana.db") + "\n  max_conns: 5\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startServe(t, "TANA_CONFIG="+cfg, "TANA_DB=")
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `go_sql_max_open_connections{db_name="sqlite"} 5`; !strings.Contains(string(body), want) {
		t.Fatalf("/metrics has no %s:\n%s", want, grepLines(string(body), "go_sql_"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
