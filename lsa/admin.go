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
	// CreateRegistrationCode makes a one-time code that lets whoever
	// holds it register an existing account with a package whose
	// verifier the client makes (Registration), so that the
	// administrator never learns the password. A new code replaces the
	// account's previous one for the package.
	CreateRegistrationCode(ctx context.Context, req *RegistrationCodeRequest) (*RegistrationCodeReply, error)
}

// AccountRequest names an account and its new password; Groups and
// Disabled apply to AddAccount.
//
// The LSA makes the verifiers from the password: with Packages empty,
// every enabled package that can (packages whose verifier only the client
// makes, such as OPAQUE, are left out: they register through
// Registration); otherwise those named, each of which must be able to.
// AddAccount without a password creates an account without verifiers,
// for a registration to give it one. SetPassword replaces every verifier
// of the account with those made from the new password: a verifier of
// another package, which still accepts the old password, is removed.
type AccountRequest struct {
	Domain   string
	User     string
	Password []byte
	Groups   []string
	Disabled bool
	Packages []string
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
