// Package sqlite is the SQLite backend of the account store, the default
// one: a single file in WAL mode, written by any number of processes. A
// program links it by importing it; it then serves the "sqlite:PATH" data
// source names of accounts.Open:
//
//	import _ "github.com/opensspi/sspi/accounts/sqlite"
//
//	store, err := accounts.Open(ctx, "sqlite:/var/lib/opensspi/accounts.db", nil)
//
// It is pure Go (modernc.org/sqlite), without cgo.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
	"github.com/opensspi/sspi/accounts/internal/sqlstore"
)

// SQLite settings. Every connection runs with:
//
//   - journal_mode=WAL: readers never block the writer and vice versa.
//   - synchronous=FULL: every commit is fsynced to the WAL before it
//     returns, so a recorded failure survives a power loss, not only a
//     crash of the process (NORMAL would survive the latter only). It
//     costs about 3x per write: BenchmarkSQLiteSynchronous measured a
//     recorded failure at 0.32 ms with FULL, 0.10 ms with NORMAL (2 cores,
//     ext4 on a virtual disk); a logon that succeeds on a clear counter
//     writes nothing and is unaffected.
//   - busy_timeout: a writer waits this long for another process's write
//     transaction to end before giving up with "database is locked".
//   - foreign_keys=ON: deleting an account deletes its groups, verifiers
//     and lockout state.
//   - secure_delete=ON: the bytes of removed verifiers are overwritten in
//     the file rather than left in free pages.
//
// Write transactions start with BEGIN IMMEDIATE (_txlock=immediate): they
// take SQLite's write lock before reading, so a read-modify-write such as
// Logon is never interleaved with another process's, and never fails
// with SQLITE_BUSY halfway through as a deferred transaction upgrading its
// lock could. Within one process, writes queue on a pool of a single
// connection; reads use a separate pool.
const (
	sqliteBusyTimeoutMS = 10000
	sqliteReadConns     = 4
	sqliteAppID         = 0x53535049 // "SSPI" in PRAGMA application_id
)

func sqliteDialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       "sqlite",
		Migrations: "migrations/sqlite",
		GroupsJSON: func(id string) string {
			return `(SELECT json_group_array(g.name) FROM groups g WHERE g.account_id = ` + id + `)`
		},
		False:              "0",
		BlobType:           "BLOB",
		VersionTableExists: `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version')`,
		Rebind:             sqlstore.RebindNumbered,
		CheckDatabase:      sqliteCheckApp,
	}
}

// sqliteCheckApp refuses a SQLite database that belongs to another
// application, and marks a new one as an account store.
func sqliteCheckApp(ctx context.Context, tx *sql.Tx, version int) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return fmt.Errorf("accounts: reading application id: %w", err)
	}
	switch {
	case id == sqliteAppID:
		return nil
	case id != 0:
		return fmt.Errorf("accounts: the SQLite file is not an account store (application id %#x)", id)
	case version != 0:
		return fmt.Errorf("accounts: the SQLite file has a schema version but no account store mark")
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name <> 'schema_version'`).Scan(&n); err != nil {
		return fmt.Errorf("accounts: reading schema: %w", err)
	}
	if n != 0 {
		return fmt.Errorf("accounts: the SQLite file holds another application's tables")
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, sqliteAppID)); err != nil {
		return fmt.Errorf("accounts: marking the database: %w", err)
	}
	return nil
}

// sqliteURI makes a file: URI for path; only the characters that end or
// escape a URI path need escaping for SQLite.
func sqliteURI(path string, params url.Values) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?" + params.Encode()
}

func init() { accounts.Register("sqlite", driver{}) }

// driver opens sqlite:PATH data source names.
type driver struct{}

func (driver) Open(ctx context.Context, dsn string, opts *accounts.Options) (accounts.Store, error) {
	cfg, err := rules.NewConfig(opts)
	if err != nil {
		return nil, err
	}
	_, path, _ := strings.Cut(dsn, ":")
	if path == "" {
		return nil, fmt.Errorf("accounts: sqlite: data source name has no path")
	}
	return open(ctx, path, cfg)
}

// Test and benchmark knobs, set only by this package's tests before they
// open a store.
var (
	testSynchronous    string // PRAGMA synchronous; "" means FULL
	testAutoCheckpoint int    // PRAGMA wal_autocheckpoint; 0 means SQLite's default
	testBusyTimeoutMS  int    // PRAGMA busy_timeout; 0 means sqliteBusyTimeoutMS
)

func open(ctx context.Context, path string, cfg *rules.Config) (accounts.Store, error) {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("accounts: sqlite: wants a file path (use memory: for an in-process store)")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("accounts: sqlite: %w", err)
	}
	if err := prepareSQLiteFile(path, cfg); err != nil {
		return nil, err
	}

	sync := testSynchronous
	if sync == "" {
		sync = "FULL"
	}
	params := url.Values{}
	// SQLite must never create the file: prepareSQLiteFile decided.
	params.Set("mode", "rw")
	busy := sqliteBusyTimeoutMS
	if testBusyTimeoutMS != 0 {
		busy = testBusyTimeoutMS
	}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy))
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "secure_delete(1)")
	params.Add("_pragma", "synchronous("+sync+")")
	if n := testAutoCheckpoint; n != 0 {
		params.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", n))
	}
	// Reads with the same pragmas (foreign keys and secure_delete matter
	// only to writers, but a connection is cheap to configure alike).
	r, err := sql.Open("sqlite", sqliteURI(path, params))
	if err != nil {
		return nil, fmt.Errorf("accounts: sqlite: %w", err)
	}
	params.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", sqliteURI(path, params))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("accounts: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	r.SetMaxOpenConns(sqliteReadConns)
	r.SetMaxIdleConns(sqliteReadConns)
	s := sqlstore.New(cfg, sqliteDialect(), w, r)
	if err := initSQLite(ctx, s, path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func initSQLite(ctx context.Context, s *sqlstore.Store, path string) error {
	// Vet the file before changing anything in it: a file that is not a
	// database fails here ("file is not a database"), another
	// application's database is refused, and both are left as they are.
	// WAL is a property of the file: set once, it holds for every later
	// connection (setting it again is a no-op).
	//
	// While a new file is still in rollback mode, SQLite answers a reader
	// or the switch to WAL that meets another opener's lock with
	// SQLITE_BUSY at once, without its busy handler (the switch needs the
	// file alone); so the first steps are retried for as long as the busy
	// timeout would have waited.
	var mode string
	err := retryBusy(ctx, func() error {
		if err := sqliteVet(ctx, s.R, s.Cfg.Create); err != nil {
			return err
		}
		return s.W.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
	})
	if errors.Is(err, errEmpty) {
		return fmt.Errorf("%w at %s (the file is empty)", accounts.ErrNoStore, path)
	}
	if err != nil {
		return fmt.Errorf("accounts: sqlite: opening %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("accounts: sqlite: %s stays in journal mode %q, not WAL (a file system without shared memory?)", path, mode)
	}
	if err := sqlstore.Migrate(ctx, s.W, s.D, s.Cfg); err != nil {
		return err
	}
	if err := s.Prepare(ctx); err != nil {
		return err
	}
	// SQLite gives -wal and -shm the mode of the database file; make
	// sure, in case they predate it.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := tightenMode(path+suffix, s.Cfg); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// retryBusy runs f again while it fails with SQLITE_BUSY, for at most the
// busy timeout, backing off from 1 ms to 50 ms between tries.
func retryBusy(ctx context.Context, f func() error) error {
	busy := sqliteBusyTimeoutMS
	if testBusyTimeoutMS != 0 {
		busy = testBusyTimeoutMS
	}
	deadline := time.Now().Add(time.Duration(busy) * time.Millisecond)
	pause := time.Millisecond
	for {
		err := f()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// sqliteVet reads, without writing, whether the file can be an account
// store: a new (empty) database if create is set, or one marked with our
// application id.
func sqliteVet(ctx context.Context, db *sql.DB, create bool) error {
	// One read transaction: both reads see the same state, never an
	// unmarked file and the tables of another Open's migration.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return err
	}
	if id == sqliteAppID {
		return nil
	}
	if id != 0 {
		return fmt.Errorf("the file is not an account store (application id %#x)", id)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name <> 'schema_version'`).Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return errors.New("the file holds another application's tables")
	}
	if !create {
		return errEmpty
	}
	return nil
}

// errEmpty is sqliteVet's finding of an empty database, where Open may
// not create a store.
var errEmpty = errors.New("empty database")

// prepareSQLiteFile makes sure the database file exists before SQLite
// opens it (which it then does with mode=rw, never creating it): it
// creates it with mode 0600 when cfg allows (SQLite would create it with
// 0644 less the umask), in a directory that must exist, and narrows the
// mode of an existing one: verifiers are secrets.
func prepareSQLiteFile(path string, cfg *rules.Config) error {
	if !cfg.Create {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w at %s", accounts.ErrNoStore, path)
		}
		if err != nil {
			return fmt.Errorf("accounts: sqlite: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("accounts: sqlite: %s is not a regular file", path)
		}
	} else {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if err := f.Close(); err != nil {
				return fmt.Errorf("accounts: sqlite: %w", err)
			}
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("accounts: sqlite: cannot create %s: the directory %s does not exist", filepath.Base(path), filepath.Dir(path))
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("accounts: sqlite: %w", err)
		}
	}
	if err := tightenMode(path, cfg); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := tightenMode(path+suffix, cfg); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// tightenMode removes group and other permissions from a regular file.
func tightenMode(path string, cfg *rules.Config) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("accounts: sqlite: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("accounts: sqlite: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(path, perm&0o700); err != nil {
			return fmt.Errorf("accounts: sqlite: %w", err)
		}
		cfg.Log.Warn("accounts: removed group and other access to the account store", "file", path, "was", perm.String())
	}
	return nil
}
