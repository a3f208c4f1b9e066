package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
	// it for Created and Updated, and in RecordLogon when the caller
	// passes a zero time.
	Now func() time.Time

	// Logger receives the store's rare events (migrations applied,
	// an account locked, file permissions tightened). Nil means
	// silent. Verifiers and connection strings are never logged.
	Logger *slog.Logger

	// Test and benchmark knobs, set only from this package's tests.
	sqliteSynchronous string // PRAGMA synchronous; "" means FULL
	sqliteAutoCkpt    int    // PRAGMA wal_autocheckpoint; 0 means SQLite's default
}

// config is Options resolved at Open.
type config struct {
	policy LockoutPolicy
	now    func() time.Time
	log    *slog.Logger
	opts   Options
}

func newConfig(opts *Options) (*config, error) {
	c := &config{policy: DefaultLockoutPolicy, now: time.Now}
	if opts != nil {
		c.opts = *opts
		if opts.Lockout != nil {
			c.policy = *opts.Lockout
		}
		if opts.Now != nil {
			c.now = opts.Now
		}
		c.log = opts.Logger
	}
	if err := c.policy.validate(); err != nil {
		return nil, err
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// stamp is the store's current time as stored.
func (c *config) stamp() time.Time { return normTime(c.now()) }

// logonTime is the time RecordLogon uses.
func (c *config) logonTime(now time.Time) time.Time {
	if now.IsZero() {
		return c.stamp()
	}
	return normTime(now)
}

// Open opens (creating and migrating if needed) the account store named
// by dsn:
//
//	sqlite:PATH                   a SQLite file (created with mode 0600), the default backend
//	postgres://… or postgresql://…  a PostgreSQL database (pgx connection string)
//	memory:                       a new, empty in-process store, for tests and demos
//
// A database whose schema is newer than this program is refused, as is a
// file that is not a SQLite database: a store never starts empty in place
// of one it cannot read, since that would reset every lockout counter.
func Open(ctx context.Context, dsn string, opts *Options) (Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok {
		return nil, fmt.Errorf("accounts: data source name has no scheme (want sqlite:, postgres:// or memory:)")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if rest == "" {
			return nil, fmt.Errorf("accounts: sqlite: data source name has no path")
		}
		return openSQLite(ctx, rest, cfg)
	case "postgres", "postgresql":
		return openPostgres(ctx, dsn, cfg)
	case "memory":
		if rest != "" {
			return nil, fmt.Errorf("accounts: memory: data source name takes no argument")
		}
		return newMemory(cfg), nil
	default:
		// The scheme is not echoed: a mistyped DSN may carry a password.
		return nil, fmt.Errorf("accounts: unknown data source scheme (want sqlite:, postgres:// or memory:)")
	}
}
