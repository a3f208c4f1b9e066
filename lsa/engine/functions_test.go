package engine

import (
	"context"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/secpkg"
)

// countingStore counts RecordLogon calls.
type countingStore struct {
	accounts.Store
	records int
}

func (s *countingStore) RecordLogon(ctx context.Context, domain, name string, success bool, now time.Time) (accounts.LogonOutcome, error) {
	s.records++
	return s.Store.RecordLogon(ctx, domain, name, success, now)
}

// A success on a clear counter is not written; every failure is, and so
// is the success that clears failures.
func TestReportLogonSkipsClearSuccess(t *testing.T) {
	ctx := context.Background()
	mem, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	e, err := New(&Config{Packages: []string{}, Accounts: store})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := store.Create(ctx, &accounts.Account{Domain: "D", Name: "u", Verifiers: map[string][]byte{"P": {1}}}); err != nil {
		t.Fatal(err)
	}
	f := &packageFunctions{e: e, pkg: &loadedPackage{name: "P"}}
	lookup := func() *secpkg.Account {
		a, err := f.LookupAccount(ctx, "D", "u")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	f.ReportLogon(ctx, lookup(), true)
	if store.records != 0 {
		t.Fatalf("a success on a clear counter was written (%d)", store.records)
	}
	f.ReportLogon(ctx, lookup(), false)
	a := lookup()
	if store.records != 1 || a.Failures != 1 {
		t.Fatalf("failure: %d writes, %d failures", store.records, a.Failures)
	}
	f.ReportLogon(ctx, a, true)
	if store.records != 2 || lookup().Failures != 0 {
		t.Fatalf("the success after a failure did not clear it")
	}
}
