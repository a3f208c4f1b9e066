package negotiate

import (
	"context"
	"errors"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// credential is a Negotiate credentials handle: one credentials handle of
// each negotiable package that could give one, in preference order.
type credential struct {
	use       secpkg.CredentialUse
	principal string
	subs      []subCredential
	name      string
	expiry    time.Time
}

type subCredential struct {
	pkg subPackage
	h   secpkg.Handle
}

// AcquireCredentialsHandle is SpAcquireCredentialsHandle: it acquires the
// same credentials from every negotiable package and keeps those that
// answer. A package that cannot give credentials (Kerberos without a
// keytab for the principal, say) is left out of the negotiation; only
// when none can is it an error, the first package's.
func (p *lsaPackage) AcquireCredentialsHandle(ctx context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	cred := &credential{use: req.Use, principal: req.Principal}
	var first error
	for _, sp := range p.candidates() {
		c, err := sp.lsa.AcquireCredentialsHandle(ctx, req)
		if err != nil {
			if first == nil {
				first = err
			}
			p.lsa.Logger().Debug("negotiate: package gives no credentials", "package", sp.name, "err", err)
			continue
		}
		if cred.name == "" {
			cred.name, cred.expiry = c.Name, c.Expiry
		}
		cred.subs = append(cred.subs, subCredential{pkg: sp, h: c.Handle})
	}
	if len(cred.subs) == 0 {
		if first == nil {
			first = secpkg.Errorf(secpkg.StatusNoCredentials, "negotiate: no negotiable package is enabled")
		}
		return nil, first
	}
	h := p.creds.Add(cred)
	return &secpkg.Credentials{Handle: h, Name: cred.name, Expiry: cred.expiry}, nil
}

// FreeCredentialsHandle is SpFreeCredentialsHandle. Contexts that use the
// credentials keep their own reference (the LSA frees a credentials
// handle only when no context uses it).
func (p *lsaPackage) FreeCredentialsHandle(ctx context.Context, h secpkg.Handle) error {
	cred, ok := p.creds.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such credentials handle")
	}
	var errs []error
	for _, s := range cred.subs {
		errs = append(errs, s.pkg.lsa.FreeCredentialsHandle(ctx, s.h))
	}
	return errors.Join(errs...)
}

// QueryCredentialsAttributes is SpQueryCredentialsAttributes.
func (p *lsaPackage) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	cred, ok := p.creds.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "negotiate: no such credentials handle")
	}
	return &secpkg.Credentials{Handle: h, Name: cred.name, Expiry: cred.expiry}, nil
}

// sub returns the credentials of the package named by m, if any.
func (c *credential) sub(m mech) (subCredential, bool) {
	for _, s := range c.subs {
		if s.pkg.name == m.name {
			return s, true
		}
	}
	return subCredential{}, false
}
