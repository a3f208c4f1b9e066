package accounts_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make test schemas

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/storetest"
)

// pgDSN returns the test server's connection string. Without one the test
// skips, or fails when SSPI_INTEROP_REQUIRED=1 (scripts/test.sh sets it and
// starts the server): CI cannot pass without PostgreSQL.
// scripts/pg-test-server.sh starts a server and prints the variable.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SSPI_TEST_POSTGRES")
	if dsn == "" {
		msg := "SSPI_TEST_POSTGRES is not set; run: eval \"$(scripts/pg-test-server.sh start)\""
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal(msg + " (SSPI_INTEROP_REQUIRED=1: PostgreSQL is required)")
		}
		t.Skip(msg)
	}
	return dsn
}

var pgAdmin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// pgSchema makes a new, empty schema for one test, dropped when it ends,
// and returns a connection string whose search_path is that schema: every
// test gets a database of its own on one server.
func pgSchema(t testing.TB) string {
	dsn := pgDSN(t)
	pgAdmin.once.Do(func() {
		pgAdmin.db, pgAdmin.err = sql.Open("pgx", dsn)
		if pgAdmin.err == nil {
			pgAdmin.err = pgAdmin.db.Ping()
		}
	})
	if pgAdmin.err != nil {
		t.Fatalf("connecting to SSPI_TEST_POSTGRES: %v", pgAdmin.err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "sspi_test_" + hex.EncodeToString(b[:])
	if _, err := pgAdmin.db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("DROP SCHEMA: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("SSPI_TEST_POSTGRES is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPostgresConformance(t *testing.T) {
	pgDSN(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		return openOrFatal(t, pgSchema(t), opts)
	})
}

// TestPostgresShared opens two stores on one database, as two hosts' LSAs
// would: each sees what the other writes, and failures recorded through
// both count exactly.
func TestPostgresShared(t *testing.T) {
	pgDSN(t)
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T, opts *accounts.Options) (a, b accounts.Store) {
		dsn := pgSchema(t)
		return openOrFatal(t, dsn, opts), openOrFatal(t, dsn, opts)
	})
}

// TestPostgresConcurrentMigration starts several stores on an empty
// database at once: the advisory lock lets exactly one migrate.
func TestPostgresConcurrentMigration(t *testing.T) {
	dsn := pgSchema(t)
	const n = 6
	stores := make([]accounts.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = accounts.Open(t.Context(), dsn, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	var versions int
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 1 {
		t.Errorf("schema_version has %d rows after concurrent opens, want 1", versions)
	}
}

func TestPostgresRefusesNewerSchema(t *testing.T) {
	dsn := pgSchema(t)
	s := openOrFatal(t, dsn, nil)
	s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_version (version, applied) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	_, err = accounts.Open(t.Context(), dsn, nil)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema = %v, want a refusal", err)
	}
}

func TestPostgresBadDSN(t *testing.T) {
	// A connection string that does not parse must not come back in
	// the error with its password.
	_, err := accounts.Open(t.Context(), "postgres://u:hunter2@127.0.0.1:notaport/db", nil)
	if err == nil {
		t.Fatal("Open of a bad connection string succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	_, err = accounts.Open(t.Context(), "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open of an unreachable server = %v (want an error without the password)", err)
	}
	if errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("unreachable server reported as ErrNotFound")
	}
}

// TestPostgresLeastPrivilege opens, as a role that may read and write the
// tables but not create any, a database an administrator has migrated.
func TestPostgresLeastPrivilege(t *testing.T) {
	dsn := pgSchema(t)
	s := openOrFatal(t, dsn, nil) // the administrator migrates
	s.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	role := schema + "_lsa"
	for _, stmt := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + role,
	} {
		if _, err := pgAdmin.db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		pgAdmin.db.Exec(`DROP OWNED BY ` + role)
		pgAdmin.db.Exec(`DROP ROLE ` + role)
	})
	u.User = url.User(role)
	s = openOrFatal(t, u.String(), nil)
	defer s.Close()
	if err := s.Create(t.Context(), &accounts.Account{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordLogon(t.Context(), "", "alice", false, time.Now()); err != nil {
		t.Fatal(err)
	}
}
