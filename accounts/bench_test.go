package accounts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory"
	_ "github.com/opensspi/sspi/accounts/postgres"
	_ "github.com/opensspi/sspi/accounts/sqlite"
	"github.com/opensspi/sspi/internal/pgtest"
)

// BenchmarkStore measures the calls logons make, per backend:
//
//	go test -run '^$' -bench Store ./accounts/
//
// The postgres backend runs when SSPI_TEST_POSTGRES is set.
func BenchmarkStore(b *testing.B) {
	backends := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"memory", func(*testing.B) string { return "memory:" }},
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "sam.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.Schema(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			if be.name == "postgres" && os.Getenv("SSPI_TEST_POSTGRES") == "" {
				b.Skip("SSPI_TEST_POSTGRES is not set")
			}
			// Lockout off, so that every failure writes and none locks.
			s, err := accounts.Open(b.Context(), be.dsn(b), &accounts.Options{Lockout: &accounts.LockoutPolicy{}, Create: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := range 1000 {
				err := s.Create(b.Context(), &accounts.Account{
					Domain: "BENCH", Name: fmt.Sprintf("user%04d", i),
					Groups:    []string{"users", "staff"},
					Verifiers: map[string][]byte{"NTLM": make([]byte, 16), "SCRAM-SHA-256": make([]byte, 84)},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			b.Run("Lookup", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.Lookup(b.Context(), "bench", fmt.Sprintf("USER%04d", i%1000)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("LookupParallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := s.Lookup(b.Context(), "bench", fmt.Sprintf("USER%04d", i%1000)); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
			attempt := func(name string, right bool) accounts.LogonAttempt {
				return accounts.LogonAttempt{Domain: "bench", Name: name, Package: "NTLM", Now: now,
					Check: func(v []byte) bool { return right && v != nil }}
			}
			run := func(name string, right bool, want accounts.LogonResult) func(b *testing.B) {
				return func(b *testing.B) {
					a := attempt(name, right)
					for b.Loop() {
						if out, err := s.Logon(b.Context(), a); err != nil || out.Result != want {
							b.Fatal(out.Result, err)
						}
					}
				}
			}
			parallel := func(name string, right bool, want accounts.LogonResult) func(b *testing.B) {
				return func(b *testing.B) {
					b.RunParallel(func(pb *testing.PB) {
						a := attempt(name, right)
						for pb.Next() {
							if out, err := s.Logon(b.Context(), a); err != nil || out.Result != want {
								b.Error(out.Result, err)
								return
							}
						}
					})
				}
			}
			// The common case: a clear counter, nothing to write, but
			// the account's lock taken for the check.
			b.Run("LogonGranted", run("user0001", true, accounts.LogonGranted))
			b.Run("LogonGrantedParallel", parallel("user0001", true, accounts.LogonGranted))
			// A committed (on SQLite: fsynced) write each.
			b.Run("LogonWrongPassword", run("user0002", false, accounts.LogonWrongPassword))
			b.Run("LogonWrongPasswordParallel", parallel("user0003", false, accounts.LogonWrongPassword))
			// The same write, to a decoy row.
			b.Run("LogonNoSuchAccount", run("nobody", false, accounts.LogonNoSuchAccount))
		})
	}
}
