package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestLostOutputFails: a command whose output is what it is for exits
// non-zero, naming the failed write, when its standard output cannot be
// written (here /dev/full, a full disk), rather than 0 with nothing shown.
func TestLostOutputFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer func() { _ = full.Close() }() // written to, never successfully
	db := inventorytest.DSN(t, "sqlite")
	src, err := filepath.Abs("testdata/import.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, "import", src)
	for _, args := range [][]string{
		{"import", "--dry-run", src},
		{"history", "vm", "web01"},
		{"plan"},
		{"token", "create", "--role", "reader"},
		{"export"},
	} {
		t.Run(strings.Join(args[:min(2, len(args))], " "), func(t *testing.T) {
			cmd := exec.Command(tanaBin, args...)
			cmd.Env = append(os.Environ(), "TANA_DB="+db, "TANA_ACTOR=tester", "TANA_CONFIG=")
			cmd.Dir = t.TempDir()
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = full, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(stderr.String(), "no space left on device") {
				t.Fatalf("tana %s with stdout on a full disk: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
		})
	}
}
