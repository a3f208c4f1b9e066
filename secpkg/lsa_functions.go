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

	// LookupAccount returns the account and this package's verifier for
	// it (OpenSamUser + GetUserAuthData). It returns ErrNoSuchAccount for
	// an unknown account; the package must then run the same computation
	// against a dummy verifier so that the peer cannot tell the
	// difference.
	LookupAccount(ctx context.Context, domain, user string) (*Account, error)
	// ReportLogon records the outcome of a password check for an account,
	// which drives lockout (AuditAccountLogon). It returns ErrLockedOut
	// when this failure locked the account.
	ReportLogon(ctx context.Context, acct *Account, success bool) error

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
	ErrNoSuchAccount  = &Error{Status: StatusLogonDenied, Detail: "lsa: no such account"}
	ErrLockedOut      = &Error{Status: StatusLogonDenied, Detail: "lsa: account locked out"}
	ErrNoCredential   = &Error{Status: StatusNoCredentials, Detail: "lsa: logon session holds no such credential"}
	ErrNoLogonSession = &Error{Status: StatusNoCredentials, Detail: "lsa: no such logon session"}
	ErrReplay         = &Error{Status: StatusInvalidToken, Detail: "lsa: replayed authenticator"}
)

// IsNoSuchAccount reports whether err says the account does not exist.
func IsNoSuchAccount(err error) bool { return errors.Is(err, ErrNoSuchAccount) }

// Account is an account as a package sees it: its names, state and the
// verifier this package made for it.
type Account struct {
	User     string
	Domain   string
	Groups   []string
	Disabled bool
	// Locked is set while the account is locked out after too many
	// failures.
	Locked bool
	// Failures is how many failures the account's lockout counter held
	// when it was looked up.
	Failures int
	Verifier []byte // this package's verifier; nil if it has none
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
