package sspi

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Credentials is a credentials handle (CredHandle) held in the LSA: the
// right to initiate or accept contexts as some principal. The application
// never holds the secret behind it.
type Credentials struct {
	p      *Provider
	handle lsa.SecHandle
	pkg    string
	use    CredentialUse
	name   string
	expiry time.Time

	mu    sync.Mutex
	freed bool
	// firsts are the repeatable first tokens of these credentials'
	// client contexts (lsa.ContextReply.Repeatable), by request: a new
	// context with the same request sends its first token without asking
	// the LSA, and hands it to the LSA with its second leg.
	firsts map[firstKey]firstLeg
}

// firstKey is what a repeatable first token depends on besides the
// credentials.
type firstKey struct {
	target   string
	flags    ISCFlags
	dataRep  uint32
	bindings string // the GSS encoding, after a byte that says whether there are any
}

// firstLeg is a repeatable first leg's reply, kept for the next context.
type firstLeg struct {
	token  []byte
	flags  secpkg.ContextFlags
	expiry time.Time
}

// maxFirsts bounds the repeatable first tokens kept per credentials (one
// per target and set of flags an application uses).
const maxFirsts = 16

// first returns the repeatable first leg kept for k, if any.
func (c *Credentials) first(k firstKey) (firstLeg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.firsts[k]
	return f, ok
}

// rememberFirst keeps r, a repeatable first leg's reply, for k.
func (c *Credentials) rememberFirst(k firstKey, r *lsa.ContextReply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firsts == nil {
		c.firsts = make(map[firstKey]firstLeg)
	}
	if _, ok := c.firsts[k]; ok || len(c.firsts) < maxFirsts {
		c.firsts[k] = firstLeg{token: bytes.Clone(r.Token), flags: r.Flags, expiry: r.Expiry}
	}
}

// forgetFirst drops the first leg kept for k: the LSA refused it.
func (c *Credentials) forgetFirst(k firstKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.firsts, k)
}

// CredentialsOptions are the optional arguments of AcquireCredentialsHandle.
type CredentialsOptions struct {
	// Principal is pszPrincipal: the name to act as. Servers pass their
	// service principal name here.
	Principal string
	// Identity is pAuthData: explicit credentials. Nil means the calling
	// user's default credentials (its logon session in the LSA).
	Identity *AuthIdentity
	// LogonID is pvLogonID: which of the caller's logon sessions supplies
	// default credentials. Zero means the most recent one.
	LogonID LogonID
	// PackageList is the PackageList of SEC_WINNT_AUTH_IDENTITY_EX: for
	// Negotiate, the packages it may choose, in order, comma-separated
	// ("Kerberos,NTLM"), or the ones it must not ("!NTLM"). Empty means
	// the LSA's configured order. Other packages ignore it.
	PackageList string
}

// AcquireCredentials acquires credentials for a package
// (AcquireCredentialsHandle). use says whether they initiate
// (CredentialOutbound), accept (CredentialInbound) or both.
func (p *Provider) AcquireCredentials(ctx context.Context, pkg string, use CredentialUse, opts *CredentialsOptions) (*Credentials, error) {
	if opts == nil {
		opts = &CredentialsOptions{}
	}
	r, err := p.conn.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{
		Package: pkg, Principal: opts.Principal, Use: use, LogonID: opts.LogonID, Identity: opts.Identity,
		PackageList: opts.PackageList,
	})
	if err != nil {
		return nil, packageHint(pkg, err)
	}
	return &Credentials{p: p, handle: r.Handle, pkg: r.Package, use: use, name: r.Name, expiry: r.Expiry}, nil
}

// AcquireCredentials acquires credentials from the default provider
// (AcquireCredentialsHandle).
func AcquireCredentials(ctx context.Context, pkg string, use CredentialUse, opts *CredentialsOptions) (*Credentials, error) {
	p, err := Default()
	if err != nil {
		return nil, err
	}
	return p.AcquireCredentials(ctx, pkg, use, opts)
}

// Package returns the name of the credentials' package.
func (c *Credentials) Package() string { return c.pkg }

// Use returns what the credentials were acquired for.
func (c *Credentials) Use() CredentialUse { return c.use }

// Expiry returns when the credentials expire (ptsExpiry); zero means never.
func (c *Credentials) Expiry() time.Time { return c.expiry }

// Name returns the principal the credentials act as, as reported when they
// were acquired.
func (c *Credentials) Name() string { return c.name }

// QueryName asks the LSA for the principal the credentials act as
// (QueryCredentialsAttributes, SECPKG_CRED_ATTR_NAMES).
func (c *Credentials) QueryName(ctx context.Context) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	r, err := c.p.conn.QueryCredentials(ctx, c.handle)
	if err != nil {
		return "", err
	}
	return r.Name, nil
}

func (c *Credentials) check() error {
	if c == nil {
		return secpkg.Errorf(StatusInvalidHandle, "sspi: nil credentials")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.freed {
		return secpkg.Errorf(StatusInvalidHandle, "sspi: credentials were freed")
	}
	return nil
}

// Free releases the credentials (FreeCredentialsHandle). Contexts
// established or being established with them keep working.
func (c *Credentials) Free() error {
	c.mu.Lock()
	if c.freed {
		c.mu.Unlock()
		return secpkg.Errorf(StatusInvalidHandle, "sspi: credentials were already freed")
	}
	c.freed = true
	c.mu.Unlock()
	ctx, cancel := c.p.bg()
	defer cancel()
	return c.p.conn.FreeCredentials(ctx, c.handle)
}
