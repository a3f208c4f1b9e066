package opaque

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode"

	"github.com/opensspi/sspi/secpkg"
)

// Name is the package name.
const Name = "OPAQUE"

// Values of SecPkgInfo for OPAQUE.
const (
	capabilities = secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapConnection |
		secpkg.CapMultiRequired | secpkg.CapAcceptWin32Name | secpkg.CapMutualAuth | secpkg.CapLogon
	comment = "OPAQUE (RFC 9807) aPAKE: mutual password authentication, the server holds no password equivalent"
	// rpcID: OPAQUE has no RPC_C_AUTHN_* identifier.
	rpcID = secpkg.PackageIDNone
)

// New returns the OPAQUE security package configured by cfg; nil means
// the safe defaults of the zero [PackageConfig]. The value registers with
// secpkg.Register.
func New(cfg *PackageConfig) secpkg.Package {
	p := &pkg{}
	if cfg != nil {
		p.cfg = *cfg
	}
	return p
}

// pkg is the registered value: its two entry points, and the client's
// side of a registration.
type pkg struct{ cfg PackageConfig }

var (
	_ secpkg.Package         = (*pkg)(nil)
	_ secpkg.ClientRegistrar = (*pkg)(nil)
)

// NewClientRegistration implements secpkg.ClientRegistrar with
// NewRegistration: options is "" (the KSF the LSA asks for) or a KSF as
// ParseKSF reads it; the client refuses a KSF above the package's
// MaxKSFMemory, and the identity KSF unless InsecureAllowIdentityKSF.
func (p *pkg) NewClientRegistration(password []byte, options string) (secpkg.ClientRegistration, []byte, error) {
	opts := &RegistrationOptions{MaxKSFMemory: p.cfg.MaxKSFMemory, InsecureAllowIdentityKSF: p.cfg.InsecureAllowIdentityKSF}
	if options != "" {
		k, err := ParseKSF(options)
		if err != nil {
			return nil, nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "%w", err)
		}
		if err := p.cfg.ksfAllowed(k); err != nil {
			return nil, nil, secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "opaque: KSF %v: %w", k, err)
		}
		opts.KSF = k
	}
	r, req, err := NewRegistration(password, opts)
	if err != nil {
		return nil, nil, err
	}
	return r, req, nil
}

// LSAModeInitialize is SpLsaModeInitialize: a new LSA-mode half.
func (p *pkg) LSAModeInitialize(lsaVersion uint32) (uint32, secpkg.LSAPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "opaque: LSA interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, newLSAPackage(p.cfg), nil
}

// UserModeInitialize is SpUserModeInitialize: a new user-mode half.
func (p *pkg) UserModeInitialize(lsaVersion uint32) (uint32, secpkg.UserPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "opaque: interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &userPackage{}, nil
}

// lsaPackage is the LSA-mode half (SECPKG_FUNCTION_TABLE). It holds the
// passwords of outbound credentials (for the client's side of the
// protocol, stretching included), the server setup and the handshake
// states; only per-message keys leave it, in packed contexts.
type lsaPackage struct {
	cfg    PackageConfig
	id     uint32
	params secpkg.Parameters
	lsa    secpkg.LSAFunctions

	// stretches bounds concurrent KSF runs, in all and per caller.
	stretches *stretchLimiter

	setupMu sync.Mutex
	setup   *ServerSetup // nil until first needed
	// dummy is a stored record of the right shape for an unknown
	// account, parsed on its behalf so that it costs what a known one
	// does.
	dummy []byte

	creds secpkg.HandleTable[*credential]
	ctxs  secpkg.HandleTable[*lsaContext]
}

var (
	_ secpkg.LSAPackage          = (*lsaPackage)(nil)
	_ secpkg.LogonUserer         = (*lsaPackage)(nil)
	_ secpkg.VerifierMaker       = (*lsaPackage)(nil)
	_ secpkg.SessionKeyQuerier   = (*lsaPackage)(nil)
	_ secpkg.LSAMessageProtector = (*lsaPackage)(nil)
	_ secpkg.ContextMapper       = (*lsaPackage)(nil)
	_ Registrar                  = (*lsaPackage)(nil)
)

func newLSAPackage(cfg PackageConfig) *lsaPackage {
	return &lsaPackage{cfg: cfg, stretches: newStretchLimiter(cfg.maxConcurrentKSF(), cfg.maxConcurrentKSFPerCaller())}
}

// Initialize is SpInitialize.
func (p *lsaPackage) Initialize(ctx context.Context, id uint32, params *secpkg.Parameters, lsa secpkg.LSAFunctions) error {
	if lsa == nil {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: no LSA functions")
	}
	if err := p.cfg.KSF.Validate(); err != nil {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: PackageConfig.KSF: %w", err)
	}
	if err := p.cfg.ksfAllowed(p.cfg.KSF); err != nil {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: PackageConfig.KSF: %w", err)
	}
	p.id, p.lsa = id, lsa
	if params != nil {
		p.params = *params
	}
	if p.params.MachineName == "" {
		p.params.MachineName = defaultMachineName()
	}
	if p.params.DomainName == "" {
		p.params.DomainName = p.params.MachineName
	}
	return nil
}

// defaultMachineName is the NetBIOS-style name of this host, for an LSA
// that gave none.
func defaultMachineName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "LOCALHOST"
	}
	h, _, _ = strings.Cut(h, ".")
	if len(h) > 15 {
		h = h[:15]
	}
	return strings.ToUpper(h)
}

// GetInfo is SpGetInfo.
func (p *lsaPackage) GetInfo() secpkg.PackageInfo {
	return secpkg.PackageInfo{
		Capabilities: capabilities,
		Version:      1,
		RPCID:        rpcID,
		MaxToken:     maxKE1Token,
		Name:         Name,
		Comment:      comment,
	}
}

// Shutdown is SpShutdown: it drops and wipes every credential and
// context.
func (p *lsaPackage) Shutdown(ctx context.Context) error {
	for _, c := range p.creds.Drain() {
		c.wipe()
	}
	for _, c := range p.ctxs.Drain() {
		c.wipe()
	}
	return nil
}

// rand is the LSA's randomness.
func (p *lsaPackage) rand() io.Reader { return p.lsa.Rand() }

// secretStore is where the server setup lives: the configured store,
// else the LSA's if its support functions offer one
// (secpkg.SecretStore).
func (p *lsaPackage) secretStore() SecretStore {
	if p.cfg.Secrets != nil {
		return p.cfg.Secrets
	}
	if s, ok := p.lsa.(secpkg.SecretStore); ok {
		return s
	}
	return nil
}

// serverSetup returns the server setup, loading it from the secret store
// or creating it there on first use.
func (p *lsaPackage) serverSetup(ctx context.Context) (*ServerSetup, error) {
	p.setupMu.Lock()
	defer p.setupMu.Unlock()
	if p.setup != nil {
		return p.setup, nil
	}
	store := p.secretStore()
	if store == nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "opaque: no secret store for the server setup (PackageConfig.Secrets); this LSA cannot accept")
	}
	b, err := store.Secret(ctx, setupSecretName)
	if errors.Is(err, fs.ErrNotExist) {
		s, gerr := GenerateServerSetup(p.rand())
		if gerr != nil {
			return nil, secpkg.Errorf(secpkg.StatusInternalError, "%w", gerr)
		}
		fresh := s.Bytes()
		err = store.CreateSecret(ctx, setupSecretName, fresh)
		clear(fresh)
		switch {
		case err == nil:
			p.lsa.Logger().Info("opaque: created the server setup", "public_key", fmt.Sprintf("%x", s.publicKey))
			return p.useSetup(s)
		case errors.Is(err, fs.ErrExist):
			// Another LSA instance created it first: use that one.
			b, err = store.Secret(ctx, setupSecretName)
		}
	}
	if err != nil {
		st := secpkg.StatusInternalError
		if se := (*secpkg.Error)(nil); errors.As(err, &se) {
			st = se.Status // the LSA's own account of why (no store: SEC_E_NO_CREDENTIALS)
		}
		return nil, secpkg.Errorf(st, "opaque: loading the server setup: %w", err)
	}
	s, err := ParseServerSetup(b)
	clear(b)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: the stored server setup: %w", err)
	}
	return p.useSetup(s)
}

// useSetup installs the setup and the dummy record of its shape.
func (p *lsaPackage) useSetup(s *ServerSetup) (*ServerSetup, error) {
	fake := s.fakeRecord([]byte("OpenSSPI dummy record"))
	p.dummy = (&storedRecord{
		ksf:                  p.cfg.KSF.orDefault(),
		serverPublicKey:      s.PublicKey(),
		credentialIdentifier: credentialIdentifierOfKeys("", "\x00dummy"),
		record:               fake,
	}).marshal()
	p.setup = s
	return s, nil
}

// credentialIdentifier is the credential_identifier (RFC 9807 Section 8)
// of the account domain\user: the 16-bit length and UTF-8 of the
// account's domain key, then of its user key, as the LSA finds accounts
// (accountKey), so that every spelling of one account gives the one
// identifier, known account or not (doc/opaque.md).
func (p *lsaPackage) credentialIdentifier(domain, user string) []byte {
	d, u := p.accountKey(domain, user)
	return credentialIdentifierOfKeys(d, u)
}

func credentialIdentifierOfKeys(d, u string) []byte {
	b := make([]byte, 0, 4+len(d)+len(u))
	b = append(b, i2osp2(len(d))...)
	b = append(b, d...)
	b = append(b, i2osp2(len(u))...)
	return append(b, u...)
}

// accountKey is the LSA's key of an account name (secpkg.AccountKeyer):
// its rule for local domain names and case. An LSA without the support
// function gets the names folded as they are (foldKey), without its
// mapping of local names.
func (p *lsaPackage) accountKey(domain, user string) (string, string) {
	if k, ok := p.lsa.(secpkg.AccountKeyer); ok {
		return k.AccountKey(domain, user)
	}
	return foldKey(domain), foldKey(user)
}

// accountName formats DOMAIN\user.
func accountName(domain, user string) string {
	if domain == "" {
		return user
	}
	return domain + `\` + user
}

// credential is an acquired credentials handle. Outbound credentials hold
// the password, which the client's side of OPAQUE needs: it never leaves
// the LSA and the type redacts itself.
type credential struct {
	use       secpkg.CredentialUse
	user      string // outbound: the account name
	domain    string // outbound: its domain
	password  []byte // outbound
	principal string // inbound: the service principal (SPN)
	name      string // SecPkgCredentials_Names
}

// String describes the credential without its secret.
func (c *credential) String() string {
	return fmt.Sprintf("opaque.credential{%s %q password:REDACTED}", c.use, c.name)
}

// GoString keeps the password out of %#v.
func (c *credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c *credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("use", c.use.String()), slog.String("name", c.name), slog.String("password", "REDACTED"))
}

func (c *credential) wipe() { clear(c.password) }

// logonCredentialKey is the key under which LogonUser stores the password
// in a logon session (AddCredential).
const logonCredentialKey = "opaque-password"

// packLogonCredential encodes what a logon session keeps for OPAQUE:
// version 1, then the user, domain and password, each a 16-bit length
// and its bytes.
func packLogonCredential(user, domain string, password []byte) []byte {
	b := []byte{1}
	for _, f := range [][]byte{[]byte(user), []byte(domain), password} {
		b = append(b, i2osp2(len(f))...)
		b = append(b, f...)
	}
	return b
}

func unpackLogonCredential(b []byte) (user, domain string, password []byte, err error) {
	bad := secpkg.Errorf(secpkg.StatusNoCredentials, "opaque: malformed logon session credential")
	if len(b) < 1 || b[0] != 1 {
		return "", "", nil, bad
	}
	var fields [3][]byte
	rest := b[1:]
	for i := range fields {
		if len(rest) < 2 {
			return "", "", nil, bad
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return "", "", nil, bad
		}
		fields[i], rest = rest[2:2+n], rest[2+n:]
	}
	if len(rest) != 0 {
		return "", "", nil, bad
	}
	return string(fields[0]), string(fields[1]), append([]byte(nil), fields[2]...), nil
}

// AcquireCredentialsHandle is SpAcquireCredentialsHandle. Outbound
// credentials take the password from the explicit identity or, without
// one, from the caller's logon session; inbound credentials need the
// server setup, which is created now if this LSA has none yet.
func (p *lsaPackage) AcquireCredentialsHandle(ctx context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	use := req.Use &^ secpkg.CredentialDefault
	if use == 0 || use&^secpkg.CredentialBoth != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: credential use %v", req.Use)
	}
	if err := checkName("principal", []byte(req.Principal)); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "opaque: %v", err)
	}
	c := &credential{use: use, principal: req.Principal, name: req.Principal}
	if use&secpkg.CredentialOutbound != 0 {
		if err := p.outboundSecret(ctx, req, c); err != nil {
			return nil, err
		}
	}
	if use&secpkg.CredentialInbound != 0 {
		if _, err := p.serverSetup(ctx); err != nil {
			c.wipe()
			return nil, err
		}
	}
	h := p.creds.Add(c)
	return &secpkg.Credentials{Handle: h, Name: c.name}, nil
}

// outboundSecret fills an outbound credential.
func (p *lsaPackage) outboundSecret(ctx context.Context, req *secpkg.CredentialsRequest, c *credential) error {
	if id := req.Identity; id != nil {
		if id.User == "" {
			return secpkg.Errorf(secpkg.StatusUnknownCredentials, "opaque: no user name (OPAQUE has no anonymous logon)")
		}
		if err := checkName("user", []byte(id.User)); err != nil || checkName("domain", []byte(id.Domain)) != nil {
			return secpkg.Errorf(secpkg.StatusUnknownCredentials, "opaque: user or domain name not acceptable")
		}
		c.user, c.domain, c.password = id.User, id.Domain, append([]byte(nil), id.Password...)
		c.name = accountName(c.domain, c.user)
		return nil
	}
	logon := req.LogonID
	if logon == 0 {
		logon = p.lsa.GetCallInfo(ctx).LogonID
	}
	if logon == 0 {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "opaque: no identity and no logon session")
	}
	b, err := p.lsa.GetCredential(ctx, logon, logonCredentialKey)
	if err != nil {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "opaque: logon session %v: %w", logon, err)
	}
	c.user, c.domain, c.password, err = unpackLogonCredential(b)
	clear(b)
	if err != nil {
		return err
	}
	c.name = accountName(c.domain, c.user)
	return nil
}

// FreeCredentialsHandle is SpFreeCredentialsHandle.
func (p *lsaPackage) FreeCredentialsHandle(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.creds.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such credentials handle")
	}
	c.wipe()
	return nil
}

// QueryCredentialsAttributes is SpQueryCredentialsAttributes
// (SECPKG_CRED_ATTR_NAMES).
func (p *lsaPackage) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	c, ok := p.creds.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such credentials handle")
	}
	return &secpkg.Credentials{Handle: h, Name: c.name}, nil
}

// errLogonFailure is the one error of every failed password check, so
// that an unknown account, a wrong password, a disabled and a locked
// account look alike to the peer. The reason goes to the audit log only.
var errLogonFailure = secpkg.Errorf(secpkg.StatusLogonDenied, "opaque: the user name or password is incorrect")

// errClientLogonFailure is the client's one error at KE2: it cannot tell
// a wrong password from a server that lacks its record.
var errClientLogonFailure = secpkg.Errorf(secpkg.StatusLogonDenied, "opaque: the password is incorrect, or the server does not hold this account's record")

// foldKey is Unicode simple case folding to the smallest rune of each
// orbit (two names have one key exactly when strings.EqualFold says they
// are equal), for an LSA without secpkg.AccountKeyer, whose own rule
// (the account store's) is then unknown.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
