package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a store. The zero value (and a nil *Options) is a
// store with DefaultLockoutPolicy, the system clock and no logging.
// Options are read once by Open; changing them afterwards has no effect.
type Options struct {
	// Lockout is the lockout policy. Nil means DefaultLockoutPolicy.
	// A policy with a zero Threshold disables lockout: failures are
	// still counted (and cleared by a success), but never lock.
	// Several hosts sharing one PostgreSQL database should use the
	// same policy; each applies its own to the failures it records.
	Lockout *LockoutPolicy

	// Now returns the current time. Nil means time.Now. The store uses
	// it for Created and Updated, and in Logon when the attempt has no
	// time.
	Now func() time.Time

	// Logger receives the store's rare events at level Info or Warn
	// (the store created, with the message [LogStoreCreated]; its
	// schema migrated; file permissions tightened). Nil means silent.
	// Verifiers and connection strings are never logged.
	Logger *slog.Logger

	// Create lets Open make a new store where there is none: the
	// SQLite file (mode 0600, in a directory that must exist; no
	// directory is ever created), or the tables in a PostgreSQL
	// database that has none. Without it, Open of a missing store
	// fails with an error that wraps [ErrNoStore] and changes nothing,
	// so that a mistyped name never becomes a new, empty store (whose
	// empty account list would look like an answer). memory: is always
	// a new store.
	Create bool
}

// LogStoreCreated is the message of the Info record with which Open
// reports to Options.Logger that it created a new store, so that a
// program can tell its user where.
const LogStoreCreated = "accounts: created the account store"

// Driver opens the stores of one data source scheme: a backend, in the
// role of database/sql/driver.Driver. The backends register themselves
// when a program imports them; see [Register].
type Driver interface {
	// Open opens the store named by dsn, which starts with the scheme
	// the driver was registered under.
	Open(ctx context.Context, dsn string, opts *Options) (Store, error)
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// knownDrivers are the backends of this module, by scheme: Open names the
// package to import when a program uses a scheme it did not link.
var knownDrivers = map[string]string{
	"sqlite":     "github.com/opensspi/sspi/accounts/sqlite",
	"postgres":   "github.com/opensspi/sspi/accounts/postgres",
	"postgresql": "github.com/opensspi/sspi/accounts/postgres",
	"memory":     "github.com/opensspi/sspi/accounts/memory",
}

// Register makes a backend available to [Open] under a data source scheme
// (compared without regard to case), the way database/sql.Register makes
// a driver available: a program links the backends it imports, and no
// other. The backends of this module register from their init functions:
//
//	import _ "github.com/opensspi/sspi/accounts/sqlite"   // sqlite:PATH
//	import _ "github.com/opensspi/sspi/accounts/postgres" // postgres://…
//	import _ "github.com/opensspi/sspi/accounts/memory"   // memory:
//
// Register panics if d is nil or the scheme is taken.
func Register(scheme string, d Driver) {
	if d == nil {
		panic("accounts: Register driver is nil")
	}
	if scheme == "" || strings.ContainsAny(scheme, ":/") {
		panic("accounts: Register with a bad scheme " + fmt.Sprintf("%q", scheme))
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	key := strings.ToLower(scheme)
	if _, dup := drivers[key]; dup {
		panic("accounts: Register called twice for scheme " + scheme)
	}
	drivers[key] = d
}

// Drivers returns the registered data source schemes, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	out := make([]string, 0, len(drivers))
	for s := range drivers {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open opens the account store named by dsn, with the backend registered
// for its scheme, migrating its schema if it is older than this program;
// it creates the store only if opts.Create is set:
//
//	sqlite:PATH                   a SQLite file (created with mode 0600), the default backend
//	postgres://… or postgresql://…  a PostgreSQL database (pgx connection string)
//	memory:                       a new, empty in-process store, for tests and demos
//
// A missing store is an error wrapping [ErrNoStore] unless opts.Create is
// set. A database whose schema is newer than this program is refused, as
// is a file that is not a SQLite database: a store never starts empty in
// place of one it cannot read, since that would reset every lockout
// counter.
func Open(ctx context.Context, dsn string, opts *Options) (Store, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("accounts: data source name has no scheme (want sqlite:, postgres:// or memory:)")
	}
	key := strings.ToLower(scheme)
	driversMu.RLock()
	d := drivers[key]
	driversMu.RUnlock()
	if d != nil {
		return d.Open(ctx, dsn, opts)
	}
	if pkg, known := knownDrivers[key]; known {
		return nil, fmt.Errorf("accounts: no driver for data source scheme %q in this program (it must import %s)", key, pkg)
	}
	// The scheme is not echoed: a mistyped DSN may carry a password.
	return nil, fmt.Errorf("accounts: unknown data source scheme (this program knows %s)", strings.Join(Drivers(), ", "))
}
