package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// sqliteFileMode is the mode of a SQLite database tana creates: it holds
// secret attribute values and API token hashes, so only its owner reads it.
const sqliteFileMode = 0o600

// sqlitePath returns the file a "sqlite:PATH" DSN names, and false for
// other databases and in-memory ones.
func sqlitePath(dsn string) (string, bool) {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return "", false
	}
	path = strings.TrimPrefix(path, "//")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return "", false
	}
	return path, true
}

// NewDatabase reports whether dsn names a SQLite file that does not exist
// yet: opening it would create an empty store (one without API tokens).
func NewDatabase(dsn string) bool {
	path, ok := sqlitePath(dsn)
	if !ok {
		return false
	}
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// prepareSQLiteFile creates a missing database file with mode 0600 before
// SQLite would create it 0644 less the umask. SQLite gives the -wal, -shm
// and -journal files it creates the mode of the database file, so they
// follow. An existing file keeps its mode (its owner may share it on
// purpose), but one that others can read is logged.
func prepareSQLiteFile(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	switch {
	case err == nil:
		// The umask may have taken bits away (0o277 would leave the file
		// unwritable); set the mode exactly.
		err = f.Chmod(sqliteFileMode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("create database file %s: %w", path, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		warnLooseModes(path, log)
		return nil
	}
	return fmt.Errorf("create database file %s: %w", path, err)
}

// warnLooseModes logs each of the database's files that users other than
// its owner may read or write.
func warnLooseModes(path string, log *slog.Logger) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			log.Warn("database file is readable or writable by others; it holds secret values and token hashes",
				"file", p, "mode", fmt.Sprintf("%04o", mode), "fix", "chmod 600 "+p)
		}
	}
}
