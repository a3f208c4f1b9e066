package secpkg

import (
	"context"
	"log/slog"
	"time"
)

// Interface versions exchanged by the two entry points
// (SECPKG_INTERFACE_VERSION). The LSA and the provider pass the newest
// version they speak; a package returns the version it implements, which
// must not be newer.
const (
	InterfaceVersion1 uint32 = 0x10000 // SECPKG_INTERFACE_VERSION
	InterfaceVersion  uint32 = InterfaceVersion1
)

// Package is what a security package registers: its entry points, the
// way an SSP/AP DLL exports SpLsaModeInitialize and, if it has a
// user-mode half, SpUserModeInitialize ([UserModeInitializer]). The LSA
// calls LSAModeInitialize once when it loads the package.
type Package interface {
	// LSAModeInitialize is SpLsaModeInitialize: given the LSA's interface
	// version it returns the package's version and its LSA-mode half.
	LSAModeInitialize(lsaVersion uint32) (packageVersion uint32, lsa LSAPackage, err error)
}

// UserModeInitializer is implemented by a Package that has a user-mode
// half, as only such a DLL exports SpUserModeInitialize. Whether a package
// implements it is how a provider knows, without initializing anything,
// that the package's contexts can be mapped into the application (it says
// so to the LSA on every leg); a package without one keeps its contexts in
// the LSA, where message calls go.
//
// Every application process calls UserModeInitialize at most once, when
// the first of the package's contexts is mapped (or imported). If it
// fails, that context fails and the process maps no other context of the
// package.
type UserModeInitializer interface {
	// UserModeInitialize is SpUserModeInitialize: given the provider's
	// interface version it returns the package's version and its
	// user-mode half.
	UserModeInitialize(providerVersion uint32) (packageVersion uint32, user UserPackage, err error)
}

// Parameters is SECPKG_PARAMETERS: what the LSA tells a package about the
// machine it runs on.
type Parameters struct {
	Version        uint32
	MachineState   uint32 // SECPKG_STATE_* bits
	MachineName    string // NetBIOS computer name, such as "HOST1"
	DomainName     string // NetBIOS domain name, such as "EXAMPLE"
	DNSMachineName string // fully qualified host name, such as "host1.example.com"
	DNSDomainName  string // DNS domain name, such as "example.com"
	DNSTreeName    string // DNS forest name
}

// SECPKG_STATE_* bits for Parameters.MachineState.
const (
	StateEncryptionPermitted       uint32 = 0x01
	StateStrongEncryptionPermitted uint32 = 0x02
	StateDomainController          uint32 = 0x04
	StateWorkstation               uint32 = 0x08
	StateStandalone                uint32 = 0x10
)

// CredentialsRequest carries the arguments of SpAcquireCredentialsHandle.
type CredentialsRequest struct {
	Principal string        // pszPrincipal: the name to act as, if any
	Use       CredentialUse // fCredentialUse
	// LogonID is the caller's logon session, set by the LSA when the
	// caller supplies no explicit identity (default credentials).
	LogonID LogonID
	// Identity is pAuthData: explicit credentials, or nil.
	Identity *AuthIdentity
	// PackageList is the PackageList of SEC_WINNT_AUTH_IDENTITY_EX: the
	// packages a negotiating package may choose, in order and
	// comma-separated, or with "!" those it must not ("!NTLM"). Empty
	// means the package's configured order; other packages ignore it.
	PackageList string
}

// Credentials describe an acquired credentials handle: the result of
// SpAcquireCredentialsHandle and the answer to SpQueryCredentialsAttributes
// (SECPKG_CRED_ATTR_NAMES).
type Credentials struct {
	Handle Handle    // the package's handle for the credentials
	Name   string    // SecPkgCredentials_Names.sUserName
	Expiry time.Time // ptsExpiry; zero means never
}

// InitContextRequest carries the arguments of SpInitLsaModeContext.
type InitContextRequest struct {
	Credential Handle   // CredentialHandle
	Context    Handle   // ContextHandle: zero on the first call
	Target     string   // TargetName, such as "HTTP/www.example.com"
	Flags      ISCFlags // ContextRequirements
	DataRep    uint32   // TargetDataRep
	Token      []byte   // the SECBUFFER_TOKEN input: the peer's last token
	// Bindings is the SECBUFFER_CHANNEL_BINDINGS input, or nil.
	Bindings *ChannelBindings
}

// AcceptContextRequest carries the arguments of SpAcceptLsaModeContext.
type AcceptContextRequest struct {
	Credential Handle   // CredentialHandle
	Context    Handle   // ContextHandle: zero on the first call
	Flags      ASCFlags // ContextRequirements
	DataRep    uint32   // TargetDataRep
	Token      []byte   // the SECBUFFER_TOKEN input
	Bindings   *ChannelBindings
}

// ContextResult is what SpInitLsaModeContext and SpAcceptLsaModeContext
// return on success.
type ContextResult struct {
	Context Handle // NewContextHandle
	// Status is StatusOK when the context is established,
	// StatusContinueNeeded when the peer must answer Token, and
	// StatusCompleteNeeded or StatusCompleteAndContinue when the caller
	// must first call CompleteAuthToken.
	Status Status
	Token  []byte // the SECBUFFER_TOKEN output, possibly empty
	// Flags are the ContextAttributes (ISC_RET_* or ASC_RET_*, as
	// ContextFlags).
	Flags  ContextFlags
	Expiry time.Time // ExpirationTime; zero means never
	// Mapped is MappedContext: the package has a user-mode half and
	// ContextData is its packed context, to be handed to
	// SpInitUserModeContext in the application. ContextData must hold
	// only what per-message work needs (session keys, sequence numbers,
	// flags), never a long-term secret.
	Mapped      bool
	ContextData []byte
	// Repeatable, on an initiator's first leg, says that Token is a
	// function of the request alone (credentials, target, flags, data
	// representation, channel bindings): the same request makes the same
	// bytes, now and for the credentials' life. The application may then
	// send them again as the first token of its next context with the
	// same request, and hand them to the LSA with that context's second
	// leg (lsa.InitializeContextRequest.SentToken), saving a round trip
	// to the LSA. NTLM's NEGOTIATE_MESSAGE is; a token with a nonce, a
	// timestamp or a key (Kerberos' AP-REQ, OPAQUE's KE1) is not.
	Repeatable bool
}

// ContextAttributes is what SpQueryContextAttributes answers in the LSA:
// the attributes that do not change per message. The LSA asks for them
// when a context is established and hands them to the application with
// the reply, so that QueryContextAttributes needs no round trip.
type ContextAttributes struct {
	UserName   string    // SECPKG_ATTR_NAMES: the client's name
	ClientName string    // SECPKG_ATTR_NATIVE_NAMES: sClientName
	ServerName string    // SECPKG_ATTR_NATIVE_NAMES: sServerName
	Start      time.Time // SECPKG_ATTR_LIFESPAN: tsStart
	Expiry     time.Time // SECPKG_ATTR_LIFESPAN: tsExpiry; zero means never
	// NegotiatedPackage and NegotiationState are
	// SECPKG_ATTR_NEGOTIATION_INFO. For a package that negotiates nothing
	// the package is the package itself.
	NegotiatedPackage string
	NegotiationState  NegotiationState
	Sizes             Sizes       // SECPKG_ATTR_SIZES
	StreamSizes       StreamSizes // SECPKG_ATTR_STREAM_SIZES
	// Identity is the authenticated client, on the server side only.
	Identity *Identity
}

// LSAPackage is the LSA-mode half of a package: SECPKG_FUNCTION_TABLE. It
// runs inside the LSA with access to long-term secrets through
// [LSAFunctions]. Every method may be called concurrently for different
// handles; the LSA never runs two steps of one context at once.
//
// Optional capabilities are further interfaces the value may implement:
// [LogonUserer], [ControlTokenApplier], [LSAMessageProtector],
// [SessionKeyQuerier], [CallPackager], [ContextMapper], [MechListMICer],
// [VerifierMaker], [Registrar], [LogonTerminator] and [CredentialLister].
type LSAPackage interface {
	// Initialize is SpInitialize: the package's ID, the machine, and the
	// LSA support functions the package keeps for later calls.
	Initialize(ctx context.Context, id uint32, params *Parameters, lsa LSAFunctions) error
	// GetInfo is SpGetInfo.
	GetInfo() PackageInfo
	// AcquireCredentialsHandle is SpAcquireCredentialsHandle.
	AcquireCredentialsHandle(ctx context.Context, req *CredentialsRequest) (*Credentials, error)
	// FreeCredentialsHandle is SpFreeCredentialsHandle.
	FreeCredentialsHandle(ctx context.Context, h Handle) error
	// QueryCredentialsAttributes is SpQueryCredentialsAttributes.
	QueryCredentialsAttributes(ctx context.Context, h Handle) (*Credentials, error)
	// InitLsaModeContext is SpInitLsaModeContext, one client leg. On error
	// the package frees whatever a first call (req.Context == 0) created;
	// for an existing context the LSA keeps the error sticky and calls
	// DeleteContext when the application deletes it.
	InitLsaModeContext(ctx context.Context, req *InitContextRequest) (*ContextResult, error)
	// AcceptLsaModeContext is SpAcceptLsaModeContext, one server leg, with
	// the same error rule.
	AcceptLsaModeContext(ctx context.Context, req *AcceptContextRequest) (*ContextResult, error)
	// DeleteContext is SpDeleteContext. It must work on a context in any
	// state, including one whose last step failed.
	DeleteContext(ctx context.Context, h Handle) error
	// QueryContextAttributes is SpQueryContextAttributes.
	QueryContextAttributes(ctx context.Context, h Handle) (*ContextAttributes, error)
	// Shutdown is SpShutdown.
	Shutdown(ctx context.Context) error
}

// LogonRequest carries the arguments of SpLogonUser for an interactive
// logon: the user's own password, given to the LSA once so that later
// default credentials can use it without the application holding it.
type LogonRequest struct {
	Identity AuthIdentity
	// Type says whether the package checks the identity (the zero
	// value, LogonInteractive) or keeps it unchecked for outbound use
	// (LogonNewCredentials).
	Type LogonType
}

// LogonType is the kind of an interactive logon (SECURITY_LOGON_TYPE of
// LsaLogonUser).
type LogonType uint8

// Logon types.
const (
	// LogonInteractive (Interactive, 2) checks the password against the
	// local account store: an account the store does not know is
	// refused exactly as a wrong password is.
	LogonInteractive LogonType = iota
	// LogonNewCredentials (NewCredentials, 9; LOGON32_LOGON_NEW_CREDENTIALS,
	// "runas /netonly") checks nothing: the logon session keeps the
	// identity for outbound authentication only, where the peer checks
	// it, for an account of another domain the LSA cannot check.
	LogonNewCredentials
)

// String names the logon type.
func (t LogonType) String() string {
	switch t {
	case LogonInteractive:
		return "interactive"
	case LogonNewCredentials:
		return "new-credentials"
	}
	return "invalid"
}

// LogonResult is what SpLogonUser returns.
type LogonResult struct {
	LogonID LogonID // the logon session the package created
	User    string
	Domain  string
}

// LogonUserer is implemented by packages that support interactive logon
// (SpLogonUser, SECPKG_FLAG_LOGON). The package validates the identity,
// creates a logon session with LSAFunctions.CreateLogonSession and stores
// the credentials it will need with AddCredential.
type LogonUserer interface {
	LogonUser(ctx context.Context, req *LogonRequest) (*LogonResult, error)
}

// ControlTokenApplier is implemented by packages that take control tokens
// (SpApplyControlToken).
type ControlTokenApplier interface {
	ApplyControlToken(ctx context.Context, h Handle, input []Buffer) error
}

// LSAMessageProtector is implemented by packages whose contexts can protect
// messages inside the LSA: the slow path used when a context is not mapped
// into the application.
type LSAMessageProtector interface {
	MakeSignature(ctx context.Context, h Handle, qop uint32, msg []Buffer, seq uint32) error
	VerifySignature(ctx context.Context, h Handle, msg []Buffer, seq uint32) (qop uint32, err error)
	SealMessage(ctx context.Context, h Handle, qop uint32, msg []Buffer, seq uint32) error
	UnsealMessage(ctx context.Context, h Handle, msg []Buffer, seq uint32) (qop uint32, err error)
}

// SessionKeyQuerier is implemented by packages that can report the session
// key of an unmapped context (SECPKG_ATTR_SESSION_KEY answered in the LSA).
type SessionKeyQuerier interface {
	QuerySessionKey(ctx context.Context, h Handle) ([]byte, error)
}

// CallPackager is implemented by packages whose user-mode half calls back
// into the LSA-mode half (the LSA_CALLBACK_FUNCTION / ClientCallback
// channel, and LsaCallAuthenticationPackage for a context).
type CallPackager interface {
	CallPackage(ctx context.Context, h Handle, id uint32, input []byte) ([]byte, error)
}

// ContextMapper is implemented by packages that want to know when the LSA
// has handed a context to the application: the leg whose result set
// Mapped was answered with the packed context (MappedContext), so from
// then on the user-mode half does the per-message work. The LSA-mode half
// may then drop what only that work needs (session keys, cipher states,
// sequence numbers), keeping what SpQueryContextAttributes and
// SpDeleteContext need. The LSA calls ContextMapped at most once per
// context, after that leg, and never for a context it keeps unmapped
// (the caller has no user-mode half), whose messages it protects through
// [LSAMessageProtector] for as long as the context lives.
type ContextMapper interface {
	ContextMapped(ctx context.Context, h Handle)
}

// MechListMICer is implemented by packages whose established contexts can
// make and verify the mechListMIC of SPNEGO (RFC 4178 section 5, MS-SPNG
// 3.3.5.1): the Negotiate package calls it inside the LSA, on the LSA-mode
// half of the package it chose, once that package's context is
// established and before the context is mapped into the application.
//
// The MIC is the package's GSS_GetMIC over mechList, the DER encoding of
// the MechTypeList the initiator sent, made with the context's sending
// state (MakeMechListMIC) or checked with its receiving state
// (VerifyMechListMIC). It counts as a message of the context: how it
// leaves the per-message state for the application's first message is
// the package's protocol (NTLM: MS-SPNG 3.3.5.1). A context that provides
// no integrity fails with StatusUnsupportedFunction; RFC 4178 section 5
// then sends no mechListMIC. A MIC that does not verify fails with
// StatusMessageAltered and leaves the context as it was.
//
// Each call returns the context's packed context after the MIC
// (ContextData), which replaces the ContextData of the leg that
// established it; nil if the package does not map its contexts.
type MechListMICer interface {
	// MakeMechListMIC returns the mechListMIC over mechList for context h.
	MakeMechListMIC(ctx context.Context, h Handle, mechList []byte) (mic, contextData []byte, err error)
	// VerifyMechListMIC checks the peer's mechListMIC over mechList for
	// context h.
	VerifyMechListMIC(ctx context.Context, h Handle, mechList, mic []byte) (contextData []byte, err error)
	// MechListMICRequired reports whether the package's own exchange
	// makes the mechListMIC mandatory even when it was the initiator's
	// first choice: NTLM's does when the AUTHENTICATE_MESSAGE carried a
	// MIC (MS-SPNG 3.3.5.1; MIT asks gss-ntlmssp the same question).
	MechListMICRequired(ctx context.Context, h Handle) (bool, error)
}

// VerifierMaker is implemented by packages that authenticate against the
// account store. When an account is added or its password changes, the
// LSA asks every enabled VerifierMaker for the verifier it will later
// check (an NT hash, a SCRAM key pair). The store keeps these bytes per
// package and never the password. A package whose verifier only the
// client can make (OPAQUE, see [Registrar]) answers
// StatusUnsupportedFunction, and the LSA goes on without it.
type VerifierMaker interface {
	MakeVerifier(ctx context.Context, user, domain string, password []byte) ([]byte, error)
}

// UserPackage is the user-mode half of a package:
// SECPKG_USER_FUNCTION_TABLE. It runs in the application process and never
// sees a long-term secret: only packed contexts.
type UserPackage interface {
	// InstanceInit is SpInstanceInit, called once per process, right
	// after UserModeInitialize, before the first context is mapped.
	InstanceInit(version uint32, fns UserFunctions) error
	// InitUserModeContext is SpInitUserModeContext: it builds the
	// user-mode context from the ContextData its LSA-mode half returned.
	// h names the context in calls to UserFunctions.CallLSA.
	InitUserModeContext(h UserContextHandle, packed []byte) (UserContext, error)
	// ImportContext is SpImportSecurityContext: it rebuilds a context from
	// the data a UserContext.ExportContext produced in another process.
	ImportContext(h UserContextHandle, packed []byte) (UserContext, error)
}

// UserContext is one mapped context in the application: the per-message
// part of SECPKG_USER_FUNCTION_TABLE. The provider serializes calls on one
// context, so implementations need no lock of their own.
type UserContext interface {
	// MakeSignature is SpMakeSignature: it signs the BufferData buffers
	// of msg and writes the signature into its BufferToken buffer.
	MakeSignature(qop uint32, msg []Buffer, seq uint32) error
	// VerifySignature is SpVerifySignature.
	VerifySignature(msg []Buffer, seq uint32) (qop uint32, err error)
	// SealMessage is SpSealMessage: it encrypts the BufferData buffers in
	// place and writes the trailer into the BufferToken buffer (unless
	// qop is QOPWrapNoEncrypt, which signs only).
	SealMessage(qop uint32, msg []Buffer, seq uint32) error
	// UnsealMessage is SpUnsealMessage.
	UnsealMessage(msg []Buffer, seq uint32) (qop uint32, err error)
	// Sizes answers SpQueryContextAttributes(SECPKG_ATTR_SIZES).
	Sizes() Sizes
	// StreamSizes answers SpQueryContextAttributes(SECPKG_ATTR_STREAM_SIZES).
	StreamSizes() StreamSizes
	// SessionKey answers SpQueryContextAttributes(SECPKG_ATTR_SESSION_KEY).
	SessionKey() ([]byte, error)
	// ExportContext is SpExportSecurityContext: the context's current
	// state, sequence numbers included, for ImportContext.
	ExportContext() ([]byte, error)
	// DeleteUserModeContext is SpDeleteUserModeContext. It should wipe
	// the keys.
	DeleteUserModeContext() error
}

// AuthTokenCompleter is implemented by user-mode contexts of packages that
// return StatusCompleteNeeded (SpCompleteAuthToken). It finishes the token
// buffers in place before the application sends them.
type AuthTokenCompleter interface {
	CompleteAuthToken(msg []Buffer) error
}

// UserFunctions are the helper functions the provider hands to a user-mode
// half (SECPKG_DLL_FUNCTIONS).
type UserFunctions interface {
	// CallLSA sends input to the LSA-mode half of the package for the
	// context h, which must implement [CallPackager], and returns its
	// answer: the callback channel from user mode to LSA mode.
	CallLSA(ctx context.Context, h UserContextHandle, id uint32, input []byte) ([]byte, error)
	// Logger returns the provider's logger (never nil; it may discard).
	Logger() *slog.Logger
}
