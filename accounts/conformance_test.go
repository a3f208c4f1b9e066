package accounts_test

import (
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/storetest"
)

func openOrFatal(t *testing.T, dsn string, opts *accounts.Options) accounts.Store {
	t.Helper()
	s, err := accounts.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		return openOrFatal(t, "memory:", opts)
	})
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		return openOrFatal(t, "sqlite:"+filepath.Join(t.TempDir(), "sam.db"), opts)
	})
}

// TestSQLiteShared opens the same file twice, as two processes would.
func TestSQLiteShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T, opts *accounts.Options) (a, b accounts.Store) {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "sam.db")
		return openOrFatal(t, dsn, opts), openOrFatal(t, dsn, opts)
	})
}
