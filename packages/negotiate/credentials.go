package negotiate

import (
	"context"
	"errors"
	"strings"
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
	cands, err := filterPackages(p.candidates(), req.PackageList)
	if err != nil {
		return nil, err
	}
	var first error
	for _, sp := range cands {
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

// filterPackages applies a credential's PackageList (the PackageList of
// SEC_WINNT_AUTH_IDENTITY_EX) to the enabled candidates: names list the
// packages to use, in that order; names after "!" the packages not to
// use. A name Negotiate cannot choose is an error, so that a typo does
// not silently widen the choice.
func filterPackages(cands []subPackage, list string) ([]subPackage, error) {
	if strings.TrimSpace(list) == "" {
		return cands, nil
	}
	var want []string
	exclude := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		neg := strings.HasPrefix(item, "!")
		name := strings.TrimSpace(strings.TrimPrefix(item, "!"))
		m, ok := mechByName(name)
		if !ok {
			return nil, secpkg.Errorf(secpkg.StatusPackageNotFound, "negotiate: package list names %q, which Negotiate cannot choose", name)
		}
		if neg {
			exclude[m.name] = true
		} else {
			want = append(want, m.name)
		}
	}
	var out []subPackage
	if want == nil {
		for _, c := range cands {
			if !exclude[c.name] {
				out = append(out, c)
			}
		}
	} else {
		for _, name := range want {
			for _, c := range cands {
				if c.name == name && !exclude[name] {
					out = append(out, c)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "negotiate: the package list %q leaves no enabled package", list)
	}
	return out, nil
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
