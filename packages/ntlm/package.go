package ntlm

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Name is the package name, as Windows names msv1_0's NTLM package.
const Name = "NTLM"

// Values of SecPkgInfo (SecPkgInfoW in sspi.h) for NTLM, as
// EnumerateSecurityPackages reports them on Windows: cbMaxToken 2888,
// wRPCID RPC_C_AUTHN_WINNT, and the SECPKG_FLAG_* capabilities below.
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

	creds secpkg.HandleTable[*credential]
	ctxs  secpkg.HandleTable[*lsaContext]

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
	for _, c := range p.creds.Drain() {
		c.wipe()
	}
	for _, c := range p.ctxs.Drain() {
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
