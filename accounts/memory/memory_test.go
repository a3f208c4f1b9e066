package memory_test

import (
	"testing"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory"
	"github.com/opensspi/sspi/accounts/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
		s, err := accounts.Open(t.Context(), "memory:", opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}
