package accounts

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSQLiteSynchronous is what synchronous=FULL costs over NORMAL for
// the write that matters, a recorded failure. (EXTRA adds an fsync of the
// directory; OFF is shown for scale only.)
func BenchmarkSQLiteSynchronous(b *testing.B) {
	for _, mode := range []string{"OFF", "NORMAL", "FULL"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "sam.db"),
				&Options{Lockout: &LockoutPolicy{}, sqliteSynchronous: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Create(b.Context(), &Account{Name: "victim"}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for b.Loop() {
				if _, err := s.RecordLogon(b.Context(), "", "victim", false, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
