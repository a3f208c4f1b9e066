package kerberos

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// Name is the package name, as Windows names its Kerberos package.
const Name = "Kerberos"

// Values of SecPkgInfo for Kerberos as EnumerateSecurityPackages reports
// them on Windows 10 and 11: cbMaxToken 48000 (the MaxTokenSize default
// since Windows 8, KB327825), wRPCID RPC_C_AUTHN_GSS_KERBEROS, and
// fCapabilities 0x028F3BBF.
const (
	maxToken     = cfxMaxToken
	capabilities = secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapTokenOnly |
		secpkg.CapDatagram | secpkg.CapConnection | secpkg.CapMultiRequired |
		secpkg.CapExtendedError | secpkg.CapImpersonation | secpkg.CapAcceptWin32Name |
		secpkg.CapNegotiable | secpkg.CapGSSCompatible | secpkg.CapLogon |
		secpkg.CapMutualAuth | secpkg.CapDelegation | secpkg.CapReadOnlyWithChecksum |
		secpkg.CapRestrictedTokens | secpkg.CapAppContainerChecks | secpkg.CapApplyLoopback
	comment = "Kerberos V5 Security Package"
)

// New returns the Kerberos security package configured by cfg; nil means
// the defaults of the zero [Config]. The value registers with
// secpkg.Register (packages/all does that with New(nil); lsad loads one
// built from lsad.toml in its place).
func New(cfg *Config) secpkg.Package {
	p := &pkg{}
	if cfg != nil {
		p.cfg = *cfg
		p.cfg.ConfigFiles = slices.Clone(cfg.ConfigFiles)
		p.cfg.Keytabs = slices.Clone(cfg.Keytabs)
	}
	return p
}

// pkg is the registered value: its two entry points.
type pkg struct{ cfg Config }

var (
	_ secpkg.Package             = (*pkg)(nil)
	_ secpkg.UserModeInitializer = (*pkg)(nil)
)

// LSAModeInitialize is SpLsaModeInitialize: a new LSA-mode half.
func (p *pkg) LSAModeInitialize(lsaVersion uint32) (uint32, secpkg.LSAPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "kerberos: LSA interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &lsaPackage{cfg: p.cfg}, nil
}

// UserModeInitialize is SpUserModeInitialize: a new user-mode half.
func (p *pkg) UserModeInitialize(version uint32) (uint32, secpkg.UserPackage, error) {
	if version < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "kerberos: interface version %#x too old", version)
	}
	return secpkg.InterfaceVersion, &userPackage{}, nil
}

// lsaPackage is the LSA-mode half (SECPKG_FUNCTION_TABLE). It holds every
// long-term secret of the package: passwords of explicit credentials,
// keytabs, TGTs (in logon sessions and credentials handles) and
// delegated tickets. Only context keys leave it, in packed contexts.
type lsaPackage struct {
	cfg    Config
	id     uint32
	params secpkg.Parameters
	lsa    secpkg.LSAFunctions
	log    *slog.Logger

	// The Kerberos configuration, loaded at Initialize; if there was
	// none, loaded again when a call needs it.
	confMu  sync.Mutex
	conf    *krb5.Config
	kdc     *krb5.Client
	confErr error

	keytabs  keytabCache
	creds    secpkg.HandleTable[*credential]
	ctxs     secpkg.HandleTable[*lsaContext]
	sessions sessionTable
}

var (
	_ secpkg.LSAPackage          = (*lsaPackage)(nil)
	_ secpkg.LogonUserer         = (*lsaPackage)(nil)
	_ secpkg.LSAMessageProtector = (*lsaPackage)(nil)
	_ secpkg.SessionKeyQuerier   = (*lsaPackage)(nil)
	_ secpkg.ContextMapper       = (*lsaPackage)(nil)
	_ secpkg.MechListMICer       = (*lsaPackage)(nil)
	_ secpkg.LogonTerminator     = (*lsaPackage)(nil)
	_ secpkg.CredentialLister    = (*lsaPackage)(nil)
)

// Initialize is SpInitialize. A host without a Kerberos configuration
// still loads the package: its calls then fail with
// SEC_E_NO_CREDENTIALS, saying why, until one appears.
func (p *lsaPackage) Initialize(ctx context.Context, id uint32, params *secpkg.Parameters, lsa secpkg.LSAFunctions) error {
	if lsa == nil {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "kerberos: no LSA functions")
	}
	p.id, p.lsa = id, lsa
	if params != nil {
		p.params = *params
	}
	p.log = lsa.Logger()
	p.sessions.init(p.cfg.maxCachedTickets())
	if _, err := p.krb(); err != nil {
		p.log.Info("kerberos: no configuration yet", "err", err)
	}
	return nil
}

// krb returns the Kerberos configuration and the KDC client, loading
// them if that has not succeeded yet.
func (p *lsaPackage) krb() (*krb5.Client, error) {
	p.confMu.Lock()
	defer p.confMu.Unlock()
	if p.kdc != nil {
		return p.kdc, nil
	}
	conf, err := krb5.LoadConfig(p.cfg.ConfigFiles...)
	if err != nil {
		p.confErr = secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: no Kerberos configuration: %w", err)
		return nil, p.confErr
	}
	// The package's own settings override krb5.conf's.
	if p.cfg.ClockSkew > 0 {
		conf.ClockSkew = p.cfg.ClockSkew
	}
	if conf.ClockSkew <= 0 {
		conf.ClockSkew = 5 * time.Minute
	}
	permitted := conf.PermittedETypes
	if permitted == nil {
		permitted = slices.Clone(krb5.DefaultETypes)
	}
	if p.cfg.InsecureLegacyETypes && !slices.Contains(permitted, krb5.RC4HMAC) {
		permitted = append(permitted, krb5.RC4HMAC)
	}
	conf.PermittedETypes = permitted
	p.conf = conf
	p.kdc = &krb5.Client{Config: conf, Time: p.lsa.Now, Rand: p.lsa.Rand(), Logger: p.log}
	p.confErr = nil
	return p.kdc, nil
}

// skew is the clock skew in force.
func (p *lsaPackage) skew() time.Duration {
	if kdc, err := p.krb(); err == nil {
		return kdc.Config.ClockSkew
	}
	if p.cfg.ClockSkew > 0 {
		return p.cfg.ClockSkew
	}
	return 5 * time.Minute
}

// GetInfo is SpGetInfo.
func (p *lsaPackage) GetInfo() secpkg.PackageInfo {
	return secpkg.PackageInfo{
		Capabilities: capabilities,
		Version:      1,
		RPCID:        secpkg.RPCAuthnGSSKerberos,
		MaxToken:     maxToken,
		Name:         Name,
		Comment:      comment,
	}
}

// Shutdown is SpShutdown: it drops and wipes every credential, context
// and ticket the package holds.
func (p *lsaPackage) Shutdown(ctx context.Context) error {
	for _, c := range p.creds.Drain() {
		c.wipe()
	}
	for _, c := range p.ctxs.Drain() {
		c.wipe()
	}
	p.sessions.wipeAll()
	return nil
}

// kdcContext bounds the KDC exchanges of one call.
func (p *lsaPackage) kdcContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.cfg.kdcTimeout())
}

// kdcCall is kdcContext made when the call first needs the KDC: most
// calls (an AP-REQ from a cached ticket) never do, and need no timer.
type kdcCall struct {
	p      *lsaPackage
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

// context returns the bounded context of the call's KDC exchanges.
func (k *kdcCall) context() context.Context {
	if k.ctx == nil {
		k.ctx, k.cancel = k.p.kdcContext(k.parent)
	}
	return k.ctx
}

// done releases the bound, if it was made.
func (k *kdcCall) done() {
	if k.cancel != nil {
		k.cancel()
	}
}

// mayDelegate reports whether the initiator delegates to a service whose
// ticket has the given flags.
func (p *lsaPackage) mayDelegate(conf *krb5.Config, svc krb5.TicketFlags) bool {
	switch p.cfg.Delegation {
	case DelegateAlways:
		return true
	case DelegateIfOKAsDelegate:
		return svc.Has(krb5.FlagOKAsDelegate)
	}
	return conf.MayDelegate(svc)
}
