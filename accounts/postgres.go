package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL is reached through pgx's database/sql adapter rather than
// pgxpool: the SQL store is then one implementation for both backends,
// the same queries in the same transactions, and the conformance suite
// proves the semantics once. pgx still speaks the protocol (extended
// protocol, statement cache per connection); what the adapter costs is
// measured by BenchmarkStore.
//
// RecordLogon reads the lockout row with SELECT … FOR UPDATE in a READ
// COMMITTED transaction: concurrent failures from any number of hosts
// queue on that row lock and each sees the count its predecessor
// committed. Writers lock the account row before its children, so they
// do not deadlock one another; should PostgreSQL still report a deadlock
// or a serialization failure, the transaction is run again.
const (
	pgMaxConns = 16
	// pgMigrationLock is the advisory lock key held while migrating
	// ("opensspi" in ASCII), so that hosts starting together migrate
	// one after another.
	pgMigrationLock int64 = 0x6f70656e73737069
)

func postgresDialect() *dialect {
	return &dialect{
		name:               "postgres",
		migrations:         "migrations/postgres",
		blobType:           "BYTEA",
		versionTableExists: `SELECT to_regclass('schema_version') IS NOT NULL`,
		forUpdateLockout:   " FOR UPDATE OF l",
		rebind:             func(q string) string { return q },
		lockMigrations: func(ctx context.Context, tx *sql.Tx) error {
			// Released at the end of the transaction.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrationLock); err != nil {
				return fmt.Errorf("accounts: postgres: taking the migration lock: %w", err)
			}
			return nil
		},
		retryable: func(err error) bool {
			var pgErr *pgconn.PgError
			return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
		},
	}
}

func openPostgres(ctx context.Context, dsn string, cfg *config) (Store, error) {
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
	s := newSQLStore(cfg, postgresDialect(), db, db)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("accounts: postgres: connecting: %w", err)
	}
	if err := migrate(ctx, db, s.d, cfg); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
