package secpkg

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"
)

// LSAFunctions are the LSA support functions handed to a package's
// LSA-mode half by SpInitialize (LSA_SECPKG_FUNCTION_TABLE). Each package
// gets its own value: credentials stored in logon sessions and verifiers
// read from the account store are those of the calling package.
type LSAFunctions interface {
	// CreateLogonSession is CreateLogonSession: a new logon session for
	// the calling client's uid, owned by it.
	CreateLogonSession(ctx context.Context, user, domain string) (LogonID, error)
	// DeleteLogonSession is DeleteLogonSession.
	DeleteLogonSession(ctx context.Context, id LogonID) error
	// AddCredential is AddCredential: it stores a credential of this
	// package under key in the logon session. The bytes never leave the
	// LSA.
	AddCredential(ctx context.Context, id LogonID, key string, cred []byte) error
	// GetCredential is GetCredentials for one key; it returns
	// ErrNoCredential when the session holds none.
	GetCredential(ctx context.Context, id LogonID, key string) ([]byte, error)
	// DeleteCredential is DeleteCredential.
	DeleteCredential(ctx context.Context, id LogonID, key string) error

	// CheckLogon decides a password check of an account of the local
	// account store (OpenSamUser, GetUserAuthData and AuditAccountLogon
	// in one step). In one transaction that holds the account's lock it
	// reads the account's lockout state and this package's verifier,
	// calls check, and records the outcome, which drives lockout: the
	// decision is never taken on a state read before concurrent attempts
	// were counted.
	//
	// check verifies the caller's proof (an NTLM response, a password)
	// against the verifier. CheckLogon calls it exactly once, with the
	// verifier, or with nil when there is none to check against (unknown
	// account, none for this package, account disabled or locked out);
	// given nil, check must do the same work against a dummy verifier,
	// so that the peer cannot time the difference. The verifier is valid
	// during the call only (the LSA wipes it). check runs while the
	// account is locked, in the LSA: it must be quick and must not call
	// the LSA. (For a package in another process, CheckLogon is one call
	// that the LSA answers with one call back: bytes in, a bool out.)
	//
	// CheckLogon returns the account (names as stored, groups) if check
	// passed on an enabled account that is not locked out. Otherwise it
	// returns an error with StatusLogonDenied: ErrNoSuchAccount,
	// ErrNoVerifier, ErrWrongPassword, ErrAccountDisabled or ErrLockedOut,
	// whose difference is for the audit log only ([LogonFailureReason]);
	// the peer must see one failure for them all. Any other error (the
	// caller's password-check rate limit, an account store that cannot
	// record the attempt) is a refusal too, which the LSA has audited or
	// logged.
	CheckLogon(ctx context.Context, domain, user string, check func(verifier []byte) bool) (*Account, error)

	// GetCallInfo is GetCallInfo / GetClientInfo: who is calling.
	GetCallInfo(ctx context.Context) CallInfo
	// Audit records an audit event (AuditLogon). The LSA adds the caller
	// and the package; events never carry secrets.
	Audit(ctx context.Context, ev AuditEvent)
	// CheckReplay records key until expires and returns ErrReplay if it
	// was already recorded: the acceptor replay cache.
	CheckReplay(ctx context.Context, key []byte, expires time.Time) error
	// LocatePackage returns the LSA-mode half of another enabled package,
	// for packages that compose others (Negotiate over Kerberos and NTLM).
	LocatePackage(name string) (LSAPackage, bool)

	// Now is the LSA's clock.
	Now() time.Time
	// Rand is the LSA's source of randomness.
	Rand() io.Reader
	// Logger is the LSA's logger (never nil). Packages must not log
	// secrets.
	Logger() *slog.Logger
}

// Errors returned by LSAFunctions.
var (
	ErrNoSuchAccount   = &Error{Status: StatusLogonDenied, Detail: "lsa: no such account"}
	ErrNoVerifier      = &Error{Status: StatusLogonDenied, Detail: "lsa: the account has no verifier for this package"}
	ErrWrongPassword   = &Error{Status: StatusLogonDenied, Detail: "lsa: wrong password"}
	ErrAccountDisabled = &Error{Status: StatusLogonDenied, Detail: "lsa: account disabled"}
	ErrLockedOut       = &Error{Status: StatusLogonDenied, Detail: "lsa: account locked out"}
	ErrNoCredential    = &Error{Status: StatusNoCredentials, Detail: "lsa: logon session holds no such credential"}
	ErrNoLogonSession  = &Error{Status: StatusNoCredentials, Detail: "lsa: no such logon session"}
	ErrReplay          = &Error{Status: StatusInvalidToken, Detail: "lsa: replayed authenticator"}
)

// LogonFailureReason returns the audit reason of a refusal by CheckLogon
// of the attempt itself ("unknown account", "wrong password", …), and
// false for any other error.
func LogonFailureReason(err error) (string, bool) {
	switch {
	case errors.Is(err, ErrNoSuchAccount):
		return "unknown account", true
	case errors.Is(err, ErrNoVerifier):
		return "no verifier for the package", true
	case errors.Is(err, ErrWrongPassword):
		return "wrong password", true
	case errors.Is(err, ErrAccountDisabled):
		return "account disabled", true
	case errors.Is(err, ErrLockedOut):
		return "account locked out", true
	}
	return "", false
}

// Account is an account of the local store that passed a password check
// (CheckLogon): its names as stored and its groups.
type Account struct {
	User   string
	Domain string
	Groups []string
}

// CallInfo is SECPKG_CALL_INFO and SECPKG_CLIENT_INFO: who made the
// current call. It comes from the kernel (peer credentials), never from the
// message.
type CallInfo struct {
	UID       uint32
	GID       uint32
	PID       int32
	InProcess bool    // SECPKG_CALL_IN_PROC: the caller runs in the LSA's process
	LogonID   LogonID // the caller's current logon session, if any
}

// AuditKind says what an audit event records.
type AuditKind uint8

// Audit event kinds.
const (
	AuditLogonSuccess AuditKind = iota + 1 // a context was established (4624)
	AuditLogonFailure                      // authentication failed (4625)
	AuditLockout                           // an account was locked (4740)
	AuditLogonSession                      // a logon session was created
)

// String names the kind.
func (k AuditKind) String() string {
	switch k {
	case AuditLogonSuccess:
		return "logon-success"
	case AuditLogonFailure:
		return "logon-failure"
	case AuditLockout:
		return "lockout"
	case AuditLogonSession:
		return "logon-session"
	}
	return "unknown"
}

// AuditEvent is one audit record. Principal comes from authenticated data
// where the kind is a success; on failure it is what the peer claimed.
type AuditEvent struct {
	Kind      AuditKind
	Principal string // DOMAIN\user
	Reason    string // why a failure failed; never a secret
	Status    Status
}

// callInfoKey is the context key under which the LSA stores the CallInfo
// of the current call.
type callInfoKey struct{}

// WithCallInfo returns ctx carrying ci. The LSA calls it for every request.
func WithCallInfo(ctx context.Context, ci CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, ci)
}

// CallInfoFrom returns the CallInfo stored in ctx by WithCallInfo.
func CallInfoFrom(ctx context.Context) (CallInfo, bool) {
	ci, ok := ctx.Value(callInfoKey{}).(CallInfo)
	return ci, ok
}
