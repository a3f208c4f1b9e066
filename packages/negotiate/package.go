package negotiate

import (
	"context"
	"encoding/asn1"
	"strings"

	"github.com/opensspi/sspi/secpkg"
)

// Name is the package name, as Windows names it.
const Name = "Negotiate"

// Values of SecPkgInfo for Negotiate, as Windows reports them: the
// largest token is Kerberos' 48,000 bytes plus the SPNEGO wrapping.
const (
	maxToken     = 48256 // cbMaxToken
	rpcID        = 9     // RPC_C_AUTHN_GSS_NEGOTIATE
	capabilities = secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapConnection |
		secpkg.CapMultiRequired | secpkg.CapExtendedError | secpkg.CapImpersonation |
		secpkg.CapAcceptWin32Name | secpkg.CapNegotiable | secpkg.CapGSSCompatible |
		secpkg.CapLogon | secpkg.CapMutualAuth | secpkg.CapDelegation
	comment = "Microsoft Package Negotiator"
)

// DefaultPackages is the order of preference when a Config names none:
// Kerberos, then NTLM (MS-SPNG 3.1.5.2).
var DefaultPackages = []string{"Kerberos", "NTLM"}

// Config configures the Negotiate package. The zero value negotiates
// DefaultPackages.
type Config struct {
	// Packages lists the packages Negotiate may choose, most preferred
	// first. Only packages with a GSS-API mechanism OID can be
	// negotiated (Kerberos, NTLM); a package that is not enabled in the
	// LSA is skipped.
	Packages []string
	// LegacyKerberosOID makes the initiator offer Kerberos as Windows
	// does: under the OID Windows 2000 misencoded (1.2.840.48018.1.2.2)
	// first, then under the standard one (MS-SPNG 3.1.5.2). Acceptors
	// that know only the legacy OID (old Windows) then choose Kerberos;
	// MIT and Windows acceptors answer with the OID they matched, which
	// names Kerberos either way. The acceptor always takes both.
	LegacyKerberosOID bool
}

// mech is a negotiable package: its name, the OID it is offered under,
// and the OIDs a peer may name it by.
type mech struct {
	name    string
	oid     asn1.ObjectIdentifier
	aliases []asn1.ObjectIdentifier
}

// mechs are the packages SPNEGO can name (MS-SPNG 1.9).
var mechs = []mech{
	{name: "Kerberos", oid: oidKerberos, aliases: []asn1.ObjectIdentifier{oidKerberos, oidMSKerberos}},
	{name: "NTLM", oid: oidNTLM, aliases: []asn1.ObjectIdentifier{oidNTLM}},
}

func mechByName(name string) (mech, bool) {
	for _, m := range mechs {
		if strings.EqualFold(m.name, name) {
			return m, true
		}
	}
	return mech{}, false
}

// names reports whether oid names m (the MS Kerberos OID names
// Kerberos, MS-SPNG 3.1.5.2).
func (m mech) names(oid asn1.ObjectIdentifier) bool {
	for _, a := range m.aliases {
		if a.Equal(oid) {
			return true
		}
	}
	return false
}

// New returns the Negotiate security package configured by cfg; nil
// means the zero Config. packages/all registers it.
func New(cfg *Config) secpkg.Package {
	p := &pkg{}
	if cfg != nil {
		p.cfg = *cfg
	}
	return p
}

type pkg struct{ cfg Config }

// LSAModeInitialize is SpLsaModeInitialize.
func (p *pkg) LSAModeInitialize(lsaVersion uint32) (uint32, secpkg.LSAPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: LSA interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &lsaPackage{cfg: p.cfg}, nil
}

// UserModeInitialize is SpUserModeInitialize.
func (p *pkg) UserModeInitialize(lsaVersion uint32) (uint32, secpkg.UserPackage, error) {
	if lsaVersion < secpkg.InterfaceVersion {
		return 0, nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: interface version %#x too old", lsaVersion)
	}
	return secpkg.InterfaceVersion, &userPackage{}, nil
}

// lsaPackage is the LSA-mode half: it holds no secret of its own, only
// handles of the packages it drives.
type lsaPackage struct {
	cfg Config
	id  uint32
	lsa secpkg.LSAFunctions

	creds secpkg.HandleTable[*credential]
	ctxs  secpkg.HandleTable[*lsaContext]
}

// Initialize is SpInitialize.
func (p *lsaPackage) Initialize(ctx context.Context, id uint32, params *secpkg.Parameters, lsa secpkg.LSAFunctions) error {
	p.id, p.lsa = id, lsa
	names := p.cfg.Packages
	if names == nil {
		names = DefaultPackages
	}
	for _, n := range names {
		if _, ok := mechByName(n); !ok {
			return secpkg.Errorf(secpkg.StatusCannotInstall, "negotiate: %q cannot be negotiated (no GSS-API mechanism)", n)
		}
	}
	return nil
}

// GetInfo is SpGetInfo.
func (p *lsaPackage) GetInfo() secpkg.PackageInfo {
	return secpkg.PackageInfo{Capabilities: capabilities, Version: 1, RPCID: rpcID, MaxToken: maxToken, Name: Name, Comment: comment}
}

// subPackage is a negotiable package found in the LSA.
type subPackage struct {
	mech
	lsa secpkg.LSAPackage
}

// candidates returns the enabled negotiable packages in preference
// order. They are located on every call: the LSA may enable or disable
// packages while it runs.
func (p *lsaPackage) candidates() []subPackage {
	names := p.cfg.Packages
	if names == nil {
		names = DefaultPackages
	}
	var out []subPackage
	for _, n := range names {
		m, _ := mechByName(n)
		if lp, ok := p.lsa.LocatePackage(m.name); ok {
			out = append(out, subPackage{mech: m, lsa: lp})
		}
	}
	return out
}

// Shutdown is SpShutdown: it frees what the sub-packages still hold for
// Negotiate.
func (p *lsaPackage) Shutdown(ctx context.Context) error {
	return nil
}
