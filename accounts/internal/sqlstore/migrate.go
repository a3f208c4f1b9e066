package sqlstore

import (
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"

	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// The schema of both SQL backends, one directory per Dialect with the same
// file names: NNNN_what.sql, applied in order, each in the transaction that
// also records it in schema_version.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	stmts   []string
}

// loadMigrations reads a Dialect's migrations. Versions must run 1, 2, 3…
// without gaps.
func loadMigrations(dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("accounts: reading migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("accounts: migration file %q is not named NNNN_what.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("accounts: migration %q out of sequence (want version %d)", name, len(ms)+1)
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("accounts: reading migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, stmts: splitStatements(string(text))})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("accounts: no migrations in %s", dir)
	}
	return ms, nil
}

// splitStatements splits a migration into statements at semicolons that
// end a line. Migrations are our own files: they keep no semicolon at the
// end of a line inside a statement. Comment-only pieces are dropped.
func splitStatements(text string) []string {
	var stmts []string
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		for _, line := range strings.Split(s, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				stmts = append(stmts, s)
				return
			}
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasSuffix(trimmed, ";") {
			cur.WriteString(strings.TrimSuffix(trimmed, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return stmts
}

// migrate brings the database to the newest schema this program knows, in
// one transaction: either every pending migration is applied and recorded,
// or none is. A database whose schema is newer than the program is
// refused. The Dialect serializes concurrent migrators: SQLite's write
// transaction is BEGIN IMMEDIATE; PostgreSQL takes an advisory lock.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, cfg *rules.Config) (err error) {
	ms, err := loadMigrations(d.Migrations)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounts: starting migration: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if d.LockMigrations != nil {
		if err := d.LockMigrations(ctx, tx); err != nil {
			return err
		}
	}
	// An up-to-date database needs no DDL, so a role without the right
	// to create tables can open it once an administrator has migrated.
	var exists bool
	if err := tx.QueryRowContext(ctx, d.VersionTableExists).Scan(&exists); err != nil {
		return fmt.Errorf("accounts: looking for schema_version: %w", err)
	}
	var cur sql.NullInt64
	if exists {
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&cur); err != nil {
			return fmt.Errorf("accounts: reading schema version: %w", err)
		}
	}
	if d.CheckDatabase != nil {
		if err := d.CheckDatabase(ctx, tx, int(cur.Int64)); err != nil {
			return err
		}
	}
	if cur.Int64 == 0 && !cfg.Create {
		// A database without our tables is not a store: creating one
		// is the caller's explicit choice (Options.Create).
		return fmt.Errorf("%w in this %s database (it has no schema; Options.Create makes one)", accounts.ErrNoStore, d.Name)
	}
	if int(cur.Int64) > latest {
		return fmt.Errorf("accounts: database schema version %d is newer than this program's %d; upgrade the program", cur.Int64, latest)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied BIGINT  NOT NULL
)`); err != nil {
			return fmt.Errorf("accounts: creating schema_version: %w", err)
		}
	}
	now := cfg.Stamp()
	for _, m := range ms[cur.Int64:] {
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("accounts: migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO schema_version (version, applied) VALUES ($1, $2)`), m.version, now.UnixMicro()); err != nil {
			return fmt.Errorf("accounts: recording migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounts: committing migrations: %w", err)
	}
	switch {
	case cur.Int64 == 0:
		cfg.Log.Info(accounts.LogStoreCreated, "backend", d.Name, "schema", latest)
	case int(cur.Int64) < latest:
		cfg.Log.Info("accounts: schema migrated", "backend", d.Name, "from", cur.Int64, "to", latest)
	}
	return nil
}
