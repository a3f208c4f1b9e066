// Package accounts is the LSA's account store (the SAM of the Windows
// design): accounts, their groups and state, and for each security package
// the verifier it made from the account's password. It never stores a
// password.
//
// Two backends implement [Store]: SQLite (the default, one file, WAL) and
// PostgreSQL (several hosts' LSAs sharing one database). Both keep lockout
// counters in transactions, so concurrent failures from any number of
// processes or hosts count exactly. A third, memory:, keeps everything in
// the process with the same semantics, for tests and demonstrations.
// Package storetest is the conformance suite all three pass.
//
// The backends are drivers, linked by import as database/sql drivers are
// ([Register]): [Open] picks one by the scheme of a data source name, and
// a program that imports only accounts/sqlite links no PostgreSQL client.
//
//	import _ "github.com/opensspi/sspi/accounts/sqlite"   // sqlite:PATH
//	import _ "github.com/opensspi/sspi/accounts/postgres" // postgres://…
//	import _ "github.com/opensspi/sspi/accounts/memory"   // memory:
//
// # Names
//
// Domain and account names are compared without regard to case, by
// Unicode simple case folding (the equality of [strings.EqualFold]: "K",
// "k" and the Kelvin sign are one letter; "ß" is not "ss"), and without
// normalization. They are kept as first given. The folding is done by this
// package, not the database, so every backend and locale agrees. Names
// must be valid UTF-8 of at most 256 characters without control
// characters; the account name must not be empty, the domain may be.
//
// # Lockout
//
// Every password check is reported to [Store.RecordLogon], which applies
// the store's [LockoutPolicy] (see [Options]) atomically:
//
//   - A failure adds one to the account's count. The first failure opens a
//     window of Window; a failure once Window has passed since the first
//     one (FirstFailure) starts a new window with a count of one. A zero
//     Window never closes: failures then count until something clears
//     them. (Windows measures its observation window from the last bad
//     password instead, MS-SAMR 3.1.5.14.6; both allow Threshold-1
//     guesses per window.)
//   - The failure that brings the count to Threshold locks the account
//     until now+Duration, or until [LockedForever] (that is, until
//     [Store.Unlock]) if Duration is zero. LogonOutcome.LockedNow is set
//     for that failure only.
//   - A failure while the account is locked is counted (the count shows
//     the attempts) but does not extend the lock, as on Windows, where an
//     attempt while locked out leaves lockoutTime alone (MS-SAMR
//     3.1.5.14.6). Extending it would let anyone keep an account locked
//     forever by guessing once per Duration.
//   - A failure after a lock has run out starts a new window, count one.
//   - A success clears the count, unless the account is locked: a success
//     does not unlock (the LSA should not have checked the password of a
//     locked account at all).
//   - [Store.SetVerifiers] (a password change or reset) and [Store.Unlock]
//     clear the state (MS-SAMR 3.1.1.8.3: setting lockoutTime to 0 sets
//     badPwdCount to 0). The caller of a password change should check the
//     old password through RecordLogon first, so that password changes
//     are subject to lockout too.
//   - Threshold zero disables locking; failures are still counted.
//
// Concurrent failures count exactly: N failures at once from any number of
// goroutines, processes (SQLite, BEGIN IMMEDIATE) or hosts (PostgreSQL,
// SELECT … FOR UPDATE) leave a count of N, each call sees a different
// count, and exactly one of them reports LockedNow (the CVE-2021-20251
// race). A committed count never goes back: SQLite commits with
// synchronous=FULL, and a file that cannot be read is refused, never
// replaced by an empty store.
//
// Times are kept in UTC to the microsecond.
//
// # Secrets
//
// Verifiers are password-equivalent for some packages. The SQLite file
// and its -wal and -shm files are created with mode 0600 (an existing
// file's group and other access is removed), deleted verifiers are
// overwritten (secure_delete), nothing the store logs contains a verifier
// or a connection string, and [Account] prints and logs with its
// verifiers redacted.
package accounts

import (
	"context"
	"errors"
	"time"
)

// Errors returned by stores.
var (
	ErrNotFound = errors.New("accounts: no such account")
	ErrExists   = errors.New("accounts: account already exists")
	// ErrNoStore is wrapped by the error of Open when there is no
	// store where the data source name points and Options.Create is not
	// set.
	ErrNoStore = errors.New("accounts: no account store")
)

// Account is one account with its verifiers.
type Account struct {
	Domain   string   // domain the account belongs to; compared without regard to case
	Name     string   // account name; compared without regard to case
	Groups   []string // group names, sorted
	Disabled bool
	// Verifiers maps a package name (such as "NTLM") to the verifier that
	// package made from the password. The bytes are password-equivalent
	// for some packages (an NT hash is) and must be protected as secrets.
	Verifiers map[string][]byte
	Lockout   LockoutState
	Created   time.Time
	Updated   time.Time
}

// LockoutState is an account's failure counter.
type LockoutState struct {
	Failures     int       // failures counted in the current window
	FirstFailure time.Time // start of the current window
	LockedUntil  time.Time // zero: not locked; LockedForever: until an administrator unlocks
}

// Locked reports whether the state locks the account at now.
func (s LockoutState) Locked(now time.Time) bool {
	return !s.LockedUntil.IsZero() && now.Before(s.LockedUntil)
}

// LockoutPolicy says when failures lock an account (the "account lockout
// threshold", "reset counter after" and "lockout duration" of Windows).
type LockoutPolicy struct {
	// Threshold is the number of failures within Window that locks the
	// account. Zero disables lockout.
	Threshold int
	// Window is how long failures are counted: a failure after Window
	// has passed since the first one starts a new count. Zero means
	// failures never expire.
	Window time.Duration
	// Duration is how long a lockout lasts. Zero means until an
	// administrator unlocks the account.
	Duration time.Duration
}

// DefaultLockoutPolicy locks an account for 15 minutes after 10 failures
// within 15 minutes.
var DefaultLockoutPolicy = LockoutPolicy{Threshold: 10, Window: 15 * time.Minute, Duration: 15 * time.Minute}

// LogonOutcome is what RecordLogon did.
type LogonOutcome struct {
	State LockoutState
	// LockedNow is set when this failure locked the account.
	LockedNow bool
}

// Store is an account store. Implementations are safe for concurrent use,
// also by several processes (SQLite) or hosts (PostgreSQL) sharing the
// same database.
type Store interface {
	// Lookup returns the account, or ErrNotFound.
	Lookup(ctx context.Context, domain, name string) (*Account, error)
	// Create adds an account, or returns ErrExists.
	Create(ctx context.Context, a *Account) error
	// SetVerifiers replaces all verifiers of an account (a password
	// change) and clears its lockout state.
	SetVerifiers(ctx context.Context, domain, name string, verifiers map[string][]byte) error
	// SetGroups replaces the groups of an account.
	SetGroups(ctx context.Context, domain, name string, groups []string) error
	// SetDisabled enables or disables an account.
	SetDisabled(ctx context.Context, domain, name string, disabled bool) error
	// Delete removes an account, or returns ErrNotFound.
	Delete(ctx context.Context, domain, name string) error
	// List returns all accounts without their verifiers, sorted by domain
	// and name.
	List(ctx context.Context) ([]*Account, error)
	// RecordLogon counts one password check under the store's lockout
	// policy, atomically: a success clears the counter (unless the
	// account is locked), a failure adds one and may lock the account.
	RecordLogon(ctx context.Context, domain, name string, success bool, now time.Time) (LogonOutcome, error)
	// Unlock clears an account's lockout state.
	Unlock(ctx context.Context, domain, name string) error
	// Close releases the store.
	Close() error
}
