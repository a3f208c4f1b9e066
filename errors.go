package sspi

// Sentinel errors for the outcomes callers branch on. Every failure this
// package returns carries a Status, so errors.Is(err, ErrLogonDenied) is
// the same test as StatusOf(err) == StatusLogonDenied.
var (
	// ErrLogonDenied: the credentials were rejected (SEC_E_LOGON_DENIED).
	// Wrong passwords, unknown users and locked accounts look alike.
	ErrLogonDenied error = StatusLogonDenied
	// ErrInvalidToken: a handshake token is malformed, oversized or
	// unexpected (SEC_E_INVALID_TOKEN).
	ErrInvalidToken error = StatusInvalidToken
	// ErrInvalidHandle: the context or credentials are unknown, deleted,
	// not established, or belong to someone else (SEC_E_INVALID_HANDLE).
	ErrInvalidHandle error = StatusInvalidHandle
	// ErrMessageAltered: a signature or sealed message failed its check
	// (SEC_E_MESSAGE_ALTERED).
	ErrMessageAltered error = StatusMessageAltered
	// ErrOutOfSequence: a message was replayed or reordered
	// (SEC_E_OUT_OF_SEQUENCE).
	ErrOutOfSequence error = StatusOutOfSequence
	// ErrContextExpired: the context or its handshake deadline expired
	// (SEC_E_CONTEXT_EXPIRED).
	ErrContextExpired error = StatusContextExpired
	// ErrBadBindings: channel bindings were missing or did not match
	// (SEC_E_BAD_BINDINGS).
	ErrBadBindings error = StatusBadBindings
	// ErrNoCredentials: no usable credentials, such as default credentials
	// without a logon session (SEC_E_NO_CREDENTIALS).
	ErrNoCredentials error = StatusNoCredentials
	// ErrPackageNotFound: no such security package (SEC_E_SECPKG_NOT_FOUND).
	ErrPackageNotFound error = StatusPackageNotFound
	// ErrUnsupported: the package or context cannot do this
	// (SEC_E_UNSUPPORTED_FUNCTION).
	ErrUnsupported error = StatusUnsupportedFunction
	// ErrWrongPrincipal: the target name did not match (SEC_E_WRONG_PRINCIPAL).
	ErrWrongPrincipal error = StatusWrongPrincipal
	// ErrIncompleteMessage: a message is shorter than its trailer or
	// header (SEC_E_INCOMPLETE_MESSAGE).
	ErrIncompleteMessage error = StatusIncompleteMessage
)
