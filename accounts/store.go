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
// # Logons and lockout
//
// A password check is decided by [Store.Logon], never by the caller from
// what it read earlier: in one transaction that holds the account's lock
// (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE), Logon reads
// the account's lockout state and the package's verifier, runs the
// package's check, and records the outcome under the store's
// [LockoutPolicy] (see [Options]). Every check is therefore decided on the
// count every earlier check left, from any number of goroutines, processes
// or hosts: N concurrent wrong passwords are N failures, exactly one of
// them locks the account (the CVE-2021-20251 race), and a right password
// decided after the lock is refused however early it was sent.
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
//   - While the account is locked its verifier is not checked at all
//     (the check runs against nothing, so that it costs the same): every
//     attempt, right password or wrong, is a failure, counted (the count
//     shows the attempts) without extending the lock, as on Windows,
//     where an attempt while locked out leaves lockoutTime alone (MS-SAMR
//     3.1.5.14.6). Extending it would let anyone keep an account locked
//     forever by guessing once per Duration.
//   - A failure after a lock has run out starts a new window, count one.
//   - A success clears the count; on a clear count it writes nothing.
//   - [Store.SetVerifiers] (a password change or reset) and [Store.Unlock]
//     clear the state (MS-SAMR 3.1.1.8.3: setting lockoutTime to 0 sets
//     badPwdCount to 0). The caller of a password change should check the
//     old password through Logon first, so that password changes are
//     subject to lockout too.
//   - Threshold zero disables locking; failures are still counted.
//
// An attempt that names no account (or a disabled one, or one without a
// verifier for the package) makes the same write as a wrong password, to
// a decoy row chosen by the name, so that the response time does not tell
// an unknown account from a wrong password. A failure that cannot be
// recorded is an error, never a quiet success: Logon returns it (the LSA
// refuses the logon), and the store remembers the failure in memory and
// adds it to the account's count in the next attempt's transaction, which
// must then write and so fails too while the database cannot be written.
//
// A committed count never goes back: SQLite commits with
// synchronous=FULL, and a file that cannot be read is refused, never
// replaced by an empty store.
//
// Times are kept in UTC to the microsecond.
//
// # Package secrets and registration codes
//
// Beside accounts the store keeps, per security package, the long-term
// secrets the package's LSA-mode half needs beyond verifiers (the OPAQUE
// server setup, which every OPAQUE record depends on): hosts sharing one
// database share them. A secret is created once and never changed by
// the store ([Store.CreateSecret]); removing one is an administrator's
// act on the database (doc/opaque.md, rotation).
//
// It also keeps one-time registration codes ([RegistrationCode]), bound
// to an account and a package, which [Store.RedeemRegistrationCode]
// uses up in the transaction that stores the verifier they admit.
// Deleting the account deletes its codes.
//
// # Secrets
//
// Verifiers are password-equivalent for some packages. The SQLite file
// and its -wal and -shm files are created with mode 0600 (an existing
// file's group and other access is removed), deleted verifiers are
// overwritten (secure_delete), as are removed package secrets and
// registration codes; nothing the store logs contains a verifier, a
// package secret or a connection string, and [Account] prints and logs
// with its verifiers redacted.
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
	// ErrInvalidCode is wrapped by the errors of CheckRegistrationCode
	// and RedeemRegistrationCode for a code that does not admit the
	// registration: none by that selector, another secret, expired, or
	// made for another account or package. The wrapping error says which,
	// for the audit log only.
	ErrInvalidCode = errors.New("accounts: invalid registration code")
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

// LogonAttempt is one password check for [Store.Logon].
type LogonAttempt struct {
	Domain, Name string
	// Package names the security package whose verifier Check is given
	// (the key of Account.Verifiers).
	Package string
	// Check verifies the attempt against the package's verifier (for
	// NTLM: whether the client's response was made with the NT hash).
	// Logon calls it exactly once, inside its transaction, with the
	// account's verifier, or with nil when there is none to check
	// against (no such account, no verifier for Package, the account
	// disabled or locked). Given nil, Check must do the same work on a
	// dummy verifier, so that both cost the same; its result is then
	// ignored. The verifier is valid during the call only (the store
	// wipes it). Check runs while the account is locked: it must not
	// block or use the store.
	Check func(verifier []byte) bool
	// Now is the time of the attempt; zero means the store's clock.
	Now time.Time
}

// LogonResult is what Logon decided. Only LogonGranted lets the logon
// proceed; the others say why it did not, for the audit log only (the
// peer must see one failure for them all).
type LogonResult uint8

// Logon results. The zero value is a refusal.
const (
	LogonNoSuchAccount LogonResult = iota // the name is no account's
	LogonNoVerifier                       // the account has no verifier for the package
	LogonWrongPassword                    // Check failed
	LogonDisabled                         // the account is disabled
	LogonLockedOut                        // the account is locked: not checked, counted
	LogonGranted                          // Check passed on an enabled, unlocked account
)

// String is the audit reason of the result.
func (r LogonResult) String() string {
	switch r {
	case LogonNoSuchAccount:
		return "unknown account"
	case LogonNoVerifier:
		return "no verifier for the package"
	case LogonWrongPassword:
		return "wrong password"
	case LogonDisabled:
		return "account disabled"
	case LogonLockedOut:
		return "account locked out"
	case LogonGranted:
		return "granted"
	}
	return "invalid"
}

// LogonOutcome is what Logon decided and recorded.
type LogonOutcome struct {
	Result LogonResult
	// Account is the account as stored, without verifiers, and with
	// the lockout state this attempt left; nil for LogonNoSuchAccount.
	Account *Account
	// LockedNow is set when this attempt locked the account.
	LockedNow bool
}

// RegistrationCode is a one-time registration code: an administrator's
// leave for whoever holds the code to register the account with one
// package (an OPAQUE record, made by the client), once, before it
// expires. The code is two random parts: a selector that finds it, kept
// as it is, and a secret, of which the store keeps only a hash and which
// it compares in constant time. The code itself is never stored.
type RegistrationCode struct {
	Domain, Name string // the account
	Package      string // the package whose verifier it admits
	Selector     []byte // finds the code; at most 64 bytes
	Hash         []byte // SHA-256 of the secret part; at most 64 bytes
	Expires      time.Time
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
	// SetVerifier stores one package's verifier of an account (a
	// registration with that package), replacing that package's and
	// keeping the others, and clears the account's lockout state.
	SetVerifier(ctx context.Context, domain, name, pkg string, verifier []byte) error
	// SetGroups replaces the groups of an account.
	SetGroups(ctx context.Context, domain, name string, groups []string) error
	// SetDisabled enables or disables an account.
	SetDisabled(ctx context.Context, domain, name string, disabled bool) error
	// Delete removes an account, or returns ErrNotFound.
	Delete(ctx context.Context, domain, name string) error
	// List returns all accounts without their verifiers, sorted by domain
	// and name.
	List(ctx context.Context) ([]*Account, error)
	// Logon decides one password check and records it under the store's
	// lockout policy, atomically (see "Logons and lockout" above). An
	// error means the attempt could not be decided or recorded: the
	// caller must refuse the logon.
	Logon(ctx context.Context, a LogonAttempt) (LogonOutcome, error)
	// Unlock clears an account's lockout state.
	Unlock(ctx context.Context, domain, name string) error

	// Secret returns the long-term secret a package keeps under name
	// (see "Package secrets" above), or ErrNotFound.
	Secret(ctx context.Context, pkg, name string) ([]byte, error)
	// CreateSecret stores a package's secret under name if it has none
	// by that name, and returns ErrExists otherwise.
	CreateSecret(ctx context.Context, pkg, name string, secret []byte) error

	// AddRegistrationCode stores a registration code for an existing
	// account (ErrNotFound otherwise), replacing any code of the same
	// account and package, and removes the codes expired at now (zero
	// means the store's clock).
	AddRegistrationCode(ctx context.Context, c *RegistrationCode, now time.Time) error
	// CheckRegistrationCode reports whether c (the account and package
	// named, the selector and the hash of the secret presented) admits a
	// registration at now: nil, or an error wrapping ErrInvalidCode. It
	// changes nothing.
	CheckRegistrationCode(ctx context.Context, c *RegistrationCode, now time.Time) error
	// RedeemRegistrationCode does what CheckRegistrationCode checks and,
	// in the same transaction if the code admits it, removes the code and
	// stores verifier as c.Package's verifier of the account, as
	// SetVerifier does: a code is used once, however many redeem it at
	// once.
	RedeemRegistrationCode(ctx context.Context, c *RegistrationCode, verifier []byte, now time.Time) error
	// Close releases the store.
	Close() error
}
