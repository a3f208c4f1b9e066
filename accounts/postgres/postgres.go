// Package postgres is the PostgreSQL backend of the account store: one
// database shared by several hosts' LSAs, lockout counters updated in
// transactions. A program links it (and pgx) by importing it; it then
// serves the "postgres://…" and "postgresql://…" data source names of
// accounts.Open (pgx connection strings):
//
//	import _ "github.com/opensspi/sspi/accounts/postgres"
//
//	store, err := accounts.Open(ctx, "postgres://lsad@db.example.com/opensspi", nil)
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
	"github.com/opensspi/sspi/accounts/internal/sqlstore"
)

func init() {
	accounts.Register("postgres", driver{})
	accounts.Register("postgresql", driver{})
}

// driver opens postgres:// and postgresql:// data source names.
type driver struct{}

func (driver) Open(ctx context.Context, dsn string, opts *accounts.Options) (accounts.Store, error) {
	cfg, err := rules.NewConfig(opts)
	if err != nil {
		return nil, err
	}
	return open(ctx, dsn, cfg)
}

// PostgreSQL is reached through pgx's database/sql adapter rather than
// pgxpool: the SQL store is then one implementation for both backends,
// the same queries in the same transactions, and the conformance suite
// proves the semantics once. pgx still speaks the protocol (extended
// protocol, statement cache per connection); what the adapter costs is
// measured by BenchmarkStore.
//
// Logon reads the account with its lockout row locked (SELECT … FOR
// UPDATE) in a READ COMMITTED transaction, runs the package's check and
// writes the outcome before it commits: concurrent attempts from any
// number of hosts queue on that row lock, and each is decided on the count
// its predecessor committed. Writers lock the account row before its
// children, so they do not deadlock one another; should PostgreSQL still
// report a deadlock or a serialization failure, an administrative
// transaction is run again, and a logon is refused (its check ran once).
const (
	pgMaxConns = 16
	// pgMigrationLock is the advisory lock key held while migrating
	// ("opensspi" in ASCII), so that hosts starting together migrate
	// one after another.
	pgMigrationLock int64 = 0x6f70656e73737069
)

func postgresDialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       "postgres",
		Migrations: "migrations/postgres",
		GroupsJSON: func(id string) string {
			return `(SELECT COALESCE(json_agg(g.name)::text, '[]') FROM groups g WHERE g.account_id = ` + id + `)`
		},
		False:              "FALSE",
		LockDecoy:          " FOR UPDATE OF d",
		LightCommit:        "SET LOCAL synchronous_commit = off",
		BlobType:           "BYTEA",
		VersionTableExists: `SELECT to_regclass('schema_version') IS NOT NULL`,
		LockAccount:        " FOR UPDATE OF l",
		Rebind:             func(q string) string { return q },
		LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
			// Released at the end of the transaction.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrationLock); err != nil {
				return fmt.Errorf("accounts: postgres: taking the migration lock: %w", err)
			}
			return nil
		},
		Retryable: func(err error) bool {
			var pgErr *pgconn.PgError
			return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
		},
	}
}

func open(ctx context.Context, dsn string, cfg *rules.Config) (accounts.Store, error) {
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors show the connection string with the
		// password redacted.
		return nil, fmt.Errorf("accounts: postgres: %w", err)
	}
	db := stdlib.OpenDB(*pcfg)
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(pgMaxConns / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := sqlstore.New(cfg, postgresDialect(), db, db)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("accounts: postgres: connecting: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, s.D, cfg); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.Prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
