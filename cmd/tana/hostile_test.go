package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/server/servertest"
)

// serveProcess is a running `tana serve`.
type serveProcess struct {
	cmd  *exec.Cmd
	base string
}

// startServe runs `tana serve` on a random loopback port with env (over
// no tana.yaml unless env names one) and returns once it has logged its
// address.
func startServe(t testing.TB, env ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "TANA_CONFIG="), env...)
	cmd.Dir = t.TempDir()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // "killed", or exited already
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }() // keeps the pipe from filling; ends with the process
			return &serveProcess{cmd: cmd, base: "http://" + m[1]}
		}
	}
	t.Fatal("serve never logged its address")
	return nil
}

// cpu is the CPU time the process has used, from /proc.
func (p *serveProcess) cpu(t *testing.T) time.Duration {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	// Fields after the command name (which may hold spaces): utime is
	// the 14th field of the line, stime the 15th, in clock ticks (100/s).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// graphql posts a query and returns the status and the first error's code.
func (p *serveProcess) graphql(t *testing.T, query string) (int, string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(p.base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the server did not answer: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if len(out.Errors) == 0 {
		return resp.StatusCode, "", ""
	}
	code, _ := out.Errors[0].Extensions["code"].(string)
	return resp.StatusCode, code, out.Errors[0].Message
}

// TestServeSurvivesHostileQueries sends every hostile query of issue 20
// to a real `tana serve` with the default limits: each is answered within
// a second of the server's CPU, with the expected refusal, and the server
// goes on serving. Before, the first one killed the process.
func TestServeSurvivesHostileQueries(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	mustRun(t, db, "migrate")
	p := startServe(t, "TANA_DB="+db)
	for _, h := range servertest.HostileQueries() {
		t.Run(h.Name, func(t *testing.T) {
			cpu, wall := p.cpu(t), time.Now()
			status, code, msg := p.graphql(t, h.Query)
			used := p.cpu(t) - cpu
			t.Logf("%d bytes: %d %s in %v, server CPU %v", len(h.Query), status, code, time.Since(wall).Round(time.Millisecond), used)
			if used > time.Second {
				t.Errorf("the server spent %v of CPU on it", used)
			}
			if status != h.Status || code != h.Code || !strings.Contains(msg, h.Message) {
				t.Errorf("%d %q %q, want %d %q %q", status, code, msg, h.Status, h.Code, h.Message)
			}
			if status, code, _ := p.graphql(t, `{ types { name } vms { totalCount } }`); status != 200 || code != "" {
				t.Fatalf("after it the server answers %d %s", status, code)
			}
		})
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
}
