package accounts_test

import (
	"strings"
	"testing"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory"
	_ "github.com/opensspi/sspi/accounts/sqlite"
)

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dsn  string
		opts *accounts.Options
		want string
	}{
		{"no scheme", "sam.db", nil, "no scheme"},
		{"unknown scheme", "mysql://u:secret@h/db", nil, "unknown data source scheme"},
		{"sqlite without path", "sqlite:", nil, "no path"},
		{"sqlite in memory", "sqlite::memory:", nil, "file path"},
		{"sqlite URI", "sqlite:file:x.db", nil, "file path"},
		{"memory with argument", "memory:x", nil, "no argument"},
		{"negative threshold", "memory:", &accounts.Options{Lockout: &accounts.LockoutPolicy{Threshold: -1}}, "negative"},
		{"negative window", "memory:", &accounts.Options{Lockout: &accounts.LockoutPolicy{Threshold: 1, Window: -1}}, "negative"},
		{"negative duration", "memory:", &accounts.Options{Lockout: &accounts.LockoutPolicy{Duration: -1}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := accounts.Open(t.Context(), tt.dsn, tt.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "accounts: ") {
				t.Errorf("Open(%q) = %q, want an accounts: error about %q", tt.dsn, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error repeats the data source name: %v", err)
			}
		})
	}
}
