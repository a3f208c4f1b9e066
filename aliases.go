// The SSPI types and constants, shared with package secpkg (aliases_test.go
// checks that every secpkg constant is here).

package sspi

import "github.com/opensspi/sspi/secpkg"

// Types shared with the security packages. They are defined in package
// secpkg, which packages implement against, and are the same types here.
type (
	// Status is a SECURITY_STATUS (SEC_E_* and SEC_I_* codes).
	Status = secpkg.Status
	// Error is a failed call: a SEC_E_* Status with detail.
	Error = secpkg.Error
	// ISCFlags are ISC_REQ_* and ISC_RET_* flags (InitializeSecurityContext).
	ISCFlags = secpkg.ISCFlags
	// ASCFlags are ASC_REQ_* and ASC_RET_* flags (AcceptSecurityContext).
	ASCFlags = secpkg.ASCFlags
	// CredentialUse is SECPKG_CRED_* (AcquireCredentialsHandle fCredentialUse).
	CredentialUse = secpkg.CredentialUse
	// Capabilities are SECPKG_FLAG_* (SecPkgInfo.fCapabilities).
	Capabilities = secpkg.Capabilities
	// Buffer is a SecBuffer; a message is a []Buffer (SecBufferDesc).
	Buffer = secpkg.Buffer
	// BufferType is SecBuffer.BufferType (SECBUFFER_*).
	BufferType = secpkg.BufferType
	// PackageInfo is SecPkgInfo.
	PackageInfo = secpkg.PackageInfo
	// Sizes is SecPkgContext_Sizes (SECPKG_ATTR_SIZES).
	Sizes = secpkg.Sizes
	// StreamSizes is SecPkgContext_StreamSizes (SECPKG_ATTR_STREAM_SIZES).
	StreamSizes = secpkg.StreamSizes
	// NegotiationState is SecPkgContext_NegotiationInfo.NegotiationState.
	NegotiationState = secpkg.NegotiationState
	// Identity is the authenticated client of a server context.
	Identity = secpkg.Identity
	// AuthIdentity is SEC_WINNT_AUTH_IDENTITY: explicit credentials.
	AuthIdentity = secpkg.AuthIdentity
	// PackedCredentials is SEC_WINNT_AUTH_PACKED_CREDENTIALS: a
	// credential other than a password in an AuthIdentity (a Kerberos
	// keytab or credentials cache, or the path of one).
	PackedCredentials = secpkg.PackedCredentials
	// PACInfo is what a Kerberos ticket's PAC said of the client
	// (Identity.PAC).
	PACInfo = secpkg.PACInfo
	// ChannelBindings is SEC_CHANNEL_BINDINGS.
	ChannelBindings = secpkg.ChannelBindings
	// ChannelBindingResult is SEC_CHANNEL_BINDINGS_RESULT_*.
	ChannelBindingResult = secpkg.ChannelBindingResult
	// LogonID is a LUID naming a logon session.
	LogonID = secpkg.LogonID
)

// StatusOf returns the SEC_E_* code an error carries (StatusOK for nil,
// StatusInternalError for an error without a code).
func StatusOf(err error) Status { return secpkg.StatusOf(err) }

// Constants from package secpkg, status.go.
const (
	StatusOK                          = secpkg.StatusOK                          // SEC_E_OK
	StatusContinueNeeded              = secpkg.StatusContinueNeeded              // SEC_I_CONTINUE_NEEDED
	StatusCompleteNeeded              = secpkg.StatusCompleteNeeded              // SEC_I_COMPLETE_NEEDED
	StatusCompleteAndContinue         = secpkg.StatusCompleteAndContinue         // SEC_I_COMPLETE_AND_CONTINUE
	StatusLocalLogon                  = secpkg.StatusLocalLogon                  // SEC_I_LOCAL_LOGON
	StatusContextExpiredInfo          = secpkg.StatusContextExpiredInfo          // SEC_I_CONTEXT_EXPIRED
	StatusIncompleteCredentials       = secpkg.StatusIncompleteCredentials       // SEC_I_INCOMPLETE_CREDENTIALS
	StatusRenegotiate                 = secpkg.StatusRenegotiate                 // SEC_I_RENEGOTIATE
	StatusNoLSAContext                = secpkg.StatusNoLSAContext                // SEC_I_NO_LSA_CONTEXT
	StatusSignatureNeeded             = secpkg.StatusSignatureNeeded             // SEC_I_SIGNATURE_NEEDED
	StatusNoRenegotiation             = secpkg.StatusNoRenegotiation             // SEC_I_NO_RENEGOTIATION
	StatusMessageFragment             = secpkg.StatusMessageFragment             // SEC_I_MESSAGE_FRAGMENT
	StatusInsufficientMemory          = secpkg.StatusInsufficientMemory          // SEC_E_INSUFFICIENT_MEMORY
	StatusInvalidHandle               = secpkg.StatusInvalidHandle               // SEC_E_INVALID_HANDLE
	StatusUnsupportedFunction         = secpkg.StatusUnsupportedFunction         // SEC_E_UNSUPPORTED_FUNCTION
	StatusTargetUnknown               = secpkg.StatusTargetUnknown               // SEC_E_TARGET_UNKNOWN
	StatusInternalError               = secpkg.StatusInternalError               // SEC_E_INTERNAL_ERROR
	StatusPackageNotFound             = secpkg.StatusPackageNotFound             // SEC_E_SECPKG_NOT_FOUND
	StatusNotOwner                    = secpkg.StatusNotOwner                    // SEC_E_NOT_OWNER
	StatusCannotInstall               = secpkg.StatusCannotInstall               // SEC_E_CANNOT_INSTALL
	StatusInvalidToken                = secpkg.StatusInvalidToken                // SEC_E_INVALID_TOKEN
	StatusCannotPack                  = secpkg.StatusCannotPack                  // SEC_E_CANNOT_PACK
	StatusQOPNotSupported             = secpkg.StatusQOPNotSupported             // SEC_E_QOP_NOT_SUPPORTED
	StatusNoImpersonation             = secpkg.StatusNoImpersonation             // SEC_E_NO_IMPERSONATION
	StatusLogonDenied                 = secpkg.StatusLogonDenied                 // SEC_E_LOGON_DENIED
	StatusUnknownCredentials          = secpkg.StatusUnknownCredentials          // SEC_E_UNKNOWN_CREDENTIALS
	StatusNoCredentials               = secpkg.StatusNoCredentials               // SEC_E_NO_CREDENTIALS
	StatusMessageAltered              = secpkg.StatusMessageAltered              // SEC_E_MESSAGE_ALTERED
	StatusOutOfSequence               = secpkg.StatusOutOfSequence               // SEC_E_OUT_OF_SEQUENCE
	StatusNoAuthenticatingAuthority   = secpkg.StatusNoAuthenticatingAuthority   // SEC_E_NO_AUTHENTICATING_AUTHORITY
	StatusBadPackageID                = secpkg.StatusBadPackageID                // SEC_E_BAD_PKGID
	StatusContextExpired              = secpkg.StatusContextExpired              // SEC_E_CONTEXT_EXPIRED
	StatusIncompleteMessage           = secpkg.StatusIncompleteMessage           // SEC_E_INCOMPLETE_MESSAGE
	StatusIncompleteCredentialsError  = secpkg.StatusIncompleteCredentialsError  // SEC_E_INCOMPLETE_CREDENTIALS
	StatusBufferTooSmall              = secpkg.StatusBufferTooSmall              // SEC_E_BUFFER_TOO_SMALL
	StatusWrongPrincipal              = secpkg.StatusWrongPrincipal              // SEC_E_WRONG_PRINCIPAL
	StatusTimeSkew                    = secpkg.StatusTimeSkew                    // SEC_E_TIME_SKEW
	StatusUntrustedRoot               = secpkg.StatusUntrustedRoot               // SEC_E_UNTRUSTED_ROOT
	StatusIllegalMessage              = secpkg.StatusIllegalMessage              // SEC_E_ILLEGAL_MESSAGE
	StatusCertUnknown                 = secpkg.StatusCertUnknown                 // SEC_E_CERT_UNKNOWN
	StatusCertExpired                 = secpkg.StatusCertExpired                 // SEC_E_CERT_EXPIRED
	StatusEncryptFailure              = secpkg.StatusEncryptFailure              // SEC_E_ENCRYPT_FAILURE
	StatusDecryptFailure              = secpkg.StatusDecryptFailure              // SEC_E_DECRYPT_FAILURE
	StatusAlgorithmMismatch           = secpkg.StatusAlgorithmMismatch           // SEC_E_ALGORITHM_MISMATCH
	StatusSecurityQOSFailed           = secpkg.StatusSecurityQOSFailed           // SEC_E_SECURITY_QOS_FAILED
	StatusUnfinishedContextDeleted    = secpkg.StatusUnfinishedContextDeleted    // SEC_E_UNFINISHED_CONTEXT_DELETED
	StatusNoTGTReply                  = secpkg.StatusNoTGTReply                  // SEC_E_NO_TGT_REPLY
	StatusWrongCredentialHandle       = secpkg.StatusWrongCredentialHandle       // SEC_E_WRONG_CREDENTIAL_HANDLE
	StatusCryptoSystemInvalid         = secpkg.StatusCryptoSystemInvalid         // SEC_E_CRYPTO_SYSTEM_INVALID
	StatusStrongCryptoNotSupported    = secpkg.StatusStrongCryptoNotSupported    // SEC_E_STRONG_CRYPTO_NOT_SUPPORTED
	StatusShutdownInProgress          = secpkg.StatusShutdownInProgress          // SEC_E_SHUTDOWN_IN_PROGRESS
	StatusDelegationRequired          = secpkg.StatusDelegationRequired          // SEC_E_DELEGATION_REQUIRED
	StatusBadBindings                 = secpkg.StatusBadBindings                 // SEC_E_BAD_BINDINGS
	StatusMultipleAccounts            = secpkg.StatusMultipleAccounts            // SEC_E_MULTIPLE_ACCOUNTS
	StatusDowngradeDetected           = secpkg.StatusDowngradeDetected           // SEC_E_DOWNGRADE_DETECTED
	StatusInvalidParameter            = secpkg.StatusInvalidParameter            // SEC_E_INVALID_PARAMETER
	StatusDelegationPolicy            = secpkg.StatusDelegationPolicy            // SEC_E_DELEGATION_POLICY
	StatusPolicyNTLMOnly              = secpkg.StatusPolicyNTLMOnly              // SEC_E_POLICY_NLTM_ONLY
	StatusNoContext                   = secpkg.StatusNoContext                   // SEC_E_NO_CONTEXT
	StatusMutualAuthFailed            = secpkg.StatusMutualAuthFailed            // SEC_E_MUTUAL_AUTH_FAILED
	StatusOnlyHTTPSAllowed            = secpkg.StatusOnlyHTTPSAllowed            // SEC_E_ONLY_HTTPS_ALLOWED
	StatusApplicationProtocolMismatch = secpkg.StatusApplicationProtocolMismatch // SEC_E_APPLICATION_PROTOCOL_MISMATCH
	StatusInvalidUPNName              = secpkg.StatusInvalidUPNName              // SEC_E_INVALID_UPN_NAME
	StatusExtBufferTooSmall           = secpkg.StatusExtBufferTooSmall           // SEC_E_EXT_BUFFER_TOO_SMALL
	StatusInsufficientBuffers         = secpkg.StatusInsufficientBuffers         // SEC_E_INSUFFICIENT_BUFFERS
)

// Constants from package secpkg, flags.go.
const (
	ISCReqDelegate                = secpkg.ISCReqDelegate                // ISC_REQ_DELEGATE
	ISCReqMutualAuth              = secpkg.ISCReqMutualAuth              // ISC_REQ_MUTUAL_AUTH
	ISCReqReplayDetect            = secpkg.ISCReqReplayDetect            // ISC_REQ_REPLAY_DETECT
	ISCReqSequenceDetect          = secpkg.ISCReqSequenceDetect          // ISC_REQ_SEQUENCE_DETECT
	ISCReqConfidentiality         = secpkg.ISCReqConfidentiality         // ISC_REQ_CONFIDENTIALITY
	ISCReqUseSessionKey           = secpkg.ISCReqUseSessionKey           // ISC_REQ_USE_SESSION_KEY
	ISCReqPromptForCreds          = secpkg.ISCReqPromptForCreds          // ISC_REQ_PROMPT_FOR_CREDS
	ISCReqUseSuppliedCreds        = secpkg.ISCReqUseSuppliedCreds        // ISC_REQ_USE_SUPPLIED_CREDS
	ISCReqAllocateMemory          = secpkg.ISCReqAllocateMemory          // ISC_REQ_ALLOCATE_MEMORY
	ISCReqUseDCEStyle             = secpkg.ISCReqUseDCEStyle             // ISC_REQ_USE_DCE_STYLE
	ISCReqDatagram                = secpkg.ISCReqDatagram                // ISC_REQ_DATAGRAM
	ISCReqConnection              = secpkg.ISCReqConnection              // ISC_REQ_CONNECTION
	ISCReqCallLevel               = secpkg.ISCReqCallLevel               // ISC_REQ_CALL_LEVEL
	ISCReqFragmentSupplied        = secpkg.ISCReqFragmentSupplied        // ISC_REQ_FRAGMENT_SUPPLIED
	ISCReqExtendedError           = secpkg.ISCReqExtendedError           // ISC_REQ_EXTENDED_ERROR
	ISCReqStream                  = secpkg.ISCReqStream                  // ISC_REQ_STREAM
	ISCReqIntegrity               = secpkg.ISCReqIntegrity               // ISC_REQ_INTEGRITY
	ISCReqIdentify                = secpkg.ISCReqIdentify                // ISC_REQ_IDENTIFY
	ISCReqNullSession             = secpkg.ISCReqNullSession             // ISC_REQ_NULL_SESSION
	ISCReqManualCredValidation    = secpkg.ISCReqManualCredValidation    // ISC_REQ_MANUAL_CRED_VALIDATION
	ISCReqFragmentToFit           = secpkg.ISCReqFragmentToFit           // ISC_REQ_FRAGMENT_TO_FIT
	ISCReqForwardCredentials      = secpkg.ISCReqForwardCredentials      // ISC_REQ_FORWARD_CREDENTIALS
	ISCReqNoIntegrity             = secpkg.ISCReqNoIntegrity             // ISC_REQ_NO_INTEGRITY
	ISCReqUseHTTPStyle            = secpkg.ISCReqUseHTTPStyle            // ISC_REQ_USE_HTTP_STYLE
	ISCReqUnverifiedTargetName    = secpkg.ISCReqUnverifiedTargetName    // ISC_REQ_UNVERIFIED_TARGET_NAME
	ISCReqConfidentialityOnly     = secpkg.ISCReqConfidentialityOnly     // ISC_REQ_CONFIDENTIALITY_ONLY
	ISCReqMessages                = secpkg.ISCReqMessages                // ISC_REQ_MESSAGES
	ISCRetDelegate                = secpkg.ISCRetDelegate                // ISC_RET_DELEGATE
	ISCRetMutualAuth              = secpkg.ISCRetMutualAuth              // ISC_RET_MUTUAL_AUTH
	ISCRetReplayDetect            = secpkg.ISCRetReplayDetect            // ISC_RET_REPLAY_DETECT
	ISCRetSequenceDetect          = secpkg.ISCRetSequenceDetect          // ISC_RET_SEQUENCE_DETECT
	ISCRetConfidentiality         = secpkg.ISCRetConfidentiality         // ISC_RET_CONFIDENTIALITY
	ISCRetUseSessionKey           = secpkg.ISCRetUseSessionKey           // ISC_RET_USE_SESSION_KEY
	ISCRetUsedCollectedCreds      = secpkg.ISCRetUsedCollectedCreds      // ISC_RET_USED_COLLECTED_CREDS
	ISCRetUsedSuppliedCreds       = secpkg.ISCRetUsedSuppliedCreds       // ISC_RET_USED_SUPPLIED_CREDS
	ISCRetAllocatedMemory         = secpkg.ISCRetAllocatedMemory         // ISC_RET_ALLOCATED_MEMORY
	ISCRetUsedDCEStyle            = secpkg.ISCRetUsedDCEStyle            // ISC_RET_USED_DCE_STYLE
	ISCRetDatagram                = secpkg.ISCRetDatagram                // ISC_RET_DATAGRAM
	ISCRetConnection              = secpkg.ISCRetConnection              // ISC_RET_CONNECTION
	ISCRetIntermediateReturn      = secpkg.ISCRetIntermediateReturn      // ISC_RET_INTERMEDIATE_RETURN
	ISCRetCallLevel               = secpkg.ISCRetCallLevel               // ISC_RET_CALL_LEVEL
	ISCRetExtendedError           = secpkg.ISCRetExtendedError           // ISC_RET_EXTENDED_ERROR
	ISCRetStream                  = secpkg.ISCRetStream                  // ISC_RET_STREAM
	ISCRetIntegrity               = secpkg.ISCRetIntegrity               // ISC_RET_INTEGRITY
	ISCRetIdentify                = secpkg.ISCRetIdentify                // ISC_RET_IDENTIFY
	ISCRetNullSession             = secpkg.ISCRetNullSession             // ISC_RET_NULL_SESSION
	ISCRetManualCredValidation    = secpkg.ISCRetManualCredValidation    // ISC_RET_MANUAL_CRED_VALIDATION
	ISCRetFragmentOnly            = secpkg.ISCRetFragmentOnly            // ISC_RET_FRAGMENT_ONLY
	ISCRetForwardCredentials      = secpkg.ISCRetForwardCredentials      // ISC_RET_FORWARD_CREDENTIALS
	ISCRetUsedHTTPStyle           = secpkg.ISCRetUsedHTTPStyle           // ISC_RET_USED_HTTP_STYLE
	ISCRetNoAdditionalToken       = secpkg.ISCRetNoAdditionalToken       // ISC_RET_NO_ADDITIONAL_TOKEN
	ISCRetReauthentication        = secpkg.ISCRetReauthentication        // ISC_RET_REAUTHENTICATION
	ISCRetConfidentialityOnly     = secpkg.ISCRetConfidentialityOnly     // ISC_RET_CONFIDENTIALITY_ONLY
	ISCRetMessages                = secpkg.ISCRetMessages                // ISC_RET_MESSAGES
	ASCReqDelegate                = secpkg.ASCReqDelegate                // ASC_REQ_DELEGATE
	ASCReqMutualAuth              = secpkg.ASCReqMutualAuth              // ASC_REQ_MUTUAL_AUTH
	ASCReqReplayDetect            = secpkg.ASCReqReplayDetect            // ASC_REQ_REPLAY_DETECT
	ASCReqSequenceDetect          = secpkg.ASCReqSequenceDetect          // ASC_REQ_SEQUENCE_DETECT
	ASCReqConfidentiality         = secpkg.ASCReqConfidentiality         // ASC_REQ_CONFIDENTIALITY
	ASCReqUseSessionKey           = secpkg.ASCReqUseSessionKey           // ASC_REQ_USE_SESSION_KEY
	ASCReqSessionTicket           = secpkg.ASCReqSessionTicket           // ASC_REQ_SESSION_TICKET
	ASCReqAllocateMemory          = secpkg.ASCReqAllocateMemory          // ASC_REQ_ALLOCATE_MEMORY
	ASCReqUseDCEStyle             = secpkg.ASCReqUseDCEStyle             // ASC_REQ_USE_DCE_STYLE
	ASCReqDatagram                = secpkg.ASCReqDatagram                // ASC_REQ_DATAGRAM
	ASCReqConnection              = secpkg.ASCReqConnection              // ASC_REQ_CONNECTION
	ASCReqCallLevel               = secpkg.ASCReqCallLevel               // ASC_REQ_CALL_LEVEL
	ASCReqFragmentSupplied        = secpkg.ASCReqFragmentSupplied        // ASC_REQ_FRAGMENT_SUPPLIED
	ASCReqExtendedError           = secpkg.ASCReqExtendedError           // ASC_REQ_EXTENDED_ERROR
	ASCReqStream                  = secpkg.ASCReqStream                  // ASC_REQ_STREAM
	ASCReqIntegrity               = secpkg.ASCReqIntegrity               // ASC_REQ_INTEGRITY
	ASCReqLicensing               = secpkg.ASCReqLicensing               // ASC_REQ_LICENSING
	ASCReqIdentify                = secpkg.ASCReqIdentify                // ASC_REQ_IDENTIFY
	ASCReqAllowNullSession        = secpkg.ASCReqAllowNullSession        // ASC_REQ_ALLOW_NULL_SESSION
	ASCReqAllowNonUserLogons      = secpkg.ASCReqAllowNonUserLogons      // ASC_REQ_ALLOW_NON_USER_LOGONS
	ASCReqAllowContextReplay      = secpkg.ASCReqAllowContextReplay      // ASC_REQ_ALLOW_CONTEXT_REPLAY
	ASCReqFragmentToFit           = secpkg.ASCReqFragmentToFit           // ASC_REQ_FRAGMENT_TO_FIT
	ASCReqNoToken                 = secpkg.ASCReqNoToken                 // ASC_REQ_NO_TOKEN
	ASCReqProxyBindings           = secpkg.ASCReqProxyBindings           // ASC_REQ_PROXY_BINDINGS
	ASCReqAllowMissingBindings    = secpkg.ASCReqAllowMissingBindings    // ASC_REQ_ALLOW_MISSING_BINDINGS
	ASCReqMessages                = secpkg.ASCReqMessages                // ASC_REQ_MESSAGES
	ASCRetDelegate                = secpkg.ASCRetDelegate                // ASC_RET_DELEGATE
	ASCRetMutualAuth              = secpkg.ASCRetMutualAuth              // ASC_RET_MUTUAL_AUTH
	ASCRetReplayDetect            = secpkg.ASCRetReplayDetect            // ASC_RET_REPLAY_DETECT
	ASCRetSequenceDetect          = secpkg.ASCRetSequenceDetect          // ASC_RET_SEQUENCE_DETECT
	ASCRetConfidentiality         = secpkg.ASCRetConfidentiality         // ASC_RET_CONFIDENTIALITY
	ASCRetUseSessionKey           = secpkg.ASCRetUseSessionKey           // ASC_RET_USE_SESSION_KEY
	ASCRetSessionTicket           = secpkg.ASCRetSessionTicket           // ASC_RET_SESSION_TICKET
	ASCRetAllocatedMemory         = secpkg.ASCRetAllocatedMemory         // ASC_RET_ALLOCATED_MEMORY
	ASCRetUsedDCEStyle            = secpkg.ASCRetUsedDCEStyle            // ASC_RET_USED_DCE_STYLE
	ASCRetDatagram                = secpkg.ASCRetDatagram                // ASC_RET_DATAGRAM
	ASCRetConnection              = secpkg.ASCRetConnection              // ASC_RET_CONNECTION
	ASCRetCallLevel               = secpkg.ASCRetCallLevel               // ASC_RET_CALL_LEVEL
	ASCRetThirdLegFailed          = secpkg.ASCRetThirdLegFailed          // ASC_RET_THIRD_LEG_FAILED
	ASCRetExtendedError           = secpkg.ASCRetExtendedError           // ASC_RET_EXTENDED_ERROR
	ASCRetStream                  = secpkg.ASCRetStream                  // ASC_RET_STREAM
	ASCRetIntegrity               = secpkg.ASCRetIntegrity               // ASC_RET_INTEGRITY
	ASCRetLicensing               = secpkg.ASCRetLicensing               // ASC_RET_LICENSING
	ASCRetIdentify                = secpkg.ASCRetIdentify                // ASC_RET_IDENTIFY
	ASCRetNullSession             = secpkg.ASCRetNullSession             // ASC_RET_NULL_SESSION
	ASCRetAllowNonUserLogons      = secpkg.ASCRetAllowNonUserLogons      // ASC_RET_ALLOW_NON_USER_LOGONS
	ASCRetFragmentOnly            = secpkg.ASCRetFragmentOnly            // ASC_RET_FRAGMENT_ONLY
	ASCRetNoToken                 = secpkg.ASCRetNoToken                 // ASC_RET_NO_TOKEN
	ASCRetNoAdditionalToken       = secpkg.ASCRetNoAdditionalToken       // ASC_RET_NO_ADDITIONAL_TOKEN
	ASCRetMessages                = secpkg.ASCRetMessages                // ASC_RET_MESSAGES
	CredentialInbound             = secpkg.CredentialInbound             // SECPKG_CRED_INBOUND: accept contexts
	CredentialOutbound            = secpkg.CredentialOutbound            // SECPKG_CRED_OUTBOUND: initiate contexts
	CredentialBoth                = secpkg.CredentialBoth                // SECPKG_CRED_BOTH
	CredentialDefault             = secpkg.CredentialDefault             // SECPKG_CRED_DEFAULT
	CapIntegrity                  = secpkg.CapIntegrity                  // SECPKG_FLAG_INTEGRITY: MakeSignature/VerifySignature
	CapPrivacy                    = secpkg.CapPrivacy                    // SECPKG_FLAG_PRIVACY: EncryptMessage/DecryptMessage
	CapTokenOnly                  = secpkg.CapTokenOnly                  // SECPKG_FLAG_TOKEN_ONLY
	CapDatagram                   = secpkg.CapDatagram                   // SECPKG_FLAG_DATAGRAM
	CapConnection                 = secpkg.CapConnection                 // SECPKG_FLAG_CONNECTION
	CapMultiRequired              = secpkg.CapMultiRequired              // SECPKG_FLAG_MULTI_REQUIRED
	CapClientOnly                 = secpkg.CapClientOnly                 // SECPKG_FLAG_CLIENT_ONLY
	CapExtendedError              = secpkg.CapExtendedError              // SECPKG_FLAG_EXTENDED_ERROR
	CapImpersonation              = secpkg.CapImpersonation              // SECPKG_FLAG_IMPERSONATION
	CapAcceptWin32Name            = secpkg.CapAcceptWin32Name            // SECPKG_FLAG_ACCEPT_WIN32_NAME
	CapStream                     = secpkg.CapStream                     // SECPKG_FLAG_STREAM
	CapNegotiable                 = secpkg.CapNegotiable                 // SECPKG_FLAG_NEGOTIABLE
	CapGSSCompatible              = secpkg.CapGSSCompatible              // SECPKG_FLAG_GSS_COMPATIBLE
	CapLogon                      = secpkg.CapLogon                      // SECPKG_FLAG_LOGON
	CapASCIIBuffers               = secpkg.CapASCIIBuffers               // SECPKG_FLAG_ASCII_BUFFERS
	CapFragment                   = secpkg.CapFragment                   // SECPKG_FLAG_FRAGMENT
	CapMutualAuth                 = secpkg.CapMutualAuth                 // SECPKG_FLAG_MUTUAL_AUTH
	CapDelegation                 = secpkg.CapDelegation                 // SECPKG_FLAG_DELEGATION
	CapReadOnlyWithChecksum       = secpkg.CapReadOnlyWithChecksum       // SECPKG_FLAG_READONLY_WITH_CHECKSUM
	CapRestrictedTokens           = secpkg.CapRestrictedTokens           // SECPKG_FLAG_RESTRICTED_TOKENS
	CapNegoExtender               = secpkg.CapNegoExtender               // SECPKG_FLAG_NEGO_EXTENDER
	CapNegotiable2                = secpkg.CapNegotiable2                // SECPKG_FLAG_NEGOTIABLE2
	CapAppContainerPassthrough    = secpkg.CapAppContainerPassthrough    // SECPKG_FLAG_APPCONTAINER_PASSTHROUGH
	CapAppContainerChecks         = secpkg.CapAppContainerChecks         // SECPKG_FLAG_APPCONTAINER_CHECKS
	CapCredentialIsolationEnabled = secpkg.CapCredentialIsolationEnabled // SECPKG_FLAG_CREDENTIAL_ISOLATION_ENABLED
	CapApplyLoopback              = secpkg.CapApplyLoopback              // SECPKG_FLAG_APPLY_LOOPBACK
	QOPWrapNoEncrypt              = secpkg.QOPWrapNoEncrypt              // SECQOP_WRAP_NO_ENCRYPT: sign only, data stays in clear
	QOPWrapOOBData                = secpkg.QOPWrapOOBData                // SECQOP_WRAP_OOB_DATA
	NativeDataRep                 = secpkg.NativeDataRep                 // SECURITY_NATIVE_DREP
	NetworkDataRep                = secpkg.NetworkDataRep                // SECURITY_NETWORK_DREP
	RPCAuthnNone                  = secpkg.RPCAuthnNone                  // RPC_C_AUTHN_NONE
	RPCAuthnGSSNegotiate          = secpkg.RPCAuthnGSSNegotiate          // RPC_C_AUTHN_GSS_NEGOTIATE
	RPCAuthnWinNT                 = secpkg.RPCAuthnWinNT                 // RPC_C_AUTHN_WINNT (NTLM)
	RPCAuthnGSSSchannel           = secpkg.RPCAuthnGSSSchannel           // RPC_C_AUTHN_GSS_SCHANNEL
	RPCAuthnGSSKerberos           = secpkg.RPCAuthnGSSKerberos           // RPC_C_AUTHN_GSS_KERBEROS
	RPCAuthnDigest                = secpkg.RPCAuthnDigest                // RPC_C_AUTHN_DIGEST
	RPCAuthnNegoExtender          = secpkg.RPCAuthnNegoExtender          // RPC_C_AUTHN_NEGO_EXTENDER
	PackageIDNone                 = secpkg.PackageIDNone                 // SECPKG_ID_NONE
)

// Constants from package secpkg, types.go.
const (
	BufferEmpty                = secpkg.BufferEmpty                // SECBUFFER_EMPTY: placeholder the package may fill
	BufferData                 = secpkg.BufferData                 // SECBUFFER_DATA: application data, protected in place
	BufferToken                = secpkg.BufferToken                // SECBUFFER_TOKEN: security token, signature or trailer
	BufferPkgParams            = secpkg.BufferPkgParams            // SECBUFFER_PKG_PARAMS
	BufferMissing              = secpkg.BufferMissing              // SECBUFFER_MISSING
	BufferExtra                = secpkg.BufferExtra                // SECBUFFER_EXTRA
	BufferStreamTrailer        = secpkg.BufferStreamTrailer        // SECBUFFER_STREAM_TRAILER
	BufferStreamHeader         = secpkg.BufferStreamHeader         // SECBUFFER_STREAM_HEADER
	BufferPadding              = secpkg.BufferPadding              // SECBUFFER_PADDING
	BufferStream               = secpkg.BufferStream               // SECBUFFER_STREAM: a whole protected message
	BufferChannelBindings      = secpkg.BufferChannelBindings      // SECBUFFER_CHANNEL_BINDINGS
	BufferAttrMask             = secpkg.BufferAttrMask             // SECBUFFER_ATTRMASK
	BufferReadOnly             = secpkg.BufferReadOnly             // SECBUFFER_READONLY: read-only and not covered by the checksum
	BufferReadOnlyWithChecksum = secpkg.BufferReadOnlyWithChecksum // SECBUFFER_READONLY_WITH_CHECKSUM: read-only but covered
	NegotiationComplete        = secpkg.NegotiationComplete        // SECPKG_NEGOTIATION_COMPLETE
	NegotiationOptimistic      = secpkg.NegotiationOptimistic      // SECPKG_NEGOTIATION_OPTIMISTIC
	NegotiationInProgress      = secpkg.NegotiationInProgress      // SECPKG_NEGOTIATION_IN_PROGRESS
	NegotiationDirect          = secpkg.NegotiationDirect          // SECPKG_NEGOTIATION_DIRECT
	NegotiationTryMulticred    = secpkg.NegotiationTryMulticred    // SECPKG_NEGOTIATION_TRY_MULTICRED
	BindingsClientSupport      = secpkg.BindingsClientSupport      // SEC_CHANNEL_BINDINGS_RESULT_CLIENT_SUPPORT
	BindingsAbsent             = secpkg.BindingsAbsent             // SEC_CHANNEL_BINDINGS_RESULT_ABSENT: the acceptor had none
	BindingsNotValidMismatch   = secpkg.BindingsNotValidMismatch   // SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISMATCH
	BindingsNotValidMissing    = secpkg.BindingsNotValidMissing    // SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISSING
	BindingsValidMatched       = secpkg.BindingsValidMatched       // SEC_CHANNEL_BINDINGS_RESULT_VALID_MATCHED
	BindingsValidProxy         = secpkg.BindingsValidProxy         // SEC_CHANNEL_BINDINGS_RESULT_VALID_PROXY
	BindingsValidMissing       = secpkg.BindingsValidMissing       // SEC_CHANNEL_BINDINGS_RESULT_VALID_MISSING: client sent none, policy allowed it
	PackedKeytab               = secpkg.PackedKeytab               // a Kerberos keytab's bytes (SEC_WINNT_AUTH_DATA_TYPE_KEYTAB)
	PackedCCache               = secpkg.PackedCCache               // an MIT credentials cache's bytes
	PackedKeytabFile           = secpkg.PackedKeytabFile           // a keytab's path, opened with the caller's rights
	PackedCCacheFile           = secpkg.PackedCCacheFile           // a credentials cache's path, opened with the caller's rights
)
