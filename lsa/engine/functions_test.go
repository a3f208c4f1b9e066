package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/secpkg"
)

// brokenStore fails every Logon after running the check, as a store
// whose database cannot be written does.
type brokenStore struct {
	accounts.Store
	broken bool
}

func (s *brokenStore) Logon(ctx context.Context, a accounts.LogonAttempt) (accounts.LogonOutcome, error) {
	if s.broken {
		a.Check(nil)
		return accounts.LogonOutcome{}, errors.New("accounts: updating lockout state: attempt to write a readonly database")
	}
	return s.Store.Logon(ctx, a)
}

// TestCheckLogon checks the LSA support function that decides password
// checks: what it gives the package's check, the error of each refusal,
// the lockout audited once, and a store that cannot record the attempt
// refusing it with an error line for the administrator.
func TestCheckLogon(t *testing.T) {
	ctx := context.Background()
	mem, err := accounts.Open(ctx, "memory:", &accounts.Options{Lockout: &accounts.LockoutPolicy{Threshold: 2, Window: time.Hour, Duration: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	store := &brokenStore{Store: mem}
	var logs bytes.Buffer
	e, err := New(&Config{Packages: []string{}, Accounts: store, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Parameters: secpkg.Parameters{MachineName: "HOST", DomainName: "D"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	verifier := []byte("the verifier")
	if err := store.Create(ctx, &accounts.Account{Domain: "D", Name: "User", Groups: []string{"g"}, Verifiers: map[string][]byte{"P": verifier}}); err != nil {
		t.Fatal(err)
	}
	f := &packageFunctions{e: e, pkg: &loadedPackage{name: "P"}}
	try := func(domain, user string, password []byte) (*secpkg.Account, []byte, error) {
		var given []byte
		calls := 0
		acct, err := f.CheckLogon(ctx, domain, user, func(v []byte) bool {
			calls++
			given = bytes.Clone(v)
			return v != nil && bytes.Equal(v, password)
		})
		if calls != 1 {
			t.Fatalf("CheckLogon(%s\\%s) called the check %d times", domain, user, calls)
		}
		return acct, given, err
	}

	acct, given, err := try("", "user", verifier) // "" is the local domain
	if err != nil || acct.User != "User" || acct.Domain != "D" || len(acct.Groups) != 1 || !bytes.Equal(given, verifier) {
		t.Fatalf("right password: %+v, %v (check given %q)", acct, err, given)
	}
	if _, given, err := try("D", "nobody", verifier); !errors.Is(err, secpkg.ErrNoSuchAccount) || given != nil {
		t.Errorf("unknown account: %v, check given %q", err, given)
	}
	if _, _, err := try("D", "user", []byte("wrong")); !errors.Is(err, secpkg.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if strings.Contains(logs.String(), "lockout") {
		t.Fatalf("lockout audited before the lock:\n%s", logs.String())
	}
	if _, _, err := try("D", "user", []byte("wrong")); !errors.Is(err, secpkg.ErrWrongPassword) {
		t.Errorf("second wrong password: %v", err)
	}
	if n := strings.Count(logs.String(), "event=lockout"); n != 1 {
		t.Errorf("the lockout was audited %d times:\n%s", n, logs.String())
	}
	if _, given, err := try("D", "user", verifier); !errors.Is(err, secpkg.ErrLockedOut) || given != nil {
		t.Errorf("right password while locked: %v, check given %q", err, given)
	}
	for _, err := range []error{secpkg.ErrNoSuchAccount, secpkg.ErrWrongPassword, secpkg.ErrLockedOut} {
		if secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
			t.Errorf("%v is not SEC_E_LOGON_DENIED", err)
		}
	}

	store.broken = true
	logs.Reset()
	_, _, err = try("D", "user", []byte("wrong"))
	if secpkg.StatusOf(err) != secpkg.StatusLogonDenied {
		t.Errorf("store failure: %v, want SEC_E_LOGON_DENIED", err)
	}
	if _, isVerdict := secpkg.LogonFailureReason(err); isVerdict {
		t.Errorf("store failure %v passed for a verdict on the password", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "logon refused") || strings.Contains(logs.String(), "the verifier") {
		t.Errorf("store failure logged:\n%s", logs.String())
	}
}
