package lsa

import (
	"context"
	"fmt"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Conn is one caller's connection to the LSA: the seam between the
// provider in an application process and the authority. The embedded
// engine (package lsa/engine) and the daemon's client (package lsarpc)
// implement it with the same request and reply types, so both modes run
// the same provider code. Replies never carry a long-term secret.
//
// Every handle a Conn returns belongs to it: another Conn cannot use,
// delete or even detect it, and closing the Conn frees them all.
type Conn interface {
	// EnumeratePackages lists the enabled packages
	// (EnumerateSecurityPackages).
	EnumeratePackages(ctx context.Context) ([]secpkg.PackageInfo, error)
	// AcquireCredentials is AcquireCredentialsHandle.
	AcquireCredentials(ctx context.Context, req *AcquireCredentialsRequest) (*CredentialsReply, error)
	// QueryCredentials is QueryCredentialsAttributes (SECPKG_CRED_ATTR_NAMES).
	QueryCredentials(ctx context.Context, h SecHandle) (*CredentialsReply, error)
	// FreeCredentials is FreeCredentialsHandle.
	FreeCredentials(ctx context.Context, h SecHandle) error
	// InitializeContext is one leg of InitializeSecurityContext.
	InitializeContext(ctx context.Context, req *InitializeContextRequest) (*ContextReply, error)
	// AcceptContext is one leg of AcceptSecurityContext.
	AcceptContext(ctx context.Context, req *AcceptContextRequest) (*ContextReply, error)
	// DeleteContext is DeleteSecurityContext; it works in any state.
	DeleteContext(ctx context.Context, h SecHandle) error
	// ApplyControlToken is ApplyControlToken.
	ApplyControlToken(ctx context.Context, h SecHandle, input []secpkg.Buffer) error
	// ProtectMessage runs MakeSignature, VerifySignature, EncryptMessage or
	// DecryptMessage in the LSA, for a context that is not mapped.
	ProtectMessage(ctx context.Context, req *MessageRequest) (*MessageReply, error)
	// QuerySessionKey answers SECPKG_ATTR_SESSION_KEY for a context that is
	// not mapped.
	QuerySessionKey(ctx context.Context, h SecHandle) ([]byte, error)
	// CallPackage carries a user-mode half's callback to its LSA-mode half.
	CallPackage(ctx context.Context, h SecHandle, id uint32, input []byte) ([]byte, error)
	// ExportContext is ExportSecurityContext for a mapped context: the LSA
	// seals packed (the user-mode half's export) into a blob that one
	// process of the same user may import once. The handle is gone
	// afterwards.
	ExportContext(ctx context.Context, h SecHandle, packed []byte) ([]byte, error)
	// ImportContext is ImportSecurityContext.
	ImportContext(ctx context.Context, blob []byte) (*ImportReply, error)
	// LogonUser is LsaLogonUser (SpLogonUser): it creates a logon session
	// for the caller holding the credentials the package keeps.
	LogonUser(ctx context.Context, req *LogonUserRequest) (*LogonSessionInfo, error)
	// LogonSessions lists the caller's logon sessions (no secrets).
	LogonSessions(ctx context.Context) ([]LogonSessionInfo, error)
	// Logoff ends one of the caller's logon sessions.
	Logoff(ctx context.Context, id secpkg.LogonID) error
	// Close frees every handle of the connection.
	Close() error
}

// Authority is an LSA that takes callers: the engine (package
// lsa/engine) implements it, and the daemon's protocol server (package
// lsarpc) serves one on a socket.
type Authority interface {
	// Connect returns a connection for a caller whose identity the
	// kernel vouches for (peer credentials), never the caller itself.
	Connect(caller secpkg.CallInfo) Conn
	// Epoch is the instance's boot epoch, which every handle it issues
	// carries.
	Epoch() uint64
}

// SecHandle is the handle an application holds for credentials or a
// context: the SecHandle of the Windows API (CredHandle, CtxtHandle). It
// is a random value bound to the Conn that created it, carrying the boot
// epoch of the LSA instance that issued it so that a restarted LSA never
// honours an old one. It is not the package's own handle for the same
// thing (secpkg.Handle, LSA_SEC_HANDLE), which never leaves the LSA, nor
// the provider's name for a mapped context (secpkg.UserContextHandle).
type SecHandle struct {
	Epoch uint64 // the issuing LSA instance
	ID    uint64 // random
}

// IsZero reports whether h is the zero SecHandle (no handle).
func (h SecHandle) IsZero() bool { return h == SecHandle{} }

// String formats the handle for logs.
func (h SecHandle) String() string { return fmt.Sprintf("%016x:%016x", h.Epoch, h.ID) }

// AcquireCredentialsRequest carries the arguments of
// AcquireCredentialsHandle.
type AcquireCredentialsRequest struct {
	Package   string               // pszPackage
	Principal string               // pszPrincipal
	Use       secpkg.CredentialUse // fCredentialUse
	// LogonID is pvLogonID: a logon session of the caller to take default
	// credentials from. Zero means the caller's most recent one.
	LogonID secpkg.LogonID
	// Identity is explicit credentials (pAuthData), or nil for the
	// caller's default credentials.
	Identity *secpkg.AuthIdentity
	// PackageList is SEC_WINNT_AUTH_IDENTITY_EX's PackageList (see
	// secpkg.CredentialsRequest).
	PackageList string
}

// CredentialsReply describes a credentials handle.
type CredentialsReply struct {
	Handle  SecHandle
	Package string    // package name as registered
	Name    string    // SECPKG_CRED_ATTR_NAMES
	Expiry  time.Time // zero means never
}

// InitializeContextRequest carries one leg of InitializeSecurityContext.
type InitializeContextRequest struct {
	Credential SecHandle
	Context    SecHandle // zero on the first leg
	Target     string
	Flags      secpkg.ISCFlags
	DataRep    uint32
	Token      []byte
	Bindings   *secpkg.ChannelBindings
	// CanMap says the caller holds the package's user-mode half, so the
	// context may be mapped into it.
	CanMap bool
	// SentToken, on a request without Context, is the first token the
	// application already sent for this context: the token of an
	// earlier context's first leg whose reply was Repeatable, sent again.
	// The LSA makes the first leg again from this request, refuses the
	// call (SEC_E_INVALID_TOKEN) unless it made the same bytes, and then
	// runs the second leg with Token, in one call.
	SentToken []byte
}

// AcceptContextRequest carries one leg of AcceptSecurityContext.
type AcceptContextRequest struct {
	Credential SecHandle
	Context    SecHandle // zero on the first leg
	Flags      secpkg.ASCFlags
	DataRep    uint32
	Token      []byte
	Bindings   *secpkg.ChannelBindings
	CanMap     bool
}

// ContextReply is the result of one successful leg.
type ContextReply struct {
	Context SecHandle
	Status  secpkg.Status // OK, ContinueNeeded, CompleteNeeded or CompleteAndContinue
	Token   []byte        // to send to the peer; may be empty
	Flags   secpkg.ContextFlags
	Expiry  time.Time
	// Packed is the packed-context envelope (see ParsePacked) when the
	// package mapped the context: the provider initializes the user-mode
	// half from it.
	Packed []byte
	// Attributes are set once the context is established (or needs
	// CompleteAuthToken).
	Attributes *secpkg.ContextAttributes
	// Repeatable says the first leg's Token may be sent again for the
	// next context with the same request (secpkg.ContextResult.Repeatable).
	Repeatable bool
}

// MessageOp says which message function a MessageRequest runs.
type MessageOp uint8

// Message functions.
const (
	OpMakeSignature MessageOp = iota + 1
	OpVerifySignature
	OpEncryptMessage
	OpDecryptMessage
)

// MessageRequest runs a message function in the LSA.
type MessageRequest struct {
	Context SecHandle
	Op      MessageOp
	QOP     uint32
	Seq     uint32
	Buffers []secpkg.Buffer
}

// MessageReply returns the buffers the function wrote and, for
// verification and decryption, the quality of protection found.
type MessageReply struct {
	Buffers []secpkg.Buffer
	QOP     uint32
}

// ImportReply is the result of ImportContext.
type ImportReply struct {
	Context    SecHandle
	Package    string
	Packed     []byte // the user-mode half's exported state, for SpImportSecurityContext
	Flags      secpkg.ContextFlags
	Attributes *secpkg.ContextAttributes
}

// LogonUserRequest carries an interactive logon (LsaLogonUser).
type LogonUserRequest struct {
	Package  string
	Identity secpkg.AuthIdentity
	// Type is the logon type: the zero value checks the password
	// against the account store; secpkg.LogonNewCredentials keeps it
	// unchecked, for outbound use only ("runas /netonly").
	Type secpkg.LogonType `cbor:",omitempty"`
}

// LogonSessionInfo describes a logon session without its credentials.
type LogonSessionInfo struct {
	LogonID secpkg.LogonID
	UID     uint32
	User    string
	Domain  string
	Package string
	Created time.Time
	// Expires is when the LSA ends the session by itself (the engine's
	// Config.LogonSessionLifetime after Created).
	Expires time.Time
	// Network marks the logon session of the client of an accepted
	// context (Windows' Network logon type), holding what the client
	// delegated: the caller's, but never its default credentials (see
	// secpkg.NetworkLogonCreator).
	Network bool
	// Credentials describe what the packages keep in the session, as
	// klist lists a credentials cache (Kerberos: the TGT and service
	// tickets with their times, flags and encryption types), never a
	// key. Filled by LogonSessions only.
	Credentials []secpkg.CredentialInfo
}
