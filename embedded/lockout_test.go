package embedded_test

// Lockout through the whole LSA (provider, engine, NTLM, account store)
// under a flood of concurrent wrong passwords, on SQLite, on PostgreSQL
// and with two engines sharing one PostgreSQL database (two hosts' lsad).

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/postgres" // the postgres:// store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/internal/pgtest"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

const (
	raceDomain   = "EXAMPLE"
	racePassword = "right-Passw0rd"
	wrongPasswd  = "wrong-Passw0rd"
)

// testLSA is an embedded LSA with NTLM and an account store.
type testLSA struct {
	p     *sspi.Provider
	e     *engine.Engine
	store accounts.Store
}

// openStore opens (creating) the store dsn names with policy.
func openStore(t testing.TB, dsn string, policy accounts.LockoutPolicy) accounts.Store {
	t.Helper()
	s, err := accounts.Open(context.Background(), dsn, &accounts.Options{Lockout: &policy, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestLSA starts an embedded engine on store; closing the provider at
// the end of the test closes the store.
func newTestLSA(t testing.TB, store accounts.Store) *testLSA {
	t.Helper()
	p, e, err := embedded.NewProvider(&engine.Config{
		Packages:   []string{"NTLM"},
		Accounts:   store,
		Parameters: secpkg.Parameters{MachineName: "HOST", DomainName: raceDomain},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &testLSA{p: p, e: e, store: store}
}

func logon(ctx context.Context, p *sspi.Provider, user, password string) (*sspi.LogonSession, error) {
	return p.LogonUser(ctx, "NTLM", &sspi.AuthIdentity{User: user, Domain: raceDomain, Password: []byte(password)})
}

var racePolicy = accounts.LockoutPolicy{Threshold: 10, Window: time.Hour, Duration: time.Hour}

// lockoutRace floods user with wrong passwords from n goroutines spread
// over lsas, and once the first of them has been answered (so at least
// one failure is counted) tries the right password on lsas[0] while the
// others are still in flight. It checks that the outcome is one a serial
// order of the attempts allows:
//
//   - accepted: the right password was decided before the lock, on a
//     counter it then cleared, so the failures ordered after it are all
//     that is left: fewer than n, and more than n-threshold;
//   - refused: the account was locked when it was decided; the attempt is
//     counted like every attempt on a locked account, n+1 in all.
//
// The bug this catches: the right password checked against a counter read
// before the lock, and accepted after the lock was committed (the counter
// stays at n, and the lockout does not hold).
func lockoutRace(t *testing.T, lsas []*testLSA, user string, n int) (accepted bool) {
	t.Helper()
	ctx := context.Background()
	if err := lsas[0].e.SetPassword(ctx, raceDomain, user, []byte(racePassword)); err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		first     = make(chan struct{})
		firstOnce sync.Once
		errs      = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			_, err := logon(ctx, lsas[i%len(lsas)].p, user, wrongPasswd)
			firstOnce.Do(func() { close(first) })
			if secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
				errs <- fmt.Errorf("wrong password: %v, want SEC_E_LOGON_DENIED", err)
			}
		})
	}
	<-first
	ls, err := logon(ctx, lsas[0].p, user, racePassword)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	a, lerr := lsas[0].store.Lookup(ctx, raceDomain, user)
	if lerr != nil {
		t.Fatal(lerr)
	}
	st := a.Lockout
	threshold := racePolicy.Threshold
	switch {
	case err == nil:
		lsas[0].p.Logoff(ctx, ls.LogonID)
		if st.Failures >= n || st.Failures <= n-threshold {
			t.Errorf("the right password was accepted, and %d of %d failures are counted after it: it was decided on a stale counter (after the lock)", st.Failures, n)
		}
	case secpkg.StatusOf(err) == secpkg.StatusLogonDenied:
		if st.Failures != n+1 || !st.Locked(time.Now()) {
			t.Errorf("the right password was refused, and the account holds %+v; want locked with %d failures (every attempt counted)", st, n+1)
		}
	default:
		t.Fatalf("right password: %v", err)
	}
	return err == nil
}

func runLockoutRace(t *testing.T, lsas []*testLSA, runs, n int) {
	acceptedRuns := 0
	for run := range runs {
		if lockoutRace(t, lsas, fmt.Sprintf("victim%d", run), n) {
			acceptedRuns++
		}
		if t.Failed() {
			t.Fatalf("run %d of %d", run+1, runs)
		}
	}
	t.Logf("%d runs of %d concurrent wrong passwords and the right one: accepted (decided before the lock) in %d", runs, n, acceptedRuns)
}

// TestLockoutRaceSQLite: 300 concurrent wrong LogonUser calls for one
// account, then the right password; on a SQLite store.
func TestLockoutRaceSQLite(t *testing.T) {
	store := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "accounts.db"), racePolicy)
	runLockoutRace(t, []*testLSA{newTestLSA(t, store)}, 6, 300)
}

// TestLockoutRacePostgres is TestLockoutRaceSQLite on PostgreSQL (fewer
// runs: each failure is a commit that waits for the server's disk).
func TestLockoutRacePostgres(t *testing.T) {
	store := openStore(t, pgtest.Schema(t), racePolicy)
	runLockoutRace(t, []*testLSA{newTestLSA(t, store)}, 3, 300)
}

// TestLockoutRaceTwoHosts is the race with two engines (two hosts' lsad)
// on one PostgreSQL database, the flood split across both.
func TestLockoutRaceTwoHosts(t *testing.T) {
	dsn := pgtest.Schema(t)
	a := newTestLSA(t, openStore(t, dsn, racePolicy))
	b := newTestLSA(t, openStore(t, dsn, racePolicy))
	runLockoutRace(t, []*testLSA{a, b}, 3, 300)
}

// TestUnrecordableFailuresRefuse: with the store unable to write (a
// trigger fails every write, as a full disk or a database gone read-only
// under lsad would), 15 wrong passwords are refused, each with an error
// line for the administrator, and the right password is refused after
// them; once the store can write, the failures are counted. (They used to
// leave the counter at 0, and the right password was accepted, with
// nothing logged.)
func TestUnrecordableFailuresRefuse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "accounts.db")
	store := openStore(t, "sqlite:"+path, racePolicy)
	var logs syncBuffer
	p, e, err := embedded.NewProvider(&engine.Config{
		Packages:   []string{"NTLM"},
		Accounts:   store,
		Parameters: secpkg.Parameters{MachineName: "HOST", DomainName: raceDomain},
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := e.SetPassword(ctx, raceDomain, "alice", []byte(racePassword)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"lockout", "logon_decoys"} {
		if _, err := db.Exec(`CREATE TRIGGER fail_` + table + ` BEFORE UPDATE ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'read-only'); END`); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 15 {
		if _, err := logon(ctx, p, "alice", wrongPasswd); secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
			t.Fatalf("wrong password %d: %v, want SEC_E_LOGON_DENIED", i+1, err)
		}
	}
	if ls, err := logon(ctx, p, "alice", racePassword); err == nil {
		t.Fatalf("the right password was accepted after 15 failures the store could not record (session %v)", ls.LogonID)
	}
	text := logs.String()
	if n := strings.Count(text, "level=ERROR"); n != 16 {
		t.Errorf("%d error lines for 16 refusals the store could not record:\n%s", n, text)
	}
	for _, secret := range []string{racePassword, wrongPasswd} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds a password")
		}
	}
	for _, table := range []string{"lockout", "logon_decoys"} {
		if _, err := db.Exec(`DROP TRIGGER fail_` + table); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := logon(ctx, p, "alice", racePassword); secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
		t.Fatalf("right password once the store can write: %v, want refused (locked)", err)
	}
	a, err := store.Lookup(ctx, raceDomain, "alice")
	if err != nil || a.Lockout.Failures != 17 || !a.Lockout.Locked(time.Now()) {
		t.Fatalf("account after the store recovered: %+v, %v; want locked with 17 failures", a.Lockout, err)
	}
}

// syncBuffer is a bytes.Buffer for a logger used from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
