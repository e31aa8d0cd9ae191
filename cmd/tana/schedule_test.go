package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestScheduleSurvivesItsLeader runs two tana serve replicas on one
// PostgreSQL with a schedule every three seconds whose collection takes a
// second, kills the replica running a tick with SIGKILL mid-run, and lets
// the other go on. Every tick ends with exactly one finished run; the
// killed one is run again by the other replica.
func TestScheduleSurvivesItsLeader(t *testing.T) {
	srv := startTestDNS(t, "example.com.", time.Second)
	db := inventorytest.DSN(t, "postgres")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tana.yaml")
	conf := fmt.Sprintf(`lease: 1s
sources:
  - {name: dns1, type: dns, server: %q, zones: [example.com.], timeout: 30s}
schedules:
  - {name: often, cron: "*/3 * * * * *", collect: [dns1]}
`, srv.addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TANA_DB": db, "TANA_CONFIG": cfg}
	tana(t, env, 0, "migrate")
	replicas := map[int]*exec.Cmd{}
	logs := map[int]*bytes.Buffer{}
	for range 2 {
		cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
		cmd.Env = envList(env)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		replicas[cmd.Process.Pid], logs[cmd.Process.Pid] = cmd, &log
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // "killed", or exited already
	}
	t.Cleanup(func() {
		if t.Failed() {
			for pid, l := range logs {
				t.Logf("replica %d:\n%s", pid, l.String())
			}
		}
	})
	ctx := context.Background()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.Open(ctx, db, reg, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inventorytest.MustClose(t, s)

	// Kill the replica that is running a tick, mid-run.
	var killedTick time.Time
	for deadline := time.Now().Add(30 * time.Second); killedTick.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatal("no schedule run started")
		}
		runs, err := s.Runs(ctx, inventory.RunFilter{Kind: "schedule"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Status != inventory.RunRunning {
				continue
			}
			for pid, cmd := range replicas {
				if strings.HasSuffix(r.Holder, fmt.Sprintf(" pid %d", pid)) {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					_ = cmd.Wait() // "signal: killed"
					delete(replicas, pid)
					killedTick = *r.Tick
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The survivor runs the killed tick and the next ones.
	time.Sleep(8 * time.Second)
	for _, cmd := range replicas {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("replica after SIGTERM: %v", err)
		}
	}

	runs, err := s.Runs(ctx, inventory.RunFilter{Kind: "schedule", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	byTick := map[time.Time][]string{}
	var last time.Time
	for _, r := range runs {
		byTick[*r.Tick] = append(byTick[*r.Tick], r.Status)
		if r.Status == inventory.RunOK && r.Tick.After(last) {
			last = *r.Tick
		}
	}
	// Every tick of the spec from the first run to the last finished one
	// has exactly one finished run: a tick without any run is lost too.
	var first time.Time
	for tick := range byTick {
		if first.IsZero() || tick.Before(first) {
			first = tick
		}
	}
	finished := 0
	for tick := first; !tick.After(last); tick = tick.Add(3 * time.Second) {
		statuses := byTick[tick]
		ok := 0
		for _, st := range statuses {
			if st == inventory.RunOK {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("tick %s: runs %v, want exactly one finished", tick.Format(time.TimeOnly), statuses)
		}
		if tick.Equal(killedTick) && !strings.Contains(strings.Join(statuses, " "), inventory.RunInterrupted) {
			t.Errorf("the killed tick %s: runs %v, want one interrupted", tick.Format(time.TimeOnly), statuses)
		}
		finished++
	}
	if finished < 3 || byTick[killedTick] == nil {
		t.Fatalf("ticks: %v (killed %s)", byTick, killedTick.Format(time.TimeOnly))
	}
	t.Logf("%d ticks, each with one finished run; the killed tick %s: %v", finished, killedTick.Format(time.TimeOnly), byTick[killedTick])
}
