package secpkg

import "fmt"

// Status is a SECURITY_STATUS: the SEC_E_* and SEC_I_* codes that every
// SSPI function returns, with their Windows numeric values (winerror.h,
// facility 9).
//
// Success codes (StatusOK and the SEC_I_* values, which have the high bit
// clear) are returned as values: continuing a handshake is a result, not an
// error. Failure codes (SEC_E_*) implement error, so a failure can be
// returned directly or wrapped in an [*Error] carrying detail; either way
// errors.Is(err, StatusLogonDenied) reports whether err carries that code.
type Status uint32

// Success and informational codes (SEC_I_*).
const (
	StatusOK                    Status = 0x00000000 // SEC_E_OK
	StatusContinueNeeded        Status = 0x00090312 // SEC_I_CONTINUE_NEEDED
	StatusCompleteNeeded        Status = 0x00090313 // SEC_I_COMPLETE_NEEDED
	StatusCompleteAndContinue   Status = 0x00090314 // SEC_I_COMPLETE_AND_CONTINUE
	StatusLocalLogon            Status = 0x00090315 // SEC_I_LOCAL_LOGON
	StatusContextExpiredInfo    Status = 0x00090317 // SEC_I_CONTEXT_EXPIRED
	StatusIncompleteCredentials Status = 0x00090320 // SEC_I_INCOMPLETE_CREDENTIALS
	StatusRenegotiate           Status = 0x00090321 // SEC_I_RENEGOTIATE
	StatusNoLSAContext          Status = 0x00090323 // SEC_I_NO_LSA_CONTEXT
	StatusSignatureNeeded       Status = 0x0009035C // SEC_I_SIGNATURE_NEEDED
	StatusNoRenegotiation       Status = 0x00090360 // SEC_I_NO_RENEGOTIATION
	StatusMessageFragment       Status = 0x00090364 // SEC_I_MESSAGE_FRAGMENT
)

// Failure codes (SEC_E_*).
const (
	StatusInsufficientMemory          Status = 0x80090300 // SEC_E_INSUFFICIENT_MEMORY
	StatusInvalidHandle               Status = 0x80090301 // SEC_E_INVALID_HANDLE
	StatusUnsupportedFunction         Status = 0x80090302 // SEC_E_UNSUPPORTED_FUNCTION
	StatusTargetUnknown               Status = 0x80090303 // SEC_E_TARGET_UNKNOWN
	StatusInternalError               Status = 0x80090304 // SEC_E_INTERNAL_ERROR
	StatusPackageNotFound             Status = 0x80090305 // SEC_E_SECPKG_NOT_FOUND
	StatusNotOwner                    Status = 0x80090306 // SEC_E_NOT_OWNER
	StatusCannotInstall               Status = 0x80090307 // SEC_E_CANNOT_INSTALL
	StatusInvalidToken                Status = 0x80090308 // SEC_E_INVALID_TOKEN
	StatusCannotPack                  Status = 0x80090309 // SEC_E_CANNOT_PACK
	StatusQOPNotSupported             Status = 0x8009030A // SEC_E_QOP_NOT_SUPPORTED
	StatusNoImpersonation             Status = 0x8009030B // SEC_E_NO_IMPERSONATION
	StatusLogonDenied                 Status = 0x8009030C // SEC_E_LOGON_DENIED
	StatusUnknownCredentials          Status = 0x8009030D // SEC_E_UNKNOWN_CREDENTIALS
	StatusNoCredentials               Status = 0x8009030E // SEC_E_NO_CREDENTIALS
	StatusMessageAltered              Status = 0x8009030F // SEC_E_MESSAGE_ALTERED
	StatusOutOfSequence               Status = 0x80090310 // SEC_E_OUT_OF_SEQUENCE
	StatusNoAuthenticatingAuthority   Status = 0x80090311 // SEC_E_NO_AUTHENTICATING_AUTHORITY
	StatusBadPackageID                Status = 0x80090316 // SEC_E_BAD_PKGID
	StatusContextExpired              Status = 0x80090317 // SEC_E_CONTEXT_EXPIRED
	StatusIncompleteMessage           Status = 0x80090318 // SEC_E_INCOMPLETE_MESSAGE
	StatusIncompleteCredentialsError  Status = 0x80090320 // SEC_E_INCOMPLETE_CREDENTIALS
	StatusBufferTooSmall              Status = 0x80090321 // SEC_E_BUFFER_TOO_SMALL
	StatusWrongPrincipal              Status = 0x80090322 // SEC_E_WRONG_PRINCIPAL
	StatusTimeSkew                    Status = 0x80090324 // SEC_E_TIME_SKEW
	StatusUntrustedRoot               Status = 0x80090325 // SEC_E_UNTRUSTED_ROOT
	StatusIllegalMessage              Status = 0x80090326 // SEC_E_ILLEGAL_MESSAGE
	StatusCertUnknown                 Status = 0x80090327 // SEC_E_CERT_UNKNOWN
	StatusCertExpired                 Status = 0x80090328 // SEC_E_CERT_EXPIRED
	StatusEncryptFailure              Status = 0x80090329 // SEC_E_ENCRYPT_FAILURE
	StatusDecryptFailure              Status = 0x80090330 // SEC_E_DECRYPT_FAILURE
	StatusAlgorithmMismatch           Status = 0x80090331 // SEC_E_ALGORITHM_MISMATCH
	StatusSecurityQOSFailed           Status = 0x80090332 // SEC_E_SECURITY_QOS_FAILED
	StatusUnfinishedContextDeleted    Status = 0x80090333 // SEC_E_UNFINISHED_CONTEXT_DELETED
	StatusNoTGTReply                  Status = 0x80090334 // SEC_E_NO_TGT_REPLY
	StatusWrongCredentialHandle       Status = 0x80090336 // SEC_E_WRONG_CREDENTIAL_HANDLE
	StatusCryptoSystemInvalid         Status = 0x80090337 // SEC_E_CRYPTO_SYSTEM_INVALID
	StatusStrongCryptoNotSupported    Status = 0x8009033A // SEC_E_STRONG_CRYPTO_NOT_SUPPORTED
	StatusShutdownInProgress          Status = 0x8009033F // SEC_E_SHUTDOWN_IN_PROGRESS
	StatusDelegationRequired          Status = 0x80090345 // SEC_E_DELEGATION_REQUIRED
	StatusBadBindings                 Status = 0x80090346 // SEC_E_BAD_BINDINGS
	StatusMultipleAccounts            Status = 0x80090347 // SEC_E_MULTIPLE_ACCOUNTS
	StatusDowngradeDetected           Status = 0x80090350 // SEC_E_DOWNGRADE_DETECTED
	StatusInvalidParameter            Status = 0x8009035D // SEC_E_INVALID_PARAMETER
	StatusDelegationPolicy            Status = 0x8009035E // SEC_E_DELEGATION_POLICY
	StatusPolicyNTLMOnly              Status = 0x8009035F // SEC_E_POLICY_NLTM_ONLY
	StatusNoContext                   Status = 0x80090361 // SEC_E_NO_CONTEXT
	StatusMutualAuthFailed            Status = 0x80090363 // SEC_E_MUTUAL_AUTH_FAILED
	StatusOnlyHTTPSAllowed            Status = 0x80090365 // SEC_E_ONLY_HTTPS_ALLOWED
	StatusApplicationProtocolMismatch Status = 0x80090367 // SEC_E_APPLICATION_PROTOCOL_MISMATCH
	StatusInvalidUPNName              Status = 0x80090369 // SEC_E_INVALID_UPN_NAME
	StatusExtBufferTooSmall           Status = 0x8009036A // SEC_E_EXT_BUFFER_TOO_SMALL
	StatusInsufficientBuffers         Status = 0x8009036B // SEC_E_INSUFFICIENT_BUFFERS
)

type statusInfo struct{ name, text string }

var statusText = map[Status]statusInfo{
	StatusOK:                          {"SEC_E_OK", "the operation completed successfully"},
	StatusContinueNeeded:              {"SEC_I_CONTINUE_NEEDED", "the function completed successfully, but must be called again to complete the context"},
	StatusCompleteNeeded:              {"SEC_I_COMPLETE_NEEDED", "the function completed successfully, but CompleteToken must be called"},
	StatusCompleteAndContinue:         {"SEC_I_COMPLETE_AND_CONTINUE", "the function completed successfully, but both CompleteToken and this function must be called to complete the context"},
	StatusLocalLogon:                  {"SEC_I_LOCAL_LOGON", "the logon was completed, but no network authority was available"},
	StatusContextExpiredInfo:          {"SEC_I_CONTEXT_EXPIRED", "the context has expired and can no longer be used"},
	StatusIncompleteCredentials:       {"SEC_I_INCOMPLETE_CREDENTIALS", "the credentials supplied were not complete"},
	StatusRenegotiate:                 {"SEC_I_RENEGOTIATE", "the context data must be renegotiated with the peer"},
	StatusNoLSAContext:                {"SEC_I_NO_LSA_CONTEXT", "there is no LSA mode context associated with this context"},
	StatusSignatureNeeded:             {"SEC_I_SIGNATURE_NEEDED", "a signature operation must be performed before the user can authenticate"},
	StatusNoRenegotiation:             {"SEC_I_NO_RENEGOTIATION", "the recipient rejected the renegotiation request"},
	StatusMessageFragment:             {"SEC_I_MESSAGE_FRAGMENT", "the returned buffer is only a fragment of the message"},
	StatusInsufficientMemory:          {"SEC_E_INSUFFICIENT_MEMORY", "not enough memory is available to complete this request"},
	StatusInvalidHandle:               {"SEC_E_INVALID_HANDLE", "the handle specified is invalid"},
	StatusUnsupportedFunction:         {"SEC_E_UNSUPPORTED_FUNCTION", "the function requested is not supported"},
	StatusTargetUnknown:               {"SEC_E_TARGET_UNKNOWN", "the specified target is unknown or unreachable"},
	StatusInternalError:               {"SEC_E_INTERNAL_ERROR", "the Local Security Authority cannot be contacted"},
	StatusPackageNotFound:             {"SEC_E_SECPKG_NOT_FOUND", "the requested security package does not exist"},
	StatusNotOwner:                    {"SEC_E_NOT_OWNER", "the caller is not the owner of the desired credentials"},
	StatusCannotInstall:               {"SEC_E_CANNOT_INSTALL", "the security package failed to initialize, and cannot be installed"},
	StatusInvalidToken:                {"SEC_E_INVALID_TOKEN", "the token supplied to the function is invalid"},
	StatusCannotPack:                  {"SEC_E_CANNOT_PACK", "the security package is not able to marshal the logon buffer"},
	StatusQOPNotSupported:             {"SEC_E_QOP_NOT_SUPPORTED", "the per-message quality of protection is not supported by the security package"},
	StatusNoImpersonation:             {"SEC_E_NO_IMPERSONATION", "the security context does not allow impersonation of the client"},
	StatusLogonDenied:                 {"SEC_E_LOGON_DENIED", "the logon attempt failed"},
	StatusUnknownCredentials:          {"SEC_E_UNKNOWN_CREDENTIALS", "the credentials supplied to the package were not recognized"},
	StatusNoCredentials:               {"SEC_E_NO_CREDENTIALS", "no credentials are available in the security package"},
	StatusMessageAltered:              {"SEC_E_MESSAGE_ALTERED", "the message or signature supplied for verification has been altered"},
	StatusOutOfSequence:               {"SEC_E_OUT_OF_SEQUENCE", "the message supplied for verification is out of sequence"},
	StatusNoAuthenticatingAuthority:   {"SEC_E_NO_AUTHENTICATING_AUTHORITY", "no authority could be contacted for authentication"},
	StatusBadPackageID:                {"SEC_E_BAD_PKGID", "the requested security package does not exist"},
	StatusContextExpired:              {"SEC_E_CONTEXT_EXPIRED", "the context has expired and can no longer be used"},
	StatusIncompleteMessage:           {"SEC_E_INCOMPLETE_MESSAGE", "the supplied message is incomplete"},
	StatusIncompleteCredentialsError:  {"SEC_E_INCOMPLETE_CREDENTIALS", "the credentials supplied were not complete, and could not be verified"},
	StatusBufferTooSmall:              {"SEC_E_BUFFER_TOO_SMALL", "the buffers supplied to a function was too small"},
	StatusWrongPrincipal:              {"SEC_E_WRONG_PRINCIPAL", "the target principal name is incorrect"},
	StatusTimeSkew:                    {"SEC_E_TIME_SKEW", "the clocks on the client and server machines are skewed"},
	StatusUntrustedRoot:               {"SEC_E_UNTRUSTED_ROOT", "the certificate chain was issued by an authority that is not trusted"},
	StatusIllegalMessage:              {"SEC_E_ILLEGAL_MESSAGE", "the message received was unexpected or badly formatted"},
	StatusCertUnknown:                 {"SEC_E_CERT_UNKNOWN", "an unknown error occurred while processing the certificate"},
	StatusCertExpired:                 {"SEC_E_CERT_EXPIRED", "the received certificate has expired"},
	StatusEncryptFailure:              {"SEC_E_ENCRYPT_FAILURE", "the specified data could not be encrypted"},
	StatusDecryptFailure:              {"SEC_E_DECRYPT_FAILURE", "the specified data could not be decrypted"},
	StatusAlgorithmMismatch:           {"SEC_E_ALGORITHM_MISMATCH", "the client and server cannot communicate, because they do not possess a common algorithm"},
	StatusSecurityQOSFailed:           {"SEC_E_SECURITY_QOS_FAILED", "the security context could not be established due to a failure in the requested quality of service"},
	StatusUnfinishedContextDeleted:    {"SEC_E_UNFINISHED_CONTEXT_DELETED", "a security context was deleted before the context was completed"},
	StatusNoTGTReply:                  {"SEC_E_NO_TGT_REPLY", "the client is trying to negotiate a context and the server requires user-to-user but didn't send a TGT reply"},
	StatusWrongCredentialHandle:       {"SEC_E_WRONG_CREDENTIAL_HANDLE", "the supplied credential handle does not match the credential associated with the security context"},
	StatusCryptoSystemInvalid:         {"SEC_E_CRYPTO_SYSTEM_INVALID", "the crypto system or checksum function is invalid because a required function is unavailable"},
	StatusStrongCryptoNotSupported:    {"SEC_E_STRONG_CRYPTO_NOT_SUPPORTED", "strong crypto is not supported"},
	StatusShutdownInProgress:          {"SEC_E_SHUTDOWN_IN_PROGRESS", "a system shutdown is in progress"},
	StatusDelegationRequired:          {"SEC_E_DELEGATION_REQUIRED", "the requested operation requires delegation to be enabled"},
	StatusBadBindings:                 {"SEC_E_BAD_BINDINGS", "client's supplied channel bindings were incorrect"},
	StatusMultipleAccounts:            {"SEC_E_MULTIPLE_ACCOUNTS", "the received certificate was mapped to multiple accounts"},
	StatusDowngradeDetected:           {"SEC_E_DOWNGRADE_DETECTED", "the system detected a possible attempt to compromise security"},
	StatusInvalidParameter:            {"SEC_E_INVALID_PARAMETER", "one or more of the parameters passed to the function was invalid"},
	StatusDelegationPolicy:            {"SEC_E_DELEGATION_POLICY", "client policy does not allow credential delegation to target server"},
	StatusPolicyNTLMOnly:              {"SEC_E_POLICY_NLTM_ONLY", "client policy does not allow credential delegation to target server with NTLM only authentication"},
	StatusNoContext:                   {"SEC_E_NO_CONTEXT", "the required security context does not exist"},
	StatusMutualAuthFailed:            {"SEC_E_MUTUAL_AUTH_FAILED", "the server did not prove its identity"},
	StatusOnlyHTTPSAllowed:            {"SEC_E_ONLY_HTTPS_ALLOWED", "only https scheme is allowed"},
	StatusApplicationProtocolMismatch: {"SEC_E_APPLICATION_PROTOCOL_MISMATCH", "no common application protocol exists between the client and the server"},
	StatusInvalidUPNName:              {"SEC_E_INVALID_UPN_NAME", "the user principal name is not valid"},
	StatusExtBufferTooSmall:           {"SEC_E_EXT_BUFFER_TOO_SMALL", "the extended buffer is too small"},
	StatusInsufficientBuffers:         {"SEC_E_INSUFFICIENT_BUFFERS", "not enough secbuffers were supplied"},
}

// String returns the Windows name of the code, such as "SEC_E_LOGON_DENIED".
func (s Status) String() string {
	if i, ok := statusText[s]; ok {
		return i.name
	}
	return fmt.Sprintf("SECURITY_STATUS(0x%08X)", uint32(s))
}

// Error returns the Windows name and, for a failure code, its
// description. (Success codes are results, not errors; printing one with
// fmt shows just its name.)
func (s Status) Error() string {
	if i, ok := statusText[s]; ok && s.Failed() {
		return i.name + ": " + i.text
	}
	return s.String()
}

// Failed reports whether s is a failure code (SEC_E_*), the way the
// FAILED macro tests the high bit.
func (s Status) Failed() bool { return s&0x80000000 != 0 }

// Known reports whether s is one of the codes defined here. The LSA
// protocol uses it to refuse codes it cannot name.
func (s Status) Known() bool {
	_, ok := statusText[s]
	return ok
}
