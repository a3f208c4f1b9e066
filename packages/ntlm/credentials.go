package ntlm

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/opensspi/sspi/secpkg"
)

// credential is an acquired credentials handle. Outbound credentials
// hold the NT hash (password-equivalent): it never leaves the LSA and the
// type redacts itself.
type credential struct {
	use       secpkg.CredentialUse
	user      string   // outbound: the account name
	domain    string   // outbound: its domain
	ntHash    [16]byte // outbound: NTOWFv1 of the password
	anonymous bool     // outbound: empty user and password (MS-NLMP 3.2.5.1.2)
	principal string   // inbound: the service principal (SPN) for target-name checks
	name      string   // SecPkgCredentials_Names
}

// String describes the credential without its secret.
func (c *credential) String() string {
	return fmt.Sprintf("ntlm.credential{%s %q nthash:REDACTED}", c.use, c.name)
}

// GoString keeps the NT hash out of %#v.
func (c *credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c *credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("use", c.use.String()), slog.String("name", c.name), slog.String("nthash", "REDACTED"))
}

func (c *credential) wipe() { clear(c.ntHash[:]) }

// AcquireCredentialsHandle is SpAcquireCredentialsHandle.
func (p *lsaPackage) AcquireCredentialsHandle(ctx context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	use := req.Use &^ secpkg.CredentialDefault
	if use == 0 || use&^secpkg.CredentialBoth != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "ntlm: credential use %v", req.Use)
	}
	c := &credential{use: use, principal: req.Principal, name: req.Principal}
	if use&secpkg.CredentialOutbound != 0 {
		if err := p.outboundSecret(ctx, req, c); err != nil {
			return nil, err
		}
	}
	h := p.creds.Add(c)
	return &secpkg.Credentials{Handle: h, Name: c.name}, nil
}

// outboundSecret fills an outbound credential from the explicit identity,
// or from the caller's logon session when there is none.
func (p *lsaPackage) outboundSecret(ctx context.Context, req *secpkg.CredentialsRequest, c *credential) error {
	if id := req.Identity; id != nil {
		switch {
		case id.User == "" && len(id.Password) == 0:
			c.anonymous = true
			c.name = "ANONYMOUS"
			return nil
		case id.User == "":
			return secpkg.Errorf(secpkg.StatusUnknownCredentials, "ntlm: password without a user name")
		}
		c.user, c.domain = id.User, id.Domain
		c.ntHash = ntowfv1(id.Password)
		c.name = accountName(c.domain, c.user)
		return nil
	}
	logon := req.LogonID
	if logon == 0 {
		logon = p.lsa.GetCallInfo(ctx).LogonID
	}
	if logon == 0 {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "ntlm: no identity and no logon session")
	}
	b, err := p.lsa.GetCredential(ctx, logon, logonCredentialKey)
	if err != nil {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "ntlm: logon session %v: %w", logon, err)
	}
	c.user, c.domain, c.ntHash, err = unpackLogonCredential(b)
	clear(b)
	if err != nil {
		return err
	}
	c.name = accountName(c.domain, c.user)
	return nil
}

// accountName formats DOMAIN\user.
func accountName(domain, user string) string {
	if domain == "" {
		return user
	}
	return domain + `\` + user
}

// FreeCredentialsHandle is SpFreeCredentialsHandle.
func (p *lsaPackage) FreeCredentialsHandle(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.creds.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	c.wipe()
	return nil
}

// QueryCredentialsAttributes is SpQueryCredentialsAttributes
// (SECPKG_CRED_ATTR_NAMES).
func (p *lsaPackage) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	c, ok := p.creds.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	return &secpkg.Credentials{Handle: h, Name: c.name}, nil
}
