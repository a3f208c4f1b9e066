package krb5

import (
	"errors"
	"fmt"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// ErrorCode is a Kerberos protocol error code (RFC 4120 7.5.9), as
// carried by KRB-ERROR. It implements error, so errors.Is(err,
// krb5.APErrSkew) tells which check failed; [ErrorCode.Status] is the
// SEC_E_* code a caller reports for it.
type ErrorCode int32

// Error codes (RFC 4120 7.5.9, RFC 6806 11).
const (
	KDCErrNone                ErrorCode = 0
	KDCErrBadPVNO             ErrorCode = 3
	KDCErrCPrincipalUnknown   ErrorCode = 6
	KDCErrSPrincipalUnknown   ErrorCode = 7
	KDCErrPrincipalNotUnique  ErrorCode = 8
	KDCErrNullKey             ErrorCode = 9
	KDCErrCannotPostdate      ErrorCode = 10
	KDCErrNeverValid          ErrorCode = 11
	KDCErrPolicy              ErrorCode = 12
	KDCErrBadOption           ErrorCode = 13
	KDCErrETypeNoSupp         ErrorCode = 14
	KDCErrSumTypeNoSupp       ErrorCode = 15
	KDCErrPADataTypeNoSupp    ErrorCode = 16
	KDCErrClientRevoked       ErrorCode = 18
	KDCErrServiceRevoked      ErrorCode = 19
	KDCErrTGTRevoked          ErrorCode = 20
	KDCErrClientNotYet        ErrorCode = 21
	KDCErrKeyExpired          ErrorCode = 23
	KDCErrPreauthFailed       ErrorCode = 24
	KDCErrPreauthRequired     ErrorCode = 25
	KDCErrServerNoMatch       ErrorCode = 26
	KDCErrMustUseUser2User    ErrorCode = 27
	KDCErrSvcUnavailable      ErrorCode = 29
	APErrBadIntegrity         ErrorCode = 31
	APErrTktExpired           ErrorCode = 32
	APErrTktNYV               ErrorCode = 33
	APErrRepeat               ErrorCode = 34
	APErrNotUs                ErrorCode = 35
	APErrBadMatch             ErrorCode = 36
	APErrSkew                 ErrorCode = 37
	APErrBadAddr              ErrorCode = 38
	APErrBadVersion           ErrorCode = 39
	APErrMsgType              ErrorCode = 40
	APErrModified             ErrorCode = 41
	APErrBadOrder             ErrorCode = 42
	APErrBadKeyVer            ErrorCode = 44
	APErrNoKey                ErrorCode = 45
	APErrMutFail              ErrorCode = 46
	APErrBadDirection         ErrorCode = 47
	APErrMethod               ErrorCode = 48
	APErrBadSeq               ErrorCode = 49
	APErrInappCksum           ErrorCode = 50
	KRBErrResponseTooBig      ErrorCode = 52
	KRBErrGeneric             ErrorCode = 60
	KRBErrFieldTooLong        ErrorCode = 61
	KDCErrWrongRealm          ErrorCode = 68
	KDCErrClientNameMismatch  ErrorCode = 75
	KDCErrPreauthExpired      ErrorCode = 90
	KDCErrMorePreauthDataReqd ErrorCode = 91
)

var errorCodeNames = map[ErrorCode]string{
	KDCErrNone:                "KDC_ERR_NONE",
	KDCErrBadPVNO:             "KDC_ERR_BAD_PVNO",
	KDCErrCPrincipalUnknown:   "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	KDCErrSPrincipalUnknown:   "KDC_ERR_S_PRINCIPAL_UNKNOWN",
	KDCErrPrincipalNotUnique:  "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
	KDCErrNullKey:             "KDC_ERR_NULL_KEY",
	KDCErrCannotPostdate:      "KDC_ERR_CANNOT_POSTDATE",
	KDCErrNeverValid:          "KDC_ERR_NEVER_VALID",
	KDCErrPolicy:              "KDC_ERR_POLICY",
	KDCErrBadOption:           "KDC_ERR_BADOPTION",
	KDCErrETypeNoSupp:         "KDC_ERR_ETYPE_NOSUPP",
	KDCErrSumTypeNoSupp:       "KDC_ERR_SUMTYPE_NOSUPP",
	KDCErrPADataTypeNoSupp:    "KDC_ERR_PADATA_TYPE_NOSUPP",
	KDCErrClientRevoked:       "KDC_ERR_CLIENT_REVOKED",
	KDCErrServiceRevoked:      "KDC_ERR_SERVICE_REVOKED",
	KDCErrTGTRevoked:          "KDC_ERR_TGT_REVOKED",
	KDCErrClientNotYet:        "KDC_ERR_CLIENT_NOTYET",
	KDCErrKeyExpired:          "KDC_ERR_KEY_EXPIRED",
	KDCErrPreauthFailed:       "KDC_ERR_PREAUTH_FAILED",
	KDCErrPreauthRequired:     "KDC_ERR_PREAUTH_REQUIRED",
	KDCErrServerNoMatch:       "KDC_ERR_SERVER_NOMATCH",
	KDCErrMustUseUser2User:    "KDC_ERR_MUST_USE_USER2USER",
	KDCErrSvcUnavailable:      "KDC_ERR_SVC_UNAVAILABLE",
	APErrBadIntegrity:         "KRB_AP_ERR_BAD_INTEGRITY",
	APErrTktExpired:           "KRB_AP_ERR_TKT_EXPIRED",
	APErrTktNYV:               "KRB_AP_ERR_TKT_NYV",
	APErrRepeat:               "KRB_AP_ERR_REPEAT",
	APErrNotUs:                "KRB_AP_ERR_NOT_US",
	APErrBadMatch:             "KRB_AP_ERR_BADMATCH",
	APErrSkew:                 "KRB_AP_ERR_SKEW",
	APErrBadAddr:              "KRB_AP_ERR_BADADDR",
	APErrBadVersion:           "KRB_AP_ERR_BADVERSION",
	APErrMsgType:              "KRB_AP_ERR_MSG_TYPE",
	APErrModified:             "KRB_AP_ERR_MODIFIED",
	APErrBadOrder:             "KRB_AP_ERR_BADORDER",
	APErrBadKeyVer:            "KRB_AP_ERR_BADKEYVER",
	APErrNoKey:                "KRB_AP_ERR_NOKEY",
	APErrMutFail:              "KRB_AP_ERR_MUT_FAIL",
	APErrBadDirection:         "KRB_AP_ERR_BADDIRECTION",
	APErrMethod:               "KRB_AP_ERR_METHOD",
	APErrBadSeq:               "KRB_AP_ERR_BADSEQ",
	APErrInappCksum:           "KRB_AP_ERR_INAPP_CKSUM",
	KRBErrResponseTooBig:      "KRB_ERR_RESPONSE_TOO_BIG",
	KRBErrGeneric:             "KRB_ERR_GENERIC",
	KRBErrFieldTooLong:        "KRB_ERR_FIELD_TOOLONG",
	KDCErrWrongRealm:          "KDC_ERR_WRONG_REALM",
	KDCErrClientNameMismatch:  "KDC_ERR_CLIENT_NAME_MISMATCH",
	KDCErrPreauthExpired:      "KDC_ERR_PREAUTH_EXPIRED",
	KDCErrMorePreauthDataReqd: "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
}

// String returns the RFC 4120 name, such as "KRB_AP_ERR_SKEW".
func (c ErrorCode) String() string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("KRB5_ERROR(%d)", int32(c))
}

// Error returns the RFC 4120 name, so an ErrorCode can be an error's cause.
func (c ErrorCode) Error() string { return c.String() }

// Status returns the SEC_E_* code a security package reports for c.
//
//	KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_PREAUTH_FAILED,
//	KDC_ERR_CLIENT_REVOKED, KDC_ERR_KEY_EXPIRED, KDC_ERR_POLICY,
//	KRB_AP_ERR_BADMATCH, KRB_AP_ERR_REPEAT,
//	KRB_AP_ERR_BAD_INTEGRITY                         SEC_E_LOGON_DENIED
//	KDC_ERR_S_PRINCIPAL_UNKNOWN                      SEC_E_TARGET_UNKNOWN
//	KRB_AP_ERR_MODIFIED, KRB_AP_ERR_NOT_US,
//	KRB_AP_ERR_NOKEY, KRB_AP_ERR_BADKEYVER           SEC_E_WRONG_PRINCIPAL (as Windows
//	                                                 reports a ticket the service cannot read)
//	KRB_AP_ERR_SKEW, KRB_AP_ERR_TKT_NYV              SEC_E_TIME_SKEW
//	KRB_AP_ERR_TKT_EXPIRED                           SEC_E_CONTEXT_EXPIRED
//	KDC_ERR_ETYPE_NOSUPP, KDC_ERR_SUMTYPE_NOSUPP     SEC_E_ALGORITHM_MISMATCH
//	KRB_AP_ERR_MUT_FAIL                              SEC_E_MUTUAL_AUTH_FAILED
//	KRB_AP_ERR_INAPP_CKSUM, KRB_AP_ERR_MSG_TYPE,
//	KRB_AP_ERR_BADVERSION                            SEC_E_INVALID_TOKEN
//	anything else                                    SEC_E_LOGON_DENIED
func (c ErrorCode) Status() secpkg.Status {
	switch c {
	case KDCErrSPrincipalUnknown:
		return secpkg.StatusTargetUnknown
	case APErrModified, APErrNotUs, APErrNoKey, APErrBadKeyVer:
		return secpkg.StatusWrongPrincipal
	case APErrSkew, APErrTktNYV:
		return secpkg.StatusTimeSkew
	case APErrTktExpired:
		return secpkg.StatusContextExpired
	case KDCErrETypeNoSupp, KDCErrSumTypeNoSupp:
		return secpkg.StatusAlgorithmMismatch
	case APErrMutFail:
		return secpkg.StatusMutualAuthFailed
	case APErrInappCksum, APErrMsgType, APErrBadVersion:
		return secpkg.StatusInvalidToken
	}
	return secpkg.StatusLogonDenied
}

// protoErr returns an error that carries code (errors.Is) and code's
// status (secpkg.StatusOf), with a detail for the local caller.
func protoErr(code ErrorCode, format string, args ...any) error {
	return &secpkg.Error{Status: code.Status(), Detail: fmt.Sprintf(format, args...) + " (" + code.String() + ")", Err: code}
}

// statusErr returns an error with status st and detail, wrapping cause.
func statusErr(st secpkg.Status, cause error, format string, args ...any) error {
	return &secpkg.Error{Status: st, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// KRBError is a KRB-ERROR message (RFC 4120 5.9.1) received from a KDC
// or from an acceptor (which sends one in place of an AP-REP, RFC 4121
// 4.1). It is an error whose cause is its Code.
type KRBError struct {
	Code       ErrorCode
	Text       string     // e-text: free text from the peer, untrusted
	Server     Principal  // realm and sname
	Client     *Principal // crealm and cname, if sent
	ServerTime time.Time  // stime and susec
	ClientTime time.Time  // ctime and cusec, if sent
	EData      []byte
}

// Error names the code and quotes the peer's text.
func (e *KRBError) Error() string {
	s := "krb5: peer sent " + e.Code.String()
	if e.Text != "" {
		s += fmt.Sprintf(" (%q)", e.Text)
	}
	return s
}

// Unwrap returns the error code.
func (e *KRBError) Unwrap() error { return e.Code }

// ParseKRBError parses a KRB-ERROR message (RFC 4120 5.9.1).
func ParseKRBError(b []byte) (*KRBError, error) {
	var m krbError
	if err := m.unmarshal(b); err != nil {
		return nil, statusErr(secpkg.StatusInvalidToken, err, "krb5: malformed KRB-ERROR")
	}
	e := &KRBError{
		Code: m.Code, Text: m.EText, Server: m.Server, Client: m.Client,
		ServerTime: m.STime.Add(time.Duration(m.Susec) * time.Microsecond), EData: m.EData,
	}
	if !m.CTime.IsZero() {
		e.ClientTime = m.CTime.Add(time.Duration(m.Cusec) * time.Microsecond)
	}
	return e, nil
}

// MarshalKRBError builds the KRB-ERROR an acceptor sends for a failed
// AP-REQ (RFC 4120 3.2.3 and 5.9.1; RFC 4121 4.1): the code that err
// carries (KRB_AP_ERR_MODIFIED if none, so nothing else leaks), the
// service's name and the time. It holds no e-text: the peer learns the
// code only.
func MarshalKRBError(err error, service Principal, now time.Time) []byte {
	code := APErrModified
	var c ErrorCode
	if errors.As(err, &c) && c != KDCErrNone {
		code = c
	}
	m := krbError{
		STime:  now.UTC().Truncate(time.Second),
		Susec:  int32(now.Nanosecond() / 1000),
		Code:   code,
		Server: service,
	}
	if m.Server.Type == NameUnknown {
		m.Server.Type = NamePrincipal
	}
	return m.marshal()
}
