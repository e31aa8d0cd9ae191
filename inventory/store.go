// Package inventory is tana's store: entries of the entity types of package
// schema, their attribute values, references, history and source bindings,
// on SQLite (the embedded default) or PostgreSQL. It is the only package
// that touches the database tables.
package inventory

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Options configure a Store. Zero values are sane defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// MaxConns is the most connections the store opens (tana.yaml
	// db.max_conns); 0 means the dialect's default.
	MaxConns int
}

// The connection pool's size when Options.MaxConns is 0. On SQLite it
// bounds the readers; writes go one at a time.
const (
	DefaultMaxConnsPostgres = 20
	DefaultMaxConnsSQLite   = 8
	// MinConns is the smallest pool that works: a plan's apply holds its
	// transaction, a connection per scope lock (PostgreSQL) and reads
	// beside them at once; with fewer it waits for itself.
	MinConns = 4
)

// Connection lifetimes. A pooled connection is kept while in use, so a
// busy server opens none (a pool that kept fewer idle connections than
// it opened closed and reopened them under load: a new PostgreSQL
// session, ~1 ms and a process, per request); it is closed after
// connMaxIdle unused, so a quiet server holds no sessions, and after
// connMaxLifetime, so a replica moves to a restarted or failed-over
// server and no session grows forever.
const (
	connMaxIdle     = 5 * time.Minute
	connMaxLifetime = time.Hour
)

// Store is the inventory store. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect string
	reg     *schema.Registry
	log     *slog.Logger
	now     func() time.Time
	ckpt    *checkpointer // SQLite only
	writers writerQueue   // SQLite only
	names   nameCache
	proc    process // this process, named on its runs
	// withoutEntryEvents leaves entry events out of imports: only the
	// benchmark that measures what they cost sets it (export_test.go).
	withoutEntryEvents bool
}

// Open connects to the database named by dsn: "sqlite:PATH" or
// "postgres://…". It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, reg *schema.Registry, opts Options) (*Store, error) {
	driver, source, dialect, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns != 0 && opts.MaxConns < MinConns {
		return nil, schema.FieldErrorf(schema.EINVALID, "db.max_conns", "want at least %d connections, got %d", MinConns, opts.MaxConns)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path, ok := sqlitePath(dsn); ok {
		if err := prepareSQLiteFile(path, log); err != nil {
			return nil, err
		}
	}
	var db *sqlx.DB
	if dialect == migrations.SQLite {
		db = sqlx.NewDb(sql.OpenDB(sqliteConnector{dsn: source}), driver)
	} else if db, err = sqlx.Open(driver, source); err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == migrations.SQLite {
		sizePool(db.DB, cmp.Or(opts.MaxConns, DefaultMaxConnsSQLite))
	} else {
		sizePool(db.DB, cmp.Or(opts.MaxConns, DefaultMaxConnsPostgres))
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // no connection was made: the ping's error says why
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	s := &Store{db: db, dialect: dialect, reg: reg, log: log, now: opts.Now, proc: thisProcess()}
	if s.now == nil {
		s.now = time.Now
	}
	if dialect == migrations.SQLite {
		s.ckpt = newCheckpointer(db, s.log)
		s.writers = newWriterQueue()
	}
	return s, nil
}

// sizePool keeps as many connections idle as it may open (see
// connMaxIdle).
func sizePool(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(connMaxIdle)
	db.SetConnMaxLifetime(connMaxLifetime)
}

// sqliteConnector opens SQLite connections with the settings the DSN
// cannot carry: memory-mapped reads (PRAGMA mmap_size), which spare a
// large read (a whole type streamed for an inventory) the copy into
// SQLite's page cache and the memory for it.
type sqliteConnector struct{ dsn string }

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	return c.Driver().Open(c.dsn)
}

func (sqliteConnector) Driver() driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		_, err := conn.Exec("PRAGMA mmap_size = 1073741824", nil)
		return err
	}}
}

// parseDSN maps tana's database URL onto a driver name and its DSN.
func parseDSN(dsn string) (driver, source, dialect string, err error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return "", "", "", schema.FieldErrorf(schema.EINVALID, "db", "sqlite: needs a file path, e.g. sqlite:tana.db")
		}
		q := url.Values{}
		q.Set("_foreign_keys", "on")
		q.Set("_journal_mode", "WAL")
		q.Set("_busy_timeout", strconv.FormatInt(WriteWait.Milliseconds(), 10))
		q.Set("_txlock", "immediate")
		q.Set("_synchronous", "NORMAL")
		q.Set("_cache_size", "-65536") // 64 MiB: bulk writes rebuild large index pages
		return "sqlite3", "file:" + path + "?" + q.Encode(), migrations.SQLite, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "pgx", dsn, migrations.Postgres, nil
	}
	return "", "", "", schema.FieldErrorf(schema.EINVALID, "db", "unknown database %q: want sqlite:PATH or postgres://…", RedactDSN(dsn))
}

// RedactDSN hides a password in a database URL, for logs and errors.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.close()
	}
	return s.db.Close()
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Registry returns the entity types the store validates against.
func (s *Store) Registry() *schema.Registry { return s.reg }

// DB returns the underlying handle, for health checks and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Now returns the store clock's time, truncated to microseconds (the
// precision both databases keep).
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Migrate applies pending migrations, then brings stored data in line with
// the entity types (attribute renames).
func (s *Store) Migrate(ctx context.Context) error {
	applied, err := migrations.Up(ctx, s.db.DB, s.dialect)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		s.log.Info("migrations applied", "dialect", s.dialect, "versions", applied)
	}
	if s.dialect == migrations.SQLite {
		// SQLite never gathers statistics by itself.
		if _, err := s.db.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			s.log.Warn("sqlite optimize", "err", err)
		}
	}
	return s.SyncTypes(ctx)
}

// Ready reports whether the store is reachable and fully migrated.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store unreachable: %w", err)
	}
	pending, err := migrations.Pending(ctx, s.db.DB, s.dialect)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("store has pending migrations")
	}
	return nil
}

// Tx is a store transaction. Methods on Tx compose: callers such as the
// reconcile engine do several writes in one Tx so they land together.
type Tx struct {
	*sqlx.Tx
	s    *Store
	conn *sqlx.Conn // the transaction's connection, for COPY on PostgreSQL
	now  time.Time
	cs   map[Meta]string // change sets opened in this transaction
	// progress reports the steps of a big Upsert; nil otherwise.
	progress *progress
	// bulk marks a big write, whose SQLite checkpoint runs after it, in
	// the background.
	bulk bool
	// renamed marks a transaction that renamed entries: it moves the name
	// epoch on as it commits (see nameCache).
	renamed bool
	queue   *execQueue   // bulk statements being written; see rowWriter
	writers []*rowWriter // closed at the end of the transaction
}

// Store returns the store the transaction belongs to.
func (tx *Tx) Store() *Store { return tx.s }

// Now returns the transaction's timestamp: every row it writes carries it.
func (tx *Tx) Now() time.Time { return tx.now }

// InTx runs fn in a transaction, committing if it returns nil. On SQLite
// the transaction waits for its turn among the writers (see WriteWait).
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	release, err := s.writers.wait(ctx)
	if err != nil {
		return err
	}
	defer release()
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", mapError(err))
	}
	defer s.logClose(ctx, "connection", conn)
	restore, err := s.boundBusyWait(ctx, conn)
	if err != nil {
		return err
	}
	defer restore()
	t, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapError(err))
	}
	defer s.rollback(ctx, t)
	tx := &Tx{Tx: t, s: s, conn: conn, now: s.Now(), cs: map[Meta]string{}}
	// Nothing may still run on the connection when it commits, rolls back
	// or goes back to the pool; after a panic in fn, this runs before the
	// rollback.
	defer tx.closeWriters(ctx)
	defer tx.abandon()
	if err = fn(tx); err != nil {
		return err
	}
	if err := tx.drain(); err != nil {
		return err
	}
	if err := tx.unsent(); err != nil {
		return err
	}
	// Last, so that the row lock on the epoch is held for the commit only.
	if tx.renamed {
		if _, err := t.ExecContext(ctx, "UPDATE name_epoch SET epoch = epoch + 1"); err != nil {
			return fmt.Errorf("move the name epoch on: %w", mapError(err))
		}
	}
	if tx.bulk && s.ckpt != nil {
		if _, err := t.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
			return fmt.Errorf("defer checkpoint: %w", mapError(err))
		}
		// The connection goes back to the pool checkpointing as usual.
		defer s.resetConn(ctx, conn, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walAutoCheckpoint))
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapError(err))
	}
	if tx.bulk && s.ckpt != nil {
		s.ckpt.request()
	}
	return nil
}

// rollback ends t unless it committed. After a commit (or after
// database/sql rolled back a transaction whose ctx ended) it says
// sql.ErrTxDone, which means there was nothing left to undo.
func (s *Store) rollback(ctx context.Context, t *sqlx.Tx) {
	if err := t.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		s.log.WarnContext(ctx, "roll back a transaction", "err", err)
	}
}

// resetConn runs stmt, which sets back what a transaction changed on its
// connection, before the connection returns to the pool. It runs deferred,
// with no caller left to return an error to, so a failure is logged: the
// connection's next user inherits the setting.
func (s *Store) resetConn(ctx context.Context, conn *sqlx.Conn, stmt string) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), stmt); err != nil {
		s.log.WarnContext(ctx, "reset a pooled connection", "statement", stmt, "err", err)
	}
}

// logClose closes c at the end of a deferred cleanup, logging a failure:
// there is no caller left to return it to.
func (s *Store) logClose(ctx context.Context, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		s.log.WarnContext(ctx, "close "+what, "err", err)
	}
}

// walAutoCheckpoint is SQLite's default: a commit that leaves the log
// longer than this many pages checkpoints it.
const walAutoCheckpoint = 1000

// q is what both *sqlx.DB and *Tx offer for reads.
type q interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
	Rebind(string) string
}

// reader returns a query handle for reads outside a transaction.
func (s *Store) reader() q { return s.db }

// mapError turns driver errors into coded schema errors where they have a
// meaning for users (unique violation → conflict, busy → locked).
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var se *schema.Error
	if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "SQLSTATE 23505"):
		return &schema.Error{Code: schema.ECONFLICT, Message: "duplicate value: " + msg}
	case strings.Contains(msg, "FOREIGN KEY constraint failed"), strings.Contains(msg, "SQLSTATE 23503"):
		return &schema.Error{Code: schema.EINVALID, Message: "reference to a missing entry: " + msg}
	case strings.Contains(msg, "database is locked"):
		return &schema.Error{Code: schema.EBUSY, Message: fmt.Sprintf("store busy: another process's write held the database longer than this write could wait (at most %v); try again: %s", WriteWait, msg)}
	case strings.Contains(msg, "SQLSTATE 40001"), strings.Contains(msg, "SQLSTATE 40P01"):
		return &lostRace{&schema.Error{Code: schema.EBUSY, Message: "store busy: a concurrent write deadlocked with this one; try again: " + msg}}
	case errors.Is(err, sql.ErrNoRows):
		return &schema.Error{Code: schema.ENOTFOUND, Message: "not found"}
	}
	return err
}
