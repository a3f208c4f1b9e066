package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
)

// BenchmarkSQLiteSynchronous is what synchronous=FULL costs over NORMAL for
// the write that matters, a recorded failure. (EXTRA adds an fsync of the
// directory; OFF is shown for scale only.)
func BenchmarkSQLiteSynchronous(b *testing.B) {
	for _, mode := range []string{"OFF", "NORMAL", "FULL"} {
		b.Run(mode, func(b *testing.B) {
			testSynchronous = mode
			defer func() { testSynchronous = "" }()
			s, err := accounts.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "sam.db"),
				&accounts.Options{Lockout: &accounts.LockoutPolicy{}, Create: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Create(b.Context(), &accounts.Account{Name: "victim", Verifiers: map[string][]byte{"NTLM": {1}}}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for b.Loop() {
				if _, err := s.Logon(b.Context(), accounts.LogonAttempt{Name: "victim", Package: "NTLM", Now: now, Check: func([]byte) bool { return false }}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
