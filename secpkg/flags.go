package secpkg

import (
	"fmt"
	"strings"
)

// ISCFlags are the context requirements a client passes to
// InitializeSecurityContext (ISC_REQ_*) and the attributes it gets back
// (ISC_RET_*), with the Windows bit values (sspi.h). Most bits mean the same
// in both directions; where they differ both names are defined.
type ISCFlags uint64

// ISC_REQ_* values.
const (
	ISCReqDelegate             ISCFlags = 0x00000001  // ISC_REQ_DELEGATE
	ISCReqMutualAuth           ISCFlags = 0x00000002  // ISC_REQ_MUTUAL_AUTH
	ISCReqReplayDetect         ISCFlags = 0x00000004  // ISC_REQ_REPLAY_DETECT
	ISCReqSequenceDetect       ISCFlags = 0x00000008  // ISC_REQ_SEQUENCE_DETECT
	ISCReqConfidentiality      ISCFlags = 0x00000010  // ISC_REQ_CONFIDENTIALITY
	ISCReqUseSessionKey        ISCFlags = 0x00000020  // ISC_REQ_USE_SESSION_KEY
	ISCReqPromptForCreds       ISCFlags = 0x00000040  // ISC_REQ_PROMPT_FOR_CREDS
	ISCReqUseSuppliedCreds     ISCFlags = 0x00000080  // ISC_REQ_USE_SUPPLIED_CREDS
	ISCReqAllocateMemory       ISCFlags = 0x00000100  // ISC_REQ_ALLOCATE_MEMORY
	ISCReqUseDCEStyle          ISCFlags = 0x00000200  // ISC_REQ_USE_DCE_STYLE
	ISCReqDatagram             ISCFlags = 0x00000400  // ISC_REQ_DATAGRAM
	ISCReqConnection           ISCFlags = 0x00000800  // ISC_REQ_CONNECTION
	ISCReqCallLevel            ISCFlags = 0x00001000  // ISC_REQ_CALL_LEVEL
	ISCReqFragmentSupplied     ISCFlags = 0x00002000  // ISC_REQ_FRAGMENT_SUPPLIED
	ISCReqExtendedError        ISCFlags = 0x00004000  // ISC_REQ_EXTENDED_ERROR
	ISCReqStream               ISCFlags = 0x00008000  // ISC_REQ_STREAM
	ISCReqIntegrity            ISCFlags = 0x00010000  // ISC_REQ_INTEGRITY
	ISCReqIdentify             ISCFlags = 0x00020000  // ISC_REQ_IDENTIFY
	ISCReqNullSession          ISCFlags = 0x00040000  // ISC_REQ_NULL_SESSION
	ISCReqManualCredValidation ISCFlags = 0x00080000  // ISC_REQ_MANUAL_CRED_VALIDATION
	ISCReqFragmentToFit        ISCFlags = 0x00200000  // ISC_REQ_FRAGMENT_TO_FIT
	ISCReqForwardCredentials   ISCFlags = 0x00400000  // ISC_REQ_FORWARD_CREDENTIALS
	ISCReqNoIntegrity          ISCFlags = 0x00800000  // ISC_REQ_NO_INTEGRITY
	ISCReqUseHTTPStyle         ISCFlags = 0x01000000  // ISC_REQ_USE_HTTP_STYLE
	ISCReqUnverifiedTargetName ISCFlags = 0x20000000  // ISC_REQ_UNVERIFIED_TARGET_NAME
	ISCReqConfidentialityOnly  ISCFlags = 0x40000000  // ISC_REQ_CONFIDENTIALITY_ONLY
	ISCReqMessages             ISCFlags = 0x100000000 // ISC_REQ_MESSAGES
)

// ISC_RET_* values whose names differ from the ISC_REQ_* bit they share.
const (
	ISCRetDelegate                      = ISCReqDelegate             // ISC_RET_DELEGATE
	ISCRetMutualAuth                    = ISCReqMutualAuth           // ISC_RET_MUTUAL_AUTH
	ISCRetReplayDetect                  = ISCReqReplayDetect         // ISC_RET_REPLAY_DETECT
	ISCRetSequenceDetect                = ISCReqSequenceDetect       // ISC_RET_SEQUENCE_DETECT
	ISCRetConfidentiality               = ISCReqConfidentiality      // ISC_RET_CONFIDENTIALITY
	ISCRetUseSessionKey                 = ISCReqUseSessionKey        // ISC_RET_USE_SESSION_KEY
	ISCRetUsedCollectedCreds   ISCFlags = 0x00000040                 // ISC_RET_USED_COLLECTED_CREDS
	ISCRetUsedSuppliedCreds    ISCFlags = 0x00000080                 // ISC_RET_USED_SUPPLIED_CREDS
	ISCRetAllocatedMemory      ISCFlags = 0x00000100                 // ISC_RET_ALLOCATED_MEMORY
	ISCRetUsedDCEStyle         ISCFlags = 0x00000200                 // ISC_RET_USED_DCE_STYLE
	ISCRetDatagram                      = ISCReqDatagram             // ISC_RET_DATAGRAM
	ISCRetConnection                    = ISCReqConnection           // ISC_RET_CONNECTION
	ISCRetIntermediateReturn   ISCFlags = 0x00001000                 // ISC_RET_INTERMEDIATE_RETURN
	ISCRetCallLevel            ISCFlags = 0x00002000                 // ISC_RET_CALL_LEVEL
	ISCRetExtendedError                 = ISCReqExtendedError        // ISC_RET_EXTENDED_ERROR
	ISCRetStream                        = ISCReqStream               // ISC_RET_STREAM
	ISCRetIntegrity                     = ISCReqIntegrity            // ISC_RET_INTEGRITY
	ISCRetIdentify                      = ISCReqIdentify             // ISC_RET_IDENTIFY
	ISCRetNullSession                   = ISCReqNullSession          // ISC_RET_NULL_SESSION
	ISCRetManualCredValidation          = ISCReqManualCredValidation // ISC_RET_MANUAL_CRED_VALIDATION
	ISCRetFragmentOnly         ISCFlags = 0x00200000                 // ISC_RET_FRAGMENT_ONLY
	ISCRetForwardCredentials            = ISCReqForwardCredentials   // ISC_RET_FORWARD_CREDENTIALS
	ISCRetUsedHTTPStyle        ISCFlags = 0x01000000                 // ISC_RET_USED_HTTP_STYLE
	ISCRetNoAdditionalToken    ISCFlags = 0x02000000                 // ISC_RET_NO_ADDITIONAL_TOKEN
	ISCRetReauthentication     ISCFlags = 0x08000000                 // ISC_RET_REAUTHENTICATION
	ISCRetConfidentialityOnly           = ISCReqConfidentialityOnly  // ISC_RET_CONFIDENTIALITY_ONLY
	ISCRetMessages                      = ISCReqMessages             // ISC_RET_MESSAGES
)

var iscNames = []flagName{
	{0x1, "DELEGATE"}, {0x2, "MUTUAL_AUTH"}, {0x4, "REPLAY_DETECT"},
	{0x8, "SEQUENCE_DETECT"}, {0x10, "CONFIDENTIALITY"}, {0x20, "USE_SESSION_KEY"},
	{0x40, "PROMPT_FOR_CREDS"}, {0x80, "USE_SUPPLIED_CREDS"}, {0x100, "ALLOCATE_MEMORY"},
	{0x200, "USE_DCE_STYLE"}, {0x400, "DATAGRAM"}, {0x800, "CONNECTION"},
	{0x1000, "CALL_LEVEL"}, {0x2000, "FRAGMENT_SUPPLIED"}, {0x4000, "EXTENDED_ERROR"},
	{0x8000, "STREAM"}, {0x10000, "INTEGRITY"}, {0x20000, "IDENTIFY"},
	{0x40000, "NULL_SESSION"}, {0x80000, "MANUAL_CRED_VALIDATION"},
	{0x200000, "FRAGMENT_TO_FIT"}, {0x400000, "FORWARD_CREDENTIALS"},
	{0x800000, "NO_INTEGRITY"}, {0x1000000, "USE_HTTP_STYLE"},
	{0x2000000, "NO_ADDITIONAL_TOKEN"}, {0x8000000, "REAUTHENTICATION"},
	{0x20000000, "UNVERIFIED_TARGET_NAME"}, {0x40000000, "CONFIDENTIALITY_ONLY"},
	{0x100000000, "MESSAGES"},
}

// iscRetNames are the ISC_RET_* names (sspi.h), for flags a context
// returned.
var iscRetNames = []flagName{
	{0x1, "DELEGATE"}, {0x2, "MUTUAL_AUTH"}, {0x4, "REPLAY_DETECT"},
	{0x8, "SEQUENCE_DETECT"}, {0x10, "CONFIDENTIALITY"}, {0x20, "USE_SESSION_KEY"},
	{0x40, "USED_COLLECTED_CREDS"}, {0x80, "USED_SUPPLIED_CREDS"}, {0x100, "ALLOCATED_MEMORY"},
	{0x200, "USED_DCE_STYLE"}, {0x400, "DATAGRAM"}, {0x800, "CONNECTION"},
	{0x1000, "INTERMEDIATE_RETURN"}, {0x2000, "CALL_LEVEL"}, {0x4000, "EXTENDED_ERROR"},
	{0x8000, "STREAM"}, {0x10000, "INTEGRITY"}, {0x20000, "IDENTIFY"},
	{0x40000, "NULL_SESSION"}, {0x80000, "MANUAL_CRED_VALIDATION"},
	{0x200000, "FRAGMENT_ONLY"}, {0x400000, "FORWARD_CREDENTIALS"},
	{0x1000000, "USED_HTTP_STYLE"}, {0x2000000, "NO_ADDITIONAL_TOKEN"},
	{0x8000000, "REAUTHENTICATION"}, {0x40000000, "CONFIDENTIALITY_ONLY"},
	{0x100000000, "MESSAGES"},
}

// String lists the set bits with their ISC_REQ_ names, joined by "|":
// flags as a client asks for them. Flags a context returned
// ([ISCFlags.RetString]) have ISC_RET_ names.
func (f ISCFlags) String() string { return flagString(uint64(f), "ISC_REQ_", iscNames) }

// RetString lists the set bits with their ISC_RET_ names, joined by "|":
// flags as InitializeSecurityContext returns them (pfContextAttr).
func (f ISCFlags) RetString() string { return flagString(uint64(f), "ISC_RET_", iscRetNames) }

// ASCFlags are the context requirements a server passes to
// AcceptSecurityContext (ASC_REQ_*) and the attributes it gets back
// (ASC_RET_*), with the Windows bit values (sspi.h). Above 0x20 the bits
// differ from [ISCFlags].
type ASCFlags uint64

// ASC_REQ_* values.
const (
	ASCReqDelegate             ASCFlags = 0x00000001  // ASC_REQ_DELEGATE
	ASCReqMutualAuth           ASCFlags = 0x00000002  // ASC_REQ_MUTUAL_AUTH
	ASCReqReplayDetect         ASCFlags = 0x00000004  // ASC_REQ_REPLAY_DETECT
	ASCReqSequenceDetect       ASCFlags = 0x00000008  // ASC_REQ_SEQUENCE_DETECT
	ASCReqConfidentiality      ASCFlags = 0x00000010  // ASC_REQ_CONFIDENTIALITY
	ASCReqUseSessionKey        ASCFlags = 0x00000020  // ASC_REQ_USE_SESSION_KEY
	ASCReqSessionTicket        ASCFlags = 0x00000040  // ASC_REQ_SESSION_TICKET
	ASCReqAllocateMemory       ASCFlags = 0x00000100  // ASC_REQ_ALLOCATE_MEMORY
	ASCReqUseDCEStyle          ASCFlags = 0x00000200  // ASC_REQ_USE_DCE_STYLE
	ASCReqDatagram             ASCFlags = 0x00000400  // ASC_REQ_DATAGRAM
	ASCReqConnection           ASCFlags = 0x00000800  // ASC_REQ_CONNECTION
	ASCReqCallLevel            ASCFlags = 0x00001000  // ASC_REQ_CALL_LEVEL
	ASCReqFragmentSupplied     ASCFlags = 0x00002000  // ASC_REQ_FRAGMENT_SUPPLIED
	ASCReqExtendedError        ASCFlags = 0x00008000  // ASC_REQ_EXTENDED_ERROR
	ASCReqStream               ASCFlags = 0x00010000  // ASC_REQ_STREAM
	ASCReqIntegrity            ASCFlags = 0x00020000  // ASC_REQ_INTEGRITY
	ASCReqLicensing            ASCFlags = 0x00040000  // ASC_REQ_LICENSING
	ASCReqIdentify             ASCFlags = 0x00080000  // ASC_REQ_IDENTIFY
	ASCReqAllowNullSession     ASCFlags = 0x00100000  // ASC_REQ_ALLOW_NULL_SESSION
	ASCReqAllowNonUserLogons   ASCFlags = 0x00200000  // ASC_REQ_ALLOW_NON_USER_LOGONS
	ASCReqAllowContextReplay   ASCFlags = 0x00400000  // ASC_REQ_ALLOW_CONTEXT_REPLAY
	ASCReqFragmentToFit        ASCFlags = 0x00800000  // ASC_REQ_FRAGMENT_TO_FIT
	ASCReqNoToken              ASCFlags = 0x01000000  // ASC_REQ_NO_TOKEN
	ASCReqProxyBindings        ASCFlags = 0x04000000  // ASC_REQ_PROXY_BINDINGS
	ASCReqAllowMissingBindings ASCFlags = 0x10000000  // ASC_REQ_ALLOW_MISSING_BINDINGS
	ASCReqMessages             ASCFlags = 0x100000000 // ASC_REQ_MESSAGES
)

// ASC_RET_* values whose names differ from the ASC_REQ_* bit they share.
const (
	ASCRetDelegate                    = ASCReqDelegate           // ASC_RET_DELEGATE
	ASCRetMutualAuth                  = ASCReqMutualAuth         // ASC_RET_MUTUAL_AUTH
	ASCRetReplayDetect                = ASCReqReplayDetect       // ASC_RET_REPLAY_DETECT
	ASCRetSequenceDetect              = ASCReqSequenceDetect     // ASC_RET_SEQUENCE_DETECT
	ASCRetConfidentiality             = ASCReqConfidentiality    // ASC_RET_CONFIDENTIALITY
	ASCRetUseSessionKey               = ASCReqUseSessionKey      // ASC_RET_USE_SESSION_KEY
	ASCRetSessionTicket               = ASCReqSessionTicket      // ASC_RET_SESSION_TICKET
	ASCRetAllocatedMemory    ASCFlags = 0x00000100               // ASC_RET_ALLOCATED_MEMORY
	ASCRetUsedDCEStyle       ASCFlags = 0x00000200               // ASC_RET_USED_DCE_STYLE
	ASCRetDatagram                    = ASCReqDatagram           // ASC_RET_DATAGRAM
	ASCRetConnection                  = ASCReqConnection         // ASC_RET_CONNECTION
	ASCRetCallLevel          ASCFlags = 0x00002000               // ASC_RET_CALL_LEVEL
	ASCRetThirdLegFailed     ASCFlags = 0x00004000               // ASC_RET_THIRD_LEG_FAILED
	ASCRetExtendedError               = ASCReqExtendedError      // ASC_RET_EXTENDED_ERROR
	ASCRetStream                      = ASCReqStream             // ASC_RET_STREAM
	ASCRetIntegrity                   = ASCReqIntegrity          // ASC_RET_INTEGRITY
	ASCRetLicensing                   = ASCReqLicensing          // ASC_RET_LICENSING
	ASCRetIdentify                    = ASCReqIdentify           // ASC_RET_IDENTIFY
	ASCRetNullSession        ASCFlags = 0x00100000               // ASC_RET_NULL_SESSION
	ASCRetAllowNonUserLogons          = ASCReqAllowNonUserLogons // ASC_RET_ALLOW_NON_USER_LOGONS
	ASCRetFragmentOnly       ASCFlags = 0x00800000               // ASC_RET_FRAGMENT_ONLY
	ASCRetNoToken                     = ASCReqNoToken            // ASC_RET_NO_TOKEN
	ASCRetNoAdditionalToken  ASCFlags = 0x02000000               // ASC_RET_NO_ADDITIONAL_TOKEN
	ASCRetMessages                    = ASCReqMessages           // ASC_RET_MESSAGES
)

var ascNames = []flagName{
	{0x1, "DELEGATE"}, {0x2, "MUTUAL_AUTH"}, {0x4, "REPLAY_DETECT"},
	{0x8, "SEQUENCE_DETECT"}, {0x10, "CONFIDENTIALITY"}, {0x20, "USE_SESSION_KEY"},
	{0x40, "SESSION_TICKET"}, {0x100, "ALLOCATE_MEMORY"}, {0x200, "USE_DCE_STYLE"},
	{0x400, "DATAGRAM"}, {0x800, "CONNECTION"}, {0x1000, "CALL_LEVEL"},
	{0x2000, "FRAGMENT_SUPPLIED"}, {0x4000, "THIRD_LEG_FAILED"}, {0x8000, "EXTENDED_ERROR"},
	{0x10000, "STREAM"}, {0x20000, "INTEGRITY"}, {0x40000, "LICENSING"},
	{0x80000, "IDENTIFY"}, {0x100000, "ALLOW_NULL_SESSION"},
	{0x200000, "ALLOW_NON_USER_LOGONS"}, {0x400000, "ALLOW_CONTEXT_REPLAY"},
	{0x800000, "FRAGMENT_TO_FIT"}, {0x1000000, "NO_TOKEN"},
	{0x2000000, "NO_ADDITIONAL_TOKEN"}, {0x4000000, "PROXY_BINDINGS"},
	{0x10000000, "ALLOW_MISSING_BINDINGS"}, {0x100000000, "MESSAGES"},
}

// ascRetNames are the ASC_RET_* names (sspi.h), for flags a context
// returned.
var ascRetNames = []flagName{
	{0x1, "DELEGATE"}, {0x2, "MUTUAL_AUTH"}, {0x4, "REPLAY_DETECT"},
	{0x8, "SEQUENCE_DETECT"}, {0x10, "CONFIDENTIALITY"}, {0x20, "USE_SESSION_KEY"},
	{0x40, "SESSION_TICKET"}, {0x100, "ALLOCATED_MEMORY"}, {0x200, "USED_DCE_STYLE"},
	{0x400, "DATAGRAM"}, {0x800, "CONNECTION"}, {0x2000, "CALL_LEVEL"},
	{0x4000, "THIRD_LEG_FAILED"}, {0x8000, "EXTENDED_ERROR"}, {0x10000, "STREAM"},
	{0x20000, "INTEGRITY"}, {0x40000, "LICENSING"}, {0x80000, "IDENTIFY"},
	{0x100000, "NULL_SESSION"}, {0x200000, "ALLOW_NON_USER_LOGONS"},
	{0x800000, "FRAGMENT_ONLY"}, {0x1000000, "NO_TOKEN"},
	{0x2000000, "NO_ADDITIONAL_TOKEN"}, {0x100000000, "MESSAGES"},
}

// String lists the set bits with their ASC_REQ_ names, joined by "|":
// flags as a server asks for them. Flags a context returned
// ([ASCFlags.RetString]) have ASC_RET_ names.
func (f ASCFlags) String() string { return flagString(uint64(f), "ASC_REQ_", ascNames) }

// RetString lists the set bits with their ASC_RET_ names, joined by "|":
// flags as AcceptSecurityContext returns them (pfContextAttr).
func (f ASCFlags) RetString() string { return flagString(uint64(f), "ASC_RET_", ascRetNames) }

// ContextFlags is the meaning shared by both sides' flags: the services a
// context was asked for or provides, independent of the ISC/ASC bit layout.
// Packages use it to treat both directions alike; [ISCFlags.Context],
// [ASCFlags.Context] and the From* functions convert.
type ContextFlags uint32

// ContextFlags values.
const (
	FlagDelegate ContextFlags = 1 << iota
	FlagMutualAuth
	FlagReplayDetect
	FlagSequenceDetect
	FlagConfidentiality
	FlagIntegrity
	FlagIdentify
	FlagNullSession
	FlagDatagram
	FlagConnection
	FlagStream
	FlagExtendedError
	FlagUseDCEStyle
	FlagAllowMissingBindings
)

type flagMap struct {
	ctx ContextFlags
	isc ISCFlags
	asc ASCFlags
}

var flagMaps = []flagMap{
	{FlagDelegate, ISCReqDelegate, ASCReqDelegate},
	{FlagMutualAuth, ISCReqMutualAuth, ASCReqMutualAuth},
	{FlagReplayDetect, ISCReqReplayDetect, ASCReqReplayDetect},
	{FlagSequenceDetect, ISCReqSequenceDetect, ASCReqSequenceDetect},
	{FlagConfidentiality, ISCReqConfidentiality, ASCReqConfidentiality},
	{FlagIntegrity, ISCReqIntegrity, ASCReqIntegrity},
	{FlagIdentify, ISCReqIdentify, ASCReqIdentify},
	{FlagNullSession, ISCReqNullSession, ASCRetNullSession},
	{FlagDatagram, ISCReqDatagram, ASCReqDatagram},
	{FlagConnection, ISCReqConnection, ASCReqConnection},
	{FlagStream, ISCReqStream, ASCReqStream},
	{FlagExtendedError, ISCReqExtendedError, ASCReqExtendedError},
	{FlagUseDCEStyle, ISCReqUseDCEStyle, ASCReqUseDCEStyle},
	{FlagAllowMissingBindings, 0, ASCReqAllowMissingBindings},
}

var contextNames = []flagName{
	{uint64(FlagDelegate), "DELEGATE"}, {uint64(FlagMutualAuth), "MUTUAL_AUTH"},
	{uint64(FlagReplayDetect), "REPLAY_DETECT"}, {uint64(FlagSequenceDetect), "SEQUENCE_DETECT"},
	{uint64(FlagConfidentiality), "CONFIDENTIALITY"}, {uint64(FlagIntegrity), "INTEGRITY"},
	{uint64(FlagIdentify), "IDENTIFY"}, {uint64(FlagNullSession), "NULL_SESSION"},
	{uint64(FlagDatagram), "DATAGRAM"}, {uint64(FlagConnection), "CONNECTION"},
	{uint64(FlagStream), "STREAM"}, {uint64(FlagExtendedError), "EXTENDED_ERROR"},
	{uint64(FlagUseDCEStyle), "USE_DCE_STYLE"}, {uint64(FlagAllowMissingBindings), "ALLOW_MISSING_BINDINGS"},
}

// String lists the set flags, joined by "|".
func (f ContextFlags) String() string { return flagString(uint64(f), "", contextNames) }

// Context returns the shared meaning of the ISC bits in f.
func (f ISCFlags) Context() ContextFlags {
	var c ContextFlags
	for _, m := range flagMaps {
		if m.isc != 0 && f&m.isc != 0 {
			c |= m.ctx
		}
	}
	return c
}

// Context returns the shared meaning of the ASC bits in f.
func (f ASCFlags) Context() ContextFlags {
	var c ContextFlags
	for _, m := range flagMaps {
		if f&m.asc != 0 {
			c |= m.ctx
		}
	}
	return c
}

// ISC returns the ISC_RET_* bits for f.
func (f ContextFlags) ISC() ISCFlags {
	var r ISCFlags
	for _, m := range flagMaps {
		if f&m.ctx != 0 {
			r |= m.isc
		}
	}
	return r
}

// ASC returns the ASC_RET_* bits for f.
func (f ContextFlags) ASC() ASCFlags {
	var r ASCFlags
	for _, m := range flagMaps {
		if f&m.ctx != 0 {
			r |= m.asc
		}
	}
	return r
}

// CredentialUse says what a credentials handle is for (SECPKG_CRED_*).
type CredentialUse uint32

// SECPKG_CRED_* values.
const (
	CredentialInbound  CredentialUse = 0x1 // SECPKG_CRED_INBOUND: accept contexts
	CredentialOutbound CredentialUse = 0x2 // SECPKG_CRED_OUTBOUND: initiate contexts
	CredentialBoth     CredentialUse = 0x3 // SECPKG_CRED_BOTH
	CredentialDefault  CredentialUse = 0x4 // SECPKG_CRED_DEFAULT
)

// String returns the SECPKG_CRED_ name.
func (u CredentialUse) String() string {
	return flagString(uint64(u), "SECPKG_CRED_", []flagName{{1, "INBOUND"}, {2, "OUTBOUND"}, {4, "DEFAULT"}})
}

// Capabilities is SecPkgInfo.fCapabilities: what a package supports
// (SECPKG_FLAG_*).
type Capabilities uint32

// SECPKG_FLAG_* values.
const (
	CapIntegrity                  Capabilities = 0x1       // SECPKG_FLAG_INTEGRITY: MakeSignature/VerifySignature
	CapPrivacy                    Capabilities = 0x2       // SECPKG_FLAG_PRIVACY: EncryptMessage/DecryptMessage
	CapTokenOnly                  Capabilities = 0x4       // SECPKG_FLAG_TOKEN_ONLY
	CapDatagram                   Capabilities = 0x8       // SECPKG_FLAG_DATAGRAM
	CapConnection                 Capabilities = 0x10      // SECPKG_FLAG_CONNECTION
	CapMultiRequired              Capabilities = 0x20      // SECPKG_FLAG_MULTI_REQUIRED
	CapClientOnly                 Capabilities = 0x40      // SECPKG_FLAG_CLIENT_ONLY
	CapExtendedError              Capabilities = 0x80      // SECPKG_FLAG_EXTENDED_ERROR
	CapImpersonation              Capabilities = 0x100     // SECPKG_FLAG_IMPERSONATION
	CapAcceptWin32Name            Capabilities = 0x200     // SECPKG_FLAG_ACCEPT_WIN32_NAME
	CapStream                     Capabilities = 0x400     // SECPKG_FLAG_STREAM
	CapNegotiable                 Capabilities = 0x800     // SECPKG_FLAG_NEGOTIABLE
	CapGSSCompatible              Capabilities = 0x1000    // SECPKG_FLAG_GSS_COMPATIBLE
	CapLogon                      Capabilities = 0x2000    // SECPKG_FLAG_LOGON
	CapASCIIBuffers               Capabilities = 0x4000    // SECPKG_FLAG_ASCII_BUFFERS
	CapFragment                   Capabilities = 0x8000    // SECPKG_FLAG_FRAGMENT
	CapMutualAuth                 Capabilities = 0x10000   // SECPKG_FLAG_MUTUAL_AUTH
	CapDelegation                 Capabilities = 0x20000   // SECPKG_FLAG_DELEGATION
	CapReadOnlyWithChecksum       Capabilities = 0x40000   // SECPKG_FLAG_READONLY_WITH_CHECKSUM
	CapRestrictedTokens           Capabilities = 0x80000   // SECPKG_FLAG_RESTRICTED_TOKENS
	CapNegoExtender               Capabilities = 0x100000  // SECPKG_FLAG_NEGO_EXTENDER
	CapNegotiable2                Capabilities = 0x200000  // SECPKG_FLAG_NEGOTIABLE2
	CapAppContainerPassthrough    Capabilities = 0x400000  // SECPKG_FLAG_APPCONTAINER_PASSTHROUGH
	CapAppContainerChecks         Capabilities = 0x800000  // SECPKG_FLAG_APPCONTAINER_CHECKS
	CapCredentialIsolationEnabled Capabilities = 0x1000000 // SECPKG_FLAG_CREDENTIAL_ISOLATION_ENABLED
	CapApplyLoopback              Capabilities = 0x2000000 // SECPKG_FLAG_APPLY_LOOPBACK
)

var capNames = []flagName{
	{0x1, "INTEGRITY"}, {0x2, "PRIVACY"}, {0x4, "TOKEN_ONLY"}, {0x8, "DATAGRAM"},
	{0x10, "CONNECTION"}, {0x20, "MULTI_REQUIRED"}, {0x40, "CLIENT_ONLY"},
	{0x80, "EXTENDED_ERROR"}, {0x100, "IMPERSONATION"}, {0x200, "ACCEPT_WIN32_NAME"},
	{0x400, "STREAM"}, {0x800, "NEGOTIABLE"}, {0x1000, "GSS_COMPATIBLE"},
	{0x2000, "LOGON"}, {0x4000, "ASCII_BUFFERS"}, {0x8000, "FRAGMENT"},
	{0x10000, "MUTUAL_AUTH"}, {0x20000, "DELEGATION"}, {0x40000, "READONLY_WITH_CHECKSUM"},
	{0x80000, "RESTRICTED_TOKENS"}, {0x100000, "NEGO_EXTENDER"}, {0x200000, "NEGOTIABLE2"},
	{0x400000, "APPCONTAINER_PASSTHROUGH"}, {0x800000, "APPCONTAINER_CHECKS"},
	{0x1000000, "CREDENTIAL_ISOLATION_ENABLED"}, {0x2000000, "APPLY_LOOPBACK"},
}

// String lists the set bits with their SECPKG_FLAG_ names, joined by "|".
func (c Capabilities) String() string { return flagString(uint64(c), "SECPKG_FLAG_", capNames) }

// Quality-of-protection values for EncryptMessage and DecryptMessage
// (the fQOP argument and result).
const (
	QOPWrapNoEncrypt uint32 = 0x80000001 // SECQOP_WRAP_NO_ENCRYPT: sign only, data stays in clear
	QOPWrapOOBData   uint32 = 0x40000000 // SECQOP_WRAP_OOB_DATA
)

// Data representations for the TargetDataRep argument.
const (
	NativeDataRep  uint32 = 0x10 // SECURITY_NATIVE_DREP
	NetworkDataRep uint32 = 0x00 // SECURITY_NETWORK_DREP
)

// RPC authentication service identifiers for SecPkgInfo.wRPCID
// (RPC_C_AUTHN_*).
const (
	RPCAuthnNone         uint16 = 0      // RPC_C_AUTHN_NONE
	RPCAuthnGSSNegotiate uint16 = 9      // RPC_C_AUTHN_GSS_NEGOTIATE
	RPCAuthnWinNT        uint16 = 10     // RPC_C_AUTHN_WINNT (NTLM)
	RPCAuthnGSSSchannel  uint16 = 14     // RPC_C_AUTHN_GSS_SCHANNEL
	RPCAuthnGSSKerberos  uint16 = 16     // RPC_C_AUTHN_GSS_KERBEROS
	RPCAuthnDigest       uint16 = 21     // RPC_C_AUTHN_DIGEST
	RPCAuthnNegoExtender uint16 = 30     // RPC_C_AUTHN_NEGO_EXTENDER
	PackageIDNone        uint16 = 0xFFFF // SECPKG_ID_NONE
)

type flagName struct {
	bit  uint64
	name string
}

func flagString(v uint64, prefix string, names []flagName) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for _, n := range names {
		if v&n.bit != 0 {
			parts = append(parts, prefix+n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", v))
	}
	return strings.Join(parts, "|")
}
