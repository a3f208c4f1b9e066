// Package pgtest gives tests a PostgreSQL database of their own on the
// test server named by SSPI_TEST_POSTGRES (scripts/pg-test-server.sh
// starts one and prints the variable): a new schema per test, dropped when
// the test ends. Only tests import it.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env is the variable that names the test server.
const Env = "SSPI_TEST_POSTGRES"

// DSN returns the test server's connection string. Without one the test
// skips, or fails when SSPI_INTEROP_REQUIRED=1 (scripts/test.sh sets it and
// starts the server): CI cannot pass without PostgreSQL.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		msg := Env + ` is not set (scripts/test.sh sets it; or run: eval "$(scripts/pg-test-server.sh start)")`
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal(msg + "; SSPI_INTEROP_REQUIRED=1: PostgreSQL is required")
		}
		t.Skip(msg)
	}
	return dsn
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// Admin returns a connection pool to the test server as its administrator,
// for statements a test makes around the store (roles, triggers). Without
// the server it skips or fails as DSN does.
func Admin(t testing.TB) *sql.DB {
	t.Helper()
	dsn := DSN(t)
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", dsn)
		if admin.err == nil {
			admin.err = admin.db.Ping()
		}
	})
	if admin.err != nil {
		t.Fatalf("connecting to %s: %v", Env, admin.err)
	}
	return admin.db
}

// Schema makes a new, empty schema for one test, dropped when it ends, and
// returns a connection string whose search_path is that schema: every test
// gets a database of its own on one server. It skips the test when Env is
// not set.
func Schema(t testing.TB) string {
	t.Helper()
	db := Admin(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "sspi_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("DROP SCHEMA: %v", err)
		}
	})
	u, err := url.Parse(DSN(t))
	if err != nil {
		t.Fatalf("%s is not a URL: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
