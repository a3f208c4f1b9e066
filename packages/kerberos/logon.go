package kerberos

import (
	"context"
	"errors"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// LogonUser is SpLogonUser: an interactive logon to a Kerberos realm, as
// kinit makes one. The KDC checks the password (the AS exchange with
// PA-ENC-TIMESTAMP and the KDC's salt), and the TGT it issues goes into a
// new logon session of the caller, in the LSA, where default credentials
// (AcquireCredentials without explicit credentials) find it. The password
// is not kept. The user is "alice" with the realm as the domain (or the
// default realm), "alice@REALM" or "REALM\alice"; or, in place of the
// password, packed credentials: a keytab (the AS exchange with its keys)
// or a credentials cache (its TGT), as bytes or as a file the LSA opens
// with the caller's rights.
func (p *lsaPackage) LogonUser(ctx context.Context, req *secpkg.LogonRequest) (*secpkg.LogonResult, error) {
	kdc, err := p.krb()
	if err != nil {
		return nil, err
	}
	id := req.Identity
	switch req.Type {
	case secpkg.LogonInteractive:
	case secpkg.LogonNewCredentials:
		if id.Packed == nil {
			return p.logonNewCredentials(ctx, kdc.Config, &id)
		}
		// A keytab or a ccache is a credential of its own: taken as for
		// an interactive logon.
	default:
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "kerberos: logon type %v", req.Type)
	}
	kctx, cancel := p.kdcContext(ctx)
	defer cancel()
	tgt, err := p.logonTGT(kctx, kdc, &id)
	if err != nil {
		return nil, err
	}
	defer destroyCredential(tgt)
	user, realm := tgt.Client.NameString(), tgt.Client.Realm
	logon, err := p.lsa.CreateLogonSession(ctx, user, realm)
	if err != nil {
		return nil, err
	}
	blob := storedTGT(tgt)
	defer clear(blob)
	if err := p.lsa.AddCredential(ctx, logon, credKeyTGT, blob); err != nil {
		p.lsa.DeleteLogonSession(ctx, logon)
		return nil, err
	}
	if _, err := p.sessions.cache(logon, blob); err != nil {
		p.lsa.DeleteLogonSession(ctx, logon)
		return nil, err
	}
	p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonSuccess, Principal: tgt.Client.String()})
	return &secpkg.LogonResult{LogonID: logon, User: user, Domain: realm}, nil
}

// credKeyPassword is the key of the password of a NewCredentials logon
// ("runas /netonly"), kept in the logon session until its TGT is got.
const credKeyPassword = "krb5-password-v1"

// logonNewCredentials is a NewCredentials logon: nothing is checked now;
// the logon session keeps the principal and the password, and the AS
// exchange is made when default credentials are first used, by the KDC
// that then checks the password.
func (p *lsaPackage) logonNewCredentials(ctx context.Context, conf *krb5.Config, id *secpkg.AuthIdentity) (*secpkg.LogonResult, error) {
	client, err := clientPrincipal(conf, id.User, id.Domain)
	if err != nil {
		return nil, err
	}
	if len(id.Password) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "kerberos: logon of %v without a password", client)
	}
	if len(client.String()) > 0xffff {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "kerberos: principal name too long")
	}
	user, realm := client.NameString(), client.Realm
	logon, err := p.lsa.CreateLogonSession(ctx, user, realm)
	if err != nil {
		return nil, err
	}
	blob := packPassword(client, id.Password)
	defer clear(blob)
	if err := p.lsa.AddCredential(ctx, logon, credKeyPassword, blob); err != nil {
		p.lsa.DeleteLogonSession(ctx, logon)
		return nil, err
	}
	return &secpkg.LogonResult{LogonID: logon, User: user, Domain: realm}, nil
}

// packPassword encodes a principal and its password for a logon session:
// version 1, the principal's text form (16-bit length), the password.
func packPassword(client krb5.Principal, password []byte) []byte {
	name := client.String()
	b := []byte{1, byte(len(name) >> 8), byte(len(name))}
	b = append(b, name...)
	return append(b, password...)
}

// unpackPassword decodes packPassword's output.
func unpackPassword(conf *krb5.Config, b []byte) (krb5.Principal, []byte, error) {
	if len(b) < 3 || b[0] != 1 || len(b) < 3+(int(b[1])<<8|int(b[2])) {
		return krb5.Principal{}, nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: malformed logon session password")
	}
	n := int(b[1])<<8 | int(b[2])
	client, err := conf.Principal(string(b[3 : 3+n]))
	if err != nil {
		return krb5.Principal{}, nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: logon session principal: %w", err)
	}
	return client, b[3+n:], nil
}

// sessionTGT returns the stored TGT of logon session id, getting it from
// the KDC first for a NewCredentials logon that has none yet.
func (p *lsaPackage) sessionTGT(ctx context.Context, kdc *krb5.Client, id secpkg.LogonID) ([]byte, error) {
	blob, err := p.lsa.GetCredential(ctx, id, credKeyTGT)
	if !errors.Is(err, secpkg.ErrNoCredential) {
		return blob, err
	}
	pw, err := p.lsa.GetCredential(ctx, id, credKeyPassword)
	if err != nil {
		return nil, err
	}
	defer clear(pw)
	client, password, err := unpackPassword(kdc.Config, pw)
	if err != nil {
		return nil, err
	}
	kctx, cancel := p.kdcContext(ctx)
	defer cancel()
	tgt, err := kdc.GetInitialCredentialsPassword(kctx, client, string(password), nil)
	if err != nil {
		if secpkg.StatusOf(err) == secpkg.StatusLogonDenied {
			p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: client.String(), Reason: "the KDC refused the AS exchange of a NewCredentials logon", Status: secpkg.StatusLogonDenied})
		}
		return nil, err
	}
	defer destroyCredential(tgt)
	blob = storedTGT(tgt)
	if err := p.lsa.AddCredential(ctx, id, credKeyTGT, blob); err != nil {
		clear(blob)
		return nil, err
	}
	return blob, nil
}

// logonTGT gets the TGT of a logon: the AS exchange with the password,
// or with the keys of a keytab the caller passed, or the TGT of a
// credentials cache the caller passed (imported as it is, as `kinit -c`
// then `sspi logon --ccache` would).
func (p *lsaPackage) logonTGT(ctx context.Context, kdc *krb5.Client, id *secpkg.AuthIdentity) (*krb5.Credential, error) {
	if id.Packed != nil {
		o, err := p.packedInitiator(ctx, kdc.Config, id, "", p.cfg.maxCachedTickets())
		if err != nil {
			return nil, err
		}
		defer func() { o.own.wipe() }()
		// ctx is already bounded for the KDC (LogonUser's kdcContext).
		_, tgt, err := p.tgtOf(ctx, &kdcCall{ctx: ctx}, kdc, o)
		if err != nil {
			return nil, err
		}
		return tgt, nil
	}
	client, err := clientPrincipal(kdc.Config, id.User, id.Domain)
	if err != nil {
		return nil, err
	}
	if len(id.Password) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusLogonDenied, "kerberos: logon of %v without a password", client)
	}
	tgt, err := kdc.GetInitialCredentialsPassword(ctx, client, string(id.Password), nil)
	if err != nil {
		if secpkg.StatusOf(err) == secpkg.StatusLogonDenied {
			p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: client.String(), Reason: "the KDC refused the AS exchange", Status: secpkg.StatusLogonDenied})
		}
		return nil, err
	}
	return tgt, nil
}

// LogonTerminated is SpLogonTerminated: the LSA ended a logon session,
// whose TGT it has wiped; the service tickets obtained with it go too.
func (p *lsaPackage) LogonTerminated(ctx context.Context, id secpkg.LogonID) {
	p.sessions.drop(id)
}

// ListCredentials implements secpkg.CredentialLister: the tickets of a
// logon session, as klist lists them (the TGT, then the service tickets
// obtained with it, least recently used first), without their keys.
func (p *lsaPackage) ListCredentials(ctx context.Context, id secpkg.LogonID) ([]secpkg.CredentialInfo, error) {
	blob, err := p.lsa.GetCredential(ctx, id, credKeyTGT)
	if errors.Is(err, secpkg.ErrNoCredential) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cache, err := p.sessions.cache(id, blob)
	clear(blob)
	if err != nil {
		return nil, err
	}
	return cache.describe(), nil
}
