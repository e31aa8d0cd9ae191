package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestReconcileCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	if out, _, code := run(t, db, "", "plan", "--detailed-exitcode"); code != 0 || !strings.Contains(out, "No drift") {
		t.Fatalf("plan on an empty store: exit %d\n%s", code, out)
	}
	var plan struct {
		ID    string `json:"id"`
		Fixes []any  `json:"fixes"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "plan", "--json")), &plan); err != nil || plan.ID == "" {
		t.Fatalf("plan --json: %v %+v", err, plan)
	}
	var report map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, db, "report", "--format", "json", "--save")), &report); err != nil || report["summary"] == nil {
		t.Fatalf("report --format json: %v %v", err, report)
	}
	if out := mustRun(t, db, "report", "--format", "html"); !strings.Contains(out, "<h1>tana drift report</h1>") {
		t.Fatalf("html report: %s", out)
	}
	// Only the two plans ran, each a run of its own.
	var runs []struct{ Kind, Status string }
	if err := json.Unmarshal([]byte(mustRun(t, db, "runs", "--json")), &runs); err != nil || len(runs) != 2 ||
		runs[0].Kind != "plan" || runs[0].Status != "ok" || runs[1].Kind != "plan" {
		t.Fatalf("runs --json = %+v, %v", runs, err)
	}
	if out := mustRun(t, db, "drift", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("drift --json = %s", out)
	}
	if _, errOut, code := run(t, db, "", "apply", "no-such-plan", "--auto-approve"); code != 1 || !strings.Contains(errOut, "not_found") {
		t.Fatalf("apply of a missing plan: exit %d %s", code, errOut)
	}
	if _, errOut, code := run(t, db, "", "collect"); code != 1 || !strings.Contains(errOut, "no sources configured") {
		t.Fatalf("collect without sources: exit %d %s", code, errOut)
	}
	for _, c := range []string{"collect", "plan", "apply", "drift", "runs", "report"} {
		if out := mustRun(t, db, c, "--help"); !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: %s", c, out)
		}
	}
}
