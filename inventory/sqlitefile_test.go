//go:build unix

package inventory_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// openSQLite opens and migrates a SQLite store at path, logging to logs.
func openSQLite(t *testing.T, path string, logs *bytes.Buffer) *inventory.Store {
	t.Helper()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.Open(ctx, "sqlite:"+path, reg, inventory.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLiteFilesAreOwnerOnly: the database, its -wal and its -shm are
// created 0600 whatever the umask (0 would give SQLite's 0644, 0o277 a
// file its owner cannot write).
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	for _, umask := range []int{0o022, 0, 0o077, 0o277} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tana.db")
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			if !inventory.NewDatabase("sqlite:" + path) {
				t.Fatal("NewDatabase: false before the file exists")
			}
			var logs bytes.Buffer
			s := openSQLite(t, path, &logs)
			seed(t, s, 3) // a write: the -wal and -shm exist now
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
				}
			}
			if inventory.NewDatabase("sqlite:" + path) {
				t.Error("NewDatabase: true for an existing file")
			}
			if strings.Contains(logs.String(), "readable or writable by others") {
				t.Errorf("a file tana created was reported as loose:\n%s", logs.String())
			}
		})
	}
}

// TestLooseSQLiteFileIsReported: an existing database others can read
// keeps its mode (its owner may share it on purpose) but is logged.
func TestLooseSQLiteFileIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tana.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask made it
		t.Fatal(err)
	}
	var logs bytes.Buffer
	openSQLite(t, path, &logs)
	if !strings.Contains(logs.String(), "readable or writable by others") || !strings.Contains(logs.String(), "chmod 600 "+path) {
		t.Errorf("no warning about mode 0644:\n%s", logs.String())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %04o", fi.Mode().Perm())
	}
}
