package ntlm

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/internal/wire"
	"github.com/opensspi/sspi/secpkg"
)

// Name is the package name, as Windows names msv1_0's NTLM package.
const Name = "NTLM"

// Values of SecPkgInfo for NTLM, as Windows reports them (sspi-surface.md
// section 6).
const (
	maxToken     = 2888 // cbMaxToken
	capabilities = secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapTokenOnly |
		secpkg.CapConnection | secpkg.CapMultiRequired | secpkg.CapImpersonation |
		secpkg.CapAcceptWin32Name | secpkg.CapNegotiable | secpkg.CapLogon
	comment = "NTLM Security Package"
)

// New returns the NTLM security package configured by cfg; nil means the
// safe defaults of the zero [Config]. The value registers with
// secpkg.Register (packages/all does that).
func New(cfg *Config) secpkg.Package {
	p := &pkg{}
	if cfg != nil {
		p.cfg = *cfg
	}
	return p
}

// pkg is the registered value: its two entry points.
type pkg struct{ cfg Config }

var _ secpkg.Package = (*pkg)(nil)

// LSAModeInitialize is SpLsaModeInitialize: a new LSA-mode half.
func (p *pkg) LSAModeInitialize(lsaVersion uint32) (uint32, secpkg.LSAPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: LSA interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &lsaPackage{cfg: p.cfg}, nil
}

// UserModeInitialize is SpUserModeInitialize: a new user-mode half.
func (p *pkg) UserModeInitialize(lsaVersion uint32) (uint32, secpkg.UserPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &userPackage{}, nil
}

// lsaPackage is the LSA-mode half (SECPKG_FUNCTION_TABLE). It holds the
// credentials (NT hashes) and the handshake state; only session keys leave
// it, in packed contexts.
type lsaPackage struct {
	cfg    Config
	id     uint32
	params secpkg.Parameters
	lsa    secpkg.LSAFunctions
	// dummy is the verifier used for unknown accounts, so that they take
	// the same path as wrong passwords.
	dummy [16]byte

	creds handleTable[*credential]
	ctxs  handleTable[*lsaContext]

	// Reflection detection (MS08-068, CVE-2025-33073): the challenges
	// our acceptor has issued and not yet seen answered, with the
	// principal each was issued for. Only handshakes in progress are
	// here, so the table is bounded by them, not by the handshake rate.
	mu     sync.Mutex
	issued issuedTable
}

var (
	_ secpkg.LSAPackage          = (*lsaPackage)(nil)
	_ secpkg.LogonUserer         = (*lsaPackage)(nil)
	_ secpkg.VerifierMaker       = (*lsaPackage)(nil)
	_ secpkg.SessionKeyQuerier   = (*lsaPackage)(nil)
	_ secpkg.LSAMessageProtector = (*lsaPackage)(nil)
	_ secpkg.ContextMapper       = (*lsaPackage)(nil)
)

// maxSelfChallenges bounds the outstanding challenges. When that many
// handshakes are waiting for their AUTHENTICATE_MESSAGE, new ones fail
// rather than weaken reflection detection.
const maxSelfChallenges = 1 << 16

// Initialize is SpInitialize.
func (p *lsaPackage) Initialize(ctx context.Context, id uint32, params *secpkg.Parameters, lsa secpkg.LSAFunctions) error {
	if lsa == nil {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "ntlm: no LSA functions")
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
	if _, err := io.ReadFull(lsa.Rand(), p.dummy[:]); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "ntlm: reading randomness: %w", err)
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
		RPCID:        secpkg.RPCAuthnWinNT,
		MaxToken:     maxToken,
		Name:         Name,
		Comment:      comment,
	}
}

// Shutdown is SpShutdown: it drops and wipes every credential and context.
func (p *lsaPackage) Shutdown(ctx context.Context) error {
	for _, c := range p.creds.drain() {
		c.wipe()
	}
	for _, c := range p.ctxs.drain() {
		c.wipe()
	}
	p.mu.Lock()
	p.issued = issuedTable{}
	p.mu.Unlock()
	return nil
}

// now is the LSA's clock.
func (p *lsaPackage) now() time.Time { return p.lsa.Now() }

// random fills b from the LSA's randomness.
func (p *lsaPackage) random(b []byte) error {
	if _, err := io.ReadFull(p.lsa.Rand(), b); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "ntlm: reading randomness: %w", err)
	}
	return nil
}

// noteIssued records a challenge our acceptor issued for principal. It
// fails if the challenge is already outstanding (a repeat of our own
// randomness must never be answered twice) or too many are.
func (p *lsaPackage) noteIssued(c [8]byte, until time.Time, principal string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.add(c, until, principal, p.now())
}

// forgetIssued removes a challenge once its context is done.
func (p *lsaPackage) forgetIssued(c [8]byte) {
	p.mu.Lock()
	p.issued.remove(c)
	p.mu.Unlock()
}

// issuedFor reports whether our acceptor issued c, still outstanding, and
// for which principal.
func (p *lsaPackage) issuedFor(c [8]byte) (principal string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.get(c, p.now())
}

// issuedTable is the set of outstanding challenges. Entries leave when
// their handshake ends, or when they expire; expiries are kept in issue
// order (every challenge lives as long), so pruning is amortized O(1).
type issuedTable struct {
	m     map[[8]byte]issuedChallenge
	order [][8]byte // issue order; may hold challenges already removed
}

type issuedChallenge struct {
	until     time.Time
	principal string
}

func (t *issuedTable) add(c [8]byte, until time.Time, principal string, now time.Time) error {
	if t.m == nil {
		t.m = make(map[[8]byte]issuedChallenge)
	}
	t.prune(now)
	if _, dup := t.m[c]; dup {
		return secpkg.Errorf(secpkg.StatusInternalError, "ntlm: server challenge repeated")
	}
	if len(t.m) >= maxSelfChallenges {
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "ntlm: too many outstanding challenges")
	}
	t.m[c] = issuedChallenge{until, principal}
	t.order = append(t.order, c)
	return nil
}

func (t *issuedTable) remove(c [8]byte) { delete(t.m, c) }

func (t *issuedTable) get(c [8]byte, now time.Time) (string, bool) {
	e, ok := t.m[c]
	if !ok || !now.Before(e.until) {
		return "", false
	}
	return e.principal, true
}

// prune drops expired challenges from the front of the issue order, and
// compacts the order once most of it names removed challenges.
func (t *issuedTable) prune(now time.Time) {
	i := 0
	for ; i < len(t.order); i++ {
		e, ok := t.m[t.order[i]]
		if ok && now.Before(e.until) {
			break
		}
		if ok {
			delete(t.m, t.order[i])
		}
	}
	t.order = t.order[i:]
	if len(t.order) > 64 && len(t.order) > 4*len(t.m) {
		live := t.order[:0:0]
		for _, c := range t.order {
			if _, ok := t.m[c]; ok {
				live = append(live, c)
			}
		}
		t.order = live
	}
}

// handleTable gives values random, non-zero handles, like
// secpkg.HandleTable, and can also be drained at shutdown (which
// secpkg.HandleTable cannot).
type handleTable[T any] struct {
	mu sync.Mutex
	m  map[secpkg.Handle]T
}

func (t *handleTable[T]) add(v T) secpkg.Handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[secpkg.Handle]T)
	}
	for {
		var b [8]byte
		rand.Read(b[:])
		h := secpkg.Handle(binary.LittleEndian.Uint64(b[:]))
		if _, taken := t.m[h]; h != 0 && !taken {
			t.m[h] = v
			return h
		}
	}
}

func (t *handleTable[T]) get(h secpkg.Handle) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	return v, ok
}

func (t *handleTable[T]) remove(h secpkg.Handle) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	delete(t.m, h)
	return v, ok
}

func (t *handleTable[T]) drain() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]T, 0, len(t.m))
	for _, v := range t.m {
		out = append(out, v)
	}
	clear(t.m)
	return out
}

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
	h := p.creds.add(c)
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
	c, ok := p.creds.remove(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	c.wipe()
	return nil
}

// QueryCredentialsAttributes is SpQueryCredentialsAttributes
// (SECPKG_CRED_ATTR_NAMES).
func (p *lsaPackage) QueryCredentialsAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	c, ok := p.creds.get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such credentials handle")
	}
	return &secpkg.Credentials{Handle: h, Name: c.name}, nil
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
