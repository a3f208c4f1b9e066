package postgres_test

import (
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/postgres"
	"github.com/opensspi/sspi/accounts/storetest"
	"github.com/opensspi/sspi/internal/pgtest"
)

// create is the options that let Open make a new store.
var create = &accounts.Options{Create: true}

func openOrFatal(t *testing.T, dsn string, opts *accounts.Options) accounts.Store {
	t.Helper()
	s, err := accounts.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestPostgresConformance(t *testing.T) {
	pgtest.DSN(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		return openOrFatal(t, pgtest.Schema(t), opts)
	})
}

// TestPostgresShared opens two stores on one database, as two hosts' LSAs
// would: each sees what the other writes, and failures recorded through
// both count exactly.
func TestPostgresShared(t *testing.T) {
	pgtest.DSN(t)
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T, opts *accounts.Options) (a, b accounts.Store) {
		dsn := pgtest.Schema(t)
		return openOrFatal(t, dsn, opts), openOrFatal(t, dsn, opts)
	})
}

// TestPostgresConcurrentMigration starts several stores on an empty
// database at once: the advisory lock lets exactly one migrate.
func TestPostgresConcurrentMigration(t *testing.T) {
	dsn := pgtest.Schema(t)
	const n = 6
	stores := make([]accounts.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = accounts.Open(t.Context(), dsn, create) })
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
	// Each migration applied once: as many rows as the newest version.
	var newest int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&versions, &newest); err != nil {
		t.Fatal(err)
	}
	if versions != newest {
		t.Errorf("schema_version has %d rows for version %d after concurrent opens, want one per version", versions, newest)
	}
}

func TestPostgresRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.Schema(t)
	s := openOrFatal(t, dsn, create)
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
	dsn := pgtest.Schema(t)
	s := openOrFatal(t, dsn, create) // the administrator creates the store
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
		if _, err := pgtest.Admin(t).Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		pgtest.Admin(t).Exec(`DROP OWNED BY ` + role)
		pgtest.Admin(t).Exec(`DROP ROLE ` + role)
	})
	u.User = url.User(role)
	s = openOrFatal(t, u.String(), nil)
	defer s.Close()
	if err := s.Create(t.Context(), &accounts.Account{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Logon(t.Context(), accounts.LogonAttempt{Name: "alice", Package: "NTLM", Check: func([]byte) bool { return false }}); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresNoCreate: a database without the store's tables is no store
// unless Options.Create says to make one; Open then creates nothing.
func TestPostgresNoCreate(t *testing.T) {
	dsn := pgtest.Schema(t)
	_, err := accounts.Open(t.Context(), dsn, nil)
	if !errors.Is(err, accounts.ErrNoStore) {
		t.Fatalf("Open of an empty database = %v, want ErrNoStore", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("Open without Create made %d tables", tables)
	}
	s := openOrFatal(t, dsn, create)
	s.Close()
	s = openOrFatal(t, dsn, nil)
	s.Close()
}

func guess(name, password string, checked *bool) accounts.LogonAttempt {
	return accounts.LogonAttempt{Domain: "D", Name: name, Package: "NTLM", Check: func(v []byte) bool {
		if checked != nil {
			*checked = v != nil
		}
		return v != nil && string(v) == password
	}}
}

// TestPostgresWritesFail: with every write of a logon attempt failing
// (a trigger), wrong passwords are errors, checked but not lost: they
// count in memory, lock the account, and are written with the first
// attempt that can write.
func TestPostgresWritesFail(t *testing.T) {
	dsn := pgtest.Schema(t)
	policy := accounts.LockoutPolicy{Threshold: 10, Window: time.Hour, Duration: time.Hour}
	s := openOrFatal(t, dsn, &accounts.Options{Create: true, Lockout: &policy})
	defer s.Close()
	ctx := t.Context()
	if err := s.Create(ctx, &accounts.Account{Domain: "D", Name: "victim", Verifiers: map[string][]byte{"NTLM": []byte("right")}}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE FUNCTION fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'read-only'; END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER fail_lockout BEFORE UPDATE ON lockout FOR EACH ROW EXECUTE FUNCTION fail()`,
		`CREATE TRIGGER fail_decoys BEFORE UPDATE ON logon_decoys FOR EACH ROW EXECUTE FUNCTION fail()`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	for i := range 15 {
		if out, err := s.Logon(ctx, guess("victim", "wrong", nil)); err == nil {
			t.Fatalf("wrong password %d: %v with the writes failing, want an error", i+1, out.Result)
		}
	}
	if out, err := s.Logon(ctx, guess("victim", "right", nil)); err == nil {
		t.Fatalf("right password after 15 unrecorded failures: %v, want an error", out.Result)
	}
	if _, err := s.Logon(ctx, guess("nobody", "right", nil)); err == nil {
		t.Fatalf("an unknown account's attempt succeeded without its write")
	}
	if _, err := db.Exec(`DROP FUNCTION fail() CASCADE`); err != nil {
		t.Fatal(err)
	}
	out, err := s.Logon(ctx, guess("victim", "right", nil))
	if err != nil || out.Result != accounts.LogonLockedOut || out.Account.Lockout.Failures != 17 {
		t.Fatalf("right password once writable: %v, %v, %v; want refused with 17 failures", out.Result, out.Account, err)
	}
}

// TestPostgresReadOnly opens a second store on the database with every
// transaction read-only (as a standby, or a database set
// default_transaction_read_only, gives): no attempt can take the
// account's lock, so none is checked, and even the right password is
// refused.
func TestPostgresReadOnly(t *testing.T) {
	dsn := pgtest.Schema(t)
	s := openOrFatal(t, dsn, create)
	defer s.Close()
	if err := s.Create(t.Context(), &accounts.Account{Domain: "D", Name: "victim", Verifiers: map[string][]byte{"NTLM": []byte("right")}}); err != nil {
		t.Fatal(err)
	}
	ro := openOrFatal(t, dsn+"&default_transaction_read_only=on", nil)
	defer ro.Close()
	for _, password := range []string{"wrong", "right"} {
		var checked bool
		out, err := ro.Logon(t.Context(), guess("victim", password, &checked))
		if err == nil || checked {
			t.Fatalf("%s password on a read-only database: %v, %v (checked %t); want an error, unchecked", password, out.Result, err, checked)
		}
	}
	if out, err := s.Logon(t.Context(), guess("victim", "right", nil)); err != nil || out.Result != accounts.LogonGranted {
		t.Fatalf("through the writable store: %v, %v", out.Result, err)
	}
}
