// Package inventorytest opens fresh stores for tests, on SQLite and on
// PostgreSQL, so every store test runs against both.
package inventorytest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Dialects is the list every store test runs on.
var Dialects = []string{"sqlite", "postgres"}

// PostgresURL is the server tests use: TANA_TEST_POSTGRES, or the local
// trust-auth server with database "test".
func PostgresURL() string {
	if u := os.Getenv("TANA_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

// DSN returns a database URL for a fresh, empty database of the dialect:
// a temporary SQLite file, or a new PostgreSQL schema dropped at cleanup.
// Without a reachable PostgreSQL the test skips loudly, except in CI
// (CI=true), where it fails.
func DSN(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case "sqlite":
		return "sqlite:" + filepath.Join(tb.TempDir(), "tana.db")
	case "postgres":
		base := PostgresURL()
		pgOnce.Do(func() {
			db, err := sql.Open("pgx", base)
			if err == nil {
				err = errors.Join(db.Ping(), db.Close())
			}
			pgErr = err
		})
		if pgErr != nil {
			if os.Getenv("CI") != "" {
				tb.Fatalf("PostgreSQL at %s is not reachable in CI: %v", base, pgErr)
			}
			tb.Skipf("!!! SKIPPING PostgreSQL test: %s not reachable: %v !!!", base, pgErr)
		}
		b := make([]byte, 6)
		rand.Read(b)
		name := "t_" + hex.EncodeToString(b)
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		defer MustClose(tb, db)
		if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err != nil {
				return
			}
			defer MustClose(tb, db)
			// A schema left behind is litter, not a failure of the test.
			if _, err := db.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
				tb.Logf("drop schema %s: %v", name, err)
			}
		})
		u, _ := url.Parse(base)
		qv := u.Query()
		qv.Set("search_path", name)
		u.RawQuery = qv.Encode()
		return u.String()
	}
	tb.Fatalf("unknown dialect %q", dialect)
	return ""
}

// Open returns a migrated store on a fresh database of the dialect, with
// the built-in types plus extra types, closed at cleanup.
func Open(tb testing.TB, dialect string, extra ...*schema.EntityType) *inventory.Store {
	tb.Helper()
	reg, err := schema.NewRegistry(append(schema.Builtin(), extra...)...)
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	return OpenWith(tb, DSN(tb, dialect), reg)
}

// OpenWith opens and migrates a store on dsn with reg.
func OpenWith(tb testing.TB, dsn string, reg *schema.Registry) *inventory.Store {
	tb.Helper()
	return OpenWithOptions(tb, dsn, reg, inventory.Options{})
}

// Clock is a settable clock for stores under test (Options.Now).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// OpenClocked returns a migrated store on a fresh database of the dialect
// whose clock is c.
func OpenClocked(tb testing.TB, dialect string, c *Clock) *inventory.Store {
	tb.Helper()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	return OpenWithOptions(tb, DSN(tb, dialect), reg, inventory.Options{Now: c.Now})
}

// OpenWithOptions opens and migrates a store on dsn with reg and opts.
func OpenWithOptions(tb testing.TB, dsn string, reg *schema.Registry, opts inventory.Options) *inventory.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := inventory.Open(ctx, dsn, reg, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { MustClose(tb, s) }) // closing twice is fine
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	// refs has no foreign keys, so every test checks that it left no
	// dangling reference, on a store of its own: the test may have closed
	// this one.
	tb.Cleanup(func() {
		c, err := inventory.Open(ctx, dsn, reg, inventory.Options{})
		if err != nil {
			tb.Errorf("open store to check references: %v", err)
			return
		}
		defer MustClose(tb, c)
		if err := c.CheckReferences(ctx); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// ForEach runs fn as a subtest on every dialect with a fresh store.
func ForEach(t *testing.T, fn func(t *testing.T, s *inventory.Store), extra ...*schema.EntityType) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d, extra...))
		})
	}
}

// Meta is a change-set description for tests.
func Meta(actor string) inventory.Meta {
	return inventory.Meta{Actor: actor, Source: "test", Reason: fmt.Sprintf("test by %s", actor)}
}

// OpenWithTypes opens and migrates a store on dsn with the built-in types
// and the user types of typesYAML (a types file's content).
func OpenWithTypes(tb testing.TB, dsn, typesYAML string) *inventory.Store {
	tb.Helper()
	ts, err := schema.ParseTypes("types.yaml", []byte(typesYAML))
	if err != nil {
		tb.Fatalf("parse types: %v", err)
	}
	reg, err := schema.NewRegistry(append(schema.Builtin(), ts...)...)
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	return OpenWith(tb, dsn, reg)
}

// KillRun makes a recorded run look like one whose process died on this
// host (its process start time no longer matches), as a SIGKILL would:
// its locks are free at once, and it reads interrupted.
func KillRun(tb testing.TB, dsn, runID string) {
	tb.Helper()
	execSQL(tb, dsn, "UPDATE runs SET pid_start = pid_start + 1 WHERE id = ?", runID)
}

// MoveRun makes a recorded run look like one of a process on another
// host: whether it lives cannot be told, so only its lease speaks for it.
func MoveRun(tb testing.TB, dsn, runID string) {
	tb.Helper()
	execSQL(tb, dsn, "UPDATE runs SET host = 'elsewhere' WHERE id = ?", runID)
}

// execSQL runs one statement on the database of dsn, outside any store.
func execSQL(tb testing.TB, dsn, query string, args ...any) {
	tb.Helper()
	driver, source := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, source = "sqlite3", "file:"+path+"?_busy_timeout=10000"
	} else {
		query = sqlx.Rebind(sqlx.DOLLAR, query)
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		tb.Fatal(err)
	}
	defer MustClose(tb, db)
	if _, err := db.Exec(query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// ForEachPair runs fn as a subtest on every dialect with two stores on one
// fresh database, as two tana processes would have, and the database's
// DSN.
func ForEachPair(t *testing.T, fn func(t *testing.T, dsn string, a, b *inventory.Store)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := DSN(t, d)
			reg, err := schema.NewRegistry(schema.Builtin()...)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, dsn, OpenWith(t, dsn, reg), OpenWith(t, dsn, reg))
		})
	}
}

// MustClose closes c, failing the test if that fails: a store or database
// that cannot close is a bug the test should show.
func MustClose(tb testing.TB, c io.Closer) {
	tb.Helper()
	if err := c.Close(); err != nil {
		tb.Errorf("close: %v", err)
	}
}
