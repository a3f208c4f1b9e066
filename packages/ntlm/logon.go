package ntlm

import (
	"context"
	"crypto/subtle"

	"github.com/opensspi/sspi/internal/wire"
	"github.com/opensspi/sspi/secpkg"
)

// logonCredentialKey is the key under which LogonUser stores the NT hash
// in a logon session (AddCredential).
const logonCredentialKey = "ntlm-ntowf-v1"

// packLogonCredential encodes what a logon session keeps for NTLM:
// version 1, the user and domain (16-bit length and UTF-8 each) and the
// NT hash.
func packLogonCredential(user, domain string, ntHash [16]byte) []byte {
	b := wire.NewBuilder(nil)
	b.AddUint8(1)
	b.AddUint16(uint16(len(user)))
	b.AddBytes([]byte(user))
	b.AddUint16(uint16(len(domain)))
	b.AddBytes([]byte(domain))
	b.AddBytes(ntHash[:])
	out, _ := b.Bytes()
	return out
}

func unpackLogonCredential(b []byte) (user, domain string, ntHash [16]byte, err error) {
	s := wire.String(b)
	var v uint8
	var n uint16
	var u, d []byte
	if !s.ReadUint8(&v) || v != 1 || !s.ReadUint16(&n) || !s.ReadBytes(&u, int(n)) ||
		!s.ReadUint16(&n) || !s.ReadBytes(&d, int(n)) || !s.CopyBytes(ntHash[:]) || !s.Empty() {
		return "", "", ntHash, secpkg.Errorf(secpkg.StatusNoCredentials, "ntlm: malformed logon session credential")
	}
	return string(u), string(d), ntHash, nil
}

// LogonUser is SpLogonUser: an interactive logon. The password must match
// the verifier of an account of the local store (checked inside the
// LSA's CheckLogon, which counts it towards lockout); an account the store
// does not know is refused exactly as a wrong password is, at the same
// cost. Only a LogonNewCredentials logon ("runas /netonly") keeps an
// identity unchecked, for outbound use, where the peer checks it. The
// logon session then holds the NT hash for default outbound credentials.
func (p *lsaPackage) LogonUser(ctx context.Context, req *secpkg.LogonRequest) (*secpkg.LogonResult, error) {
	id := req.Identity
	if id.User == "" {
		return nil, secpkg.Errorf(secpkg.StatusUnknownCredentials, "ntlm: logon without a user name")
	}
	ntHash := ntowfv1(id.Password)
	defer clear(ntHash[:])
	user, domain := id.User, id.Domain
	switch req.Type {
	case secpkg.LogonNewCredentials:
	case secpkg.LogonInteractive:
		acct, err := p.lsa.CheckLogon(ctx, id.Domain, id.User, func(verifier []byte) bool {
			hasVerifier := len(verifier) == 16
			if !hasVerifier {
				verifier = p.dummy[:]
			}
			return subtle.ConstantTimeCompare(verifier, ntHash[:]) == 1 && hasVerifier
		})
		if reason, ok := secpkg.LogonFailureReason(err); ok {
			p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: accountName(id.Domain, id.User), Reason: reason, Status: secpkg.StatusLogonDenied})
			return nil, errLogonFailure
		}
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: %w", err) // the LSA's refusal, audited or logged there
		}
		user, domain = acct.User, acct.Domain
	default:
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "ntlm: logon type %v", req.Type)
	}
	logon, err := p.lsa.CreateLogonSession(ctx, user, domain)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "ntlm: creating logon session: %w", err)
	}
	cred := packLogonCredential(user, domain, ntHash)
	defer clear(cred)
	if err := p.lsa.AddCredential(ctx, logon, logonCredentialKey, cred); err != nil {
		_ = p.lsa.DeleteLogonSession(ctx, logon)
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "ntlm: storing credential: %w", err)
	}
	return &secpkg.LogonResult{LogonID: logon, User: user, Domain: domain}, nil
}

// errLogonFailure is the one error every credential failure returns, so
// that an unknown account, a wrong password, a disabled and a locked
// account look alike. The reason goes to the audit log only.
var errLogonFailure = secpkg.Errorf(secpkg.StatusLogonDenied, "ntlm: the user name or password is incorrect")

// MakeVerifier is the NTLM verifier of a password: its NT hash
// (NTOWFv1, MS-NLMP 3.3.1), 16 bytes, password-equivalent.
func (p *lsaPackage) MakeVerifier(ctx context.Context, user, domain string, password []byte) ([]byte, error) {
	h := ntowfv1(password)
	return h[:], nil
}
