//go:build linux

package lsad_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make the test's schema

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// pgSchema makes a new schema on the test server for one test, dropped
// when it ends, and returns a connection string whose search_path is that
// schema: a database of its own, shared by the daemons of the test.
// Without SSPI_TEST_POSTGRES it skips the test, or fails it when
// SSPI_INTEROP_REQUIRED=1 (scripts/test.sh sets both).
func pgSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SSPI_TEST_POSTGRES")
	if dsn == "" {
		msg := `SSPI_TEST_POSTGRES is not set (scripts/test.sh sets it; or run: eval "$(scripts/pg-test-server.sh start)")`
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal(msg + "; SSPI_INTEROP_REQUIRED=1: PostgreSQL is required")
		}
		t.Skip(msg)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "sspi_e2e_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("CREATE SCHEMA on SSPI_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
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

// TestE2EPostgresTwoHosts runs two lsad instances on one PostgreSQL
// database, as two hosts would. An account added through one
// authenticates through the other. With a lockout threshold of N, N
// concurrent wrong-password handshakes split across both daemons lock the
// account exactly once, with exactly N failures counted; then even the
// right password is refused through either daemon until an administrator
// of either unlocks it.
func TestE2EPostgresTwoHosts(t *testing.T) {
	dsn := pgSchema(t)
	const threshold = 8
	lockout := fmt.Sprintf("threshold = %d\nwindow = \"15m\"\nduration = \"15m\"", threshold)
	hosts := []*daemon{
		startDaemon(t, "pg-a", daemonOpts{store: dsn, lockout: lockout}),
		startDaemon(t, "pg-b", daemonOpts{store: dsn, lockout: lockout, format: "text"}),
	}
	a, b := hosts[0], hosts[1]
	ctx := context.Background()

	a.addUser(t, "alice", alicePassword)
	app := b.provider(t)
	cc, sc := credentials(t, app, "alice", alicePassword)
	pr := established(t, cc, sc, "alice")
	exchange(t, pr, "through the other host")
	pr.delete()

	// N wrong passwords at once, alternately through each host.
	noteSecret("password (wrong)", []byte("wrong-"+alicePassword))
	start := make(chan struct{})
	errs := make(chan error, threshold)
	var wg sync.WaitGroup
	for k := range threshold {
		wg.Go(func() {
			p := hosts[k%2].provider(t)
			bad, bsc := credentials(t, p, "alice", "wrong-"+alicePassword)
			<-start
			pr, err := handshake(ctx, bad, bsc)
			pr.delete()
			if !errors.Is(err, sspi.StatusLogonDenied) {
				errs <- fmt.Errorf("wrong password #%d through %s: %v, want SEC_E_LOGON_DENIED", k, hosts[k%2].name, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, h := range hosts {
		acct := account(t, h, "alice")
		if acct.Failures != threshold || acct.LockedUntil.IsZero() {
			t.Fatalf("alice as %s sees her: %d failures, locked until %v; want %d and locked", h.name, acct.Failures, acct.LockedUntil, threshold)
		}
	}
	locks := 0
	for _, h := range hosts {
		locks += auditEvents(t, h.logPath, "lockout")
	}
	if locks != 1 {
		t.Fatalf("%d lockout audit events across both hosts, want exactly 1", locks)
	}

	// Locked: the right password is refused through either host.
	for _, h := range hosts {
		cc, sc := credentials(t, h.provider(t), "alice", alicePassword)
		pr, err := handshake(ctx, cc, sc)
		pr.delete()
		if !errors.Is(err, sspi.StatusLogonDenied) {
			t.Fatalf("right password of a locked account through %s: %v, want SEC_E_LOGON_DENIED", h.name, err)
		}
	}
	// Unlocked by the other host's administrator: both let alice in.
	if err := b.adminConn(t).UnlockAccount(ctx, domain, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		cc, sc := credentials(t, h.provider(t), "alice", alicePassword)
		pr := established(t, cc, sc, "alice")
		pr.delete()
		if acct := account(t, h, "alice"); acct.Failures != 0 || !acct.LockedUntil.IsZero() {
			t.Fatalf("alice after unlock, as %s sees her: %+v", h.name, acct)
		}
	}
}

// account is one account as a daemon lists it.
func account(t *testing.T, d *daemon, user string) lsa.AccountInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := d.adminConn(t).ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.User == user {
			return a
		}
	}
	t.Fatalf("%s does not list %s", d.name, user)
	return lsa.AccountInfo{}
}

// TestE2EPostgresOPAQUE: two lsad instances on one PostgreSQL database
// share the OPAQUE server setup, which lives in the store: an account
// registered through one (sspi account add --package OPAQUE) logs in
// through the other, whose acceptor must answer with the setup the
// record was made under.
func TestE2EPostgresOPAQUE(t *testing.T) {
	dsn := pgSchema(t)
	a := startDaemon(t, "pg-opaque-a", daemonOpts{store: dsn, sections: opaqueSection})
	b := startDaemon(t, "pg-opaque-b", daemonOpts{store: dsn, sections: opaqueSection})
	const pw = "carol-OPAQUE-Passw0rd"
	noteSecret("password of carol", []byte(pw))
	if out, errOut, code := a.sspiCmd(t, os.Getuid(), pw+"\n", "account", "add", "carol", "--domain", domain, "--package", "OPAQUE", "--password-stdin"); code != 0 {
		t.Fatalf("account add through host a: exit %d\n%s%s", code, out, errOut)
	}
	ctx := context.Background()
	p := b.provider(t)
	login := func(password string) error {
		cc, err := p.AcquireCredentials(ctx, "OPAQUE", sspi.CredentialOutbound, &sspi.CredentialsOptions{
			Identity: &sspi.AuthIdentity{User: "carol", Domain: domain, Password: []byte(password)}})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Free()
		sc, err := p.AcquireCredentials(ctx, "OPAQUE", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Free()
		c, s := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: e2eFlags}), sspi.NewServerContext(sc, nil)
		defer c.Delete()
		defer s.Delete()
		return secpkgtest.Handshake(ctx, c, s)
	}
	if err := login(pw); err != nil {
		t.Fatalf("carol, registered through host a, through host b: %v", err)
	}
	if err := login("not " + pw); !errors.Is(err, sspi.StatusLogonDenied) {
		t.Fatalf("a wrong password through host b: %v", err)
	}
}
