package lsa

import (
	"context"
	"time"
)

// Admin administers the LSA's accounts: the connection's caller must be
// allowed to (the engine's Config.Authorize with AccessAdminister). The embedded
// engine's connections and the daemon's client (lsarpc) implement it.
// Passwords go in; nothing secret comes out.
type Admin interface {
	// AddAccount creates an account whose verifiers every enabled
	// package makes from the password.
	AddAccount(ctx context.Context, req *AccountRequest) error
	// SetPassword replaces an account's verifiers (and clears its
	// lockout).
	SetPassword(ctx context.Context, req *AccountRequest) error
	// DeleteAccount removes an account.
	DeleteAccount(ctx context.Context, domain, user string) error
	// ListAccounts lists the accounts, without verifiers.
	ListAccounts(ctx context.Context) ([]AccountInfo, error)
	// UnlockAccount clears an account's lockout.
	UnlockAccount(ctx context.Context, domain, user string) error
}

// AccountRequest names an account and its new password; Groups and
// Disabled apply to AddAccount.
type AccountRequest struct {
	Domain   string
	User     string
	Password []byte
	Groups   []string
	Disabled bool
}

// AccountInfo describes an account without its verifiers.
type AccountInfo struct {
	Domain      string
	User        string
	Groups      []string
	Disabled    bool
	Packages    []string // packages holding a verifier for it
	Failures    int
	LockedUntil time.Time // zero: not locked
	Created     time.Time
	Updated     time.Time
}
