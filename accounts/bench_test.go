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

// BenchmarkStore measures the calls every logon makes, per backend:
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
			b.Run("RecordLogonSuccess", func(b *testing.B) {
				// The common case: a clear counter, nothing to write.
				for b.Loop() {
					if _, err := s.RecordLogon(b.Context(), "bench", "user0001", true, now); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("RecordLogonFailure", func(b *testing.B) {
				// A committed (on SQLite: fsynced) write each.
				for b.Loop() {
					if _, err := s.RecordLogon(b.Context(), "bench", "user0002", false, now); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("RecordLogonFailureParallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.RecordLogon(b.Context(), "bench", "user0003", false, now); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
