package secpkg

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"
)

// Handle is an LSA_SEC_HANDLE: the LSA-mode half's own name for a
// credentials handle or a context, meaningful only to the package that
// issued it. The zero Handle means "none" (a first call has no context
// yet). The LSA never shows a package handle to an application; it gives
// the application its own random, owner-bound SecHandle (package lsa)
// instead, and maps one onto the other.
type Handle uint64

// UserContextHandle names a mapped context to the package's user-mode
// half: the provider chooses it, passes it to SpInitUserModeContext
// ([UserPackage.InitUserModeContext]) and SpImportSecurityContext, and the
// user-mode half passes it back in [UserFunctions.CallLSA]. Windows hands
// the user-mode half the LSA_SEC_HANDLE of its LSA-mode half; here the
// application never learns a package's [Handle], so the provider names
// the context itself. It means nothing in the LSA.
type UserContextHandle uint64

// LogonID is a LUID naming a logon session in the LSA (the LogonId of
// SECPKG_CLIENT_INFO and the pvLogonID argument of
// AcquireCredentialsHandle). The zero LogonID means "none".
type LogonID uint64

// String formats the logon ID the way Windows prints a LUID.
func (id LogonID) String() string { return fmt.Sprintf("0x%x", uint64(id)) }

// BufferType is SecBuffer.BufferType: what a buffer of a message holds
// (SECBUFFER_*), possibly ORed with the attribute bits BufferReadOnly or
// BufferReadOnlyWithChecksum.
type BufferType uint32

// SECBUFFER_* values.
const (
	BufferEmpty           BufferType = 0  // SECBUFFER_EMPTY: placeholder the package may fill
	BufferData            BufferType = 1  // SECBUFFER_DATA: application data, protected in place
	BufferToken           BufferType = 2  // SECBUFFER_TOKEN: security token, signature or trailer
	BufferPkgParams       BufferType = 3  // SECBUFFER_PKG_PARAMS
	BufferMissing         BufferType = 4  // SECBUFFER_MISSING
	BufferExtra           BufferType = 5  // SECBUFFER_EXTRA
	BufferStreamTrailer   BufferType = 6  // SECBUFFER_STREAM_TRAILER
	BufferStreamHeader    BufferType = 7  // SECBUFFER_STREAM_HEADER
	BufferPadding         BufferType = 9  // SECBUFFER_PADDING
	BufferStream          BufferType = 10 // SECBUFFER_STREAM: a whole protected message
	BufferChannelBindings BufferType = 14 // SECBUFFER_CHANNEL_BINDINGS

	BufferAttrMask             BufferType = 0xF0000000 // SECBUFFER_ATTRMASK
	BufferReadOnly             BufferType = 0x80000000 // SECBUFFER_READONLY: read-only and not covered by the checksum
	BufferReadOnlyWithChecksum BufferType = 0x10000000 // SECBUFFER_READONLY_WITH_CHECKSUM: read-only but covered
)

// Kind returns t without its attribute bits.
func (t BufferType) Kind() BufferType { return t &^ BufferAttrMask }

// Buffer is a SecBuffer: one typed piece of a message (a SecBufferDesc is
// a []Buffer). Message functions work in place: a package writes the
// protected form of BufferData buffers into the same slices and may
// shorten a BufferToken buffer to the length it used.
type Buffer struct {
	Type BufferType
	Data []byte
}

// PackageInfo is SecPkgInfo: what EnumerateSecurityPackages and
// QuerySecurityPackageInfo report for a package, and what SpGetInfo
// returns.
type PackageInfo struct {
	Capabilities Capabilities // fCapabilities (SECPKG_FLAG_*)
	Version      uint16       // wVersion
	RPCID        uint16       // wRPCID (RPC_C_AUTHN_*)
	MaxToken     uint32       // cbMaxToken: largest token the package produces
	Name         string       // Name, such as "NTLM"
	Comment      string       // Comment
}

// Sizes is SecPkgContext_Sizes (SECPKG_ATTR_SIZES): the buffer sizes
// MakeSignature and EncryptMessage need.
type Sizes struct {
	MaxToken        uint32 // cbMaxToken
	MaxSignature    uint32 // cbMaxSignature: size of a MakeSignature token
	BlockSize       uint32 // cbBlockSize: messages should be a multiple of this
	SecurityTrailer uint32 // cbSecurityTrailer: size of an EncryptMessage token
}

// StreamSizes is SecPkgContext_StreamSizes (SECPKG_ATTR_STREAM_SIZES).
type StreamSizes struct {
	Header         uint32 // cbHeader
	Trailer        uint32 // cbTrailer
	MaximumMessage uint32 // cbMaximumMessage
	Buffers        uint32 // cBuffers
	BlockSize      uint32 // cbBlockSize
}

// NegotiationState is the NegotiationState of
// SecPkgContext_NegotiationInfo (SECPKG_NEGOTIATION_*).
type NegotiationState uint32

// SECPKG_NEGOTIATION_* values.
const (
	NegotiationComplete     NegotiationState = 0 // SECPKG_NEGOTIATION_COMPLETE
	NegotiationOptimistic   NegotiationState = 1 // SECPKG_NEGOTIATION_OPTIMISTIC
	NegotiationInProgress   NegotiationState = 2 // SECPKG_NEGOTIATION_IN_PROGRESS
	NegotiationDirect       NegotiationState = 3 // SECPKG_NEGOTIATION_DIRECT
	NegotiationTryMulticred NegotiationState = 4 // SECPKG_NEGOTIATION_TRY_MULTICRED
)

// String returns the SECPKG_NEGOTIATION_ name.
func (s NegotiationState) String() string {
	switch s {
	case NegotiationComplete:
		return "COMPLETE"
	case NegotiationOptimistic:
		return "OPTIMISTIC"
	case NegotiationInProgress:
		return "IN_PROGRESS"
	case NegotiationDirect:
		return "DIRECT"
	case NegotiationTryMulticred:
		return "TRY_MULTICRED"
	}
	return fmt.Sprintf("NegotiationState(%d)", uint32(s))
}

// ChannelBindingResult says what an acceptor concluded about channel
// bindings (SEC_CHANNEL_BINDINGS_RESULT_*, ntifs.h).
type ChannelBindingResult uint32

// SEC_CHANNEL_BINDINGS_RESULT_* values.
const (
	BindingsClientSupport    ChannelBindingResult = 0x01 // SEC_CHANNEL_BINDINGS_RESULT_CLIENT_SUPPORT
	BindingsAbsent           ChannelBindingResult = 0x02 // SEC_CHANNEL_BINDINGS_RESULT_ABSENT: the acceptor had none
	BindingsNotValidMismatch ChannelBindingResult = 0x04 // SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISMATCH
	BindingsNotValidMissing  ChannelBindingResult = 0x08 // SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISSING
	BindingsValidMatched     ChannelBindingResult = 0x10 // SEC_CHANNEL_BINDINGS_RESULT_VALID_MATCHED
	BindingsValidProxy       ChannelBindingResult = 0x20 // SEC_CHANNEL_BINDINGS_RESULT_VALID_PROXY
	BindingsValidMissing     ChannelBindingResult = 0x40 // SEC_CHANNEL_BINDINGS_RESULT_VALID_MISSING: client sent none, policy allowed it
)

// String names the result.
func (r ChannelBindingResult) String() string {
	return flagString(uint64(r), "", []flagName{
		{0x01, "CLIENT_SUPPORT"}, {0x02, "ABSENT"}, {0x04, "NOTVALID_MISMATCH"},
		{0x08, "NOTVALID_MISSING"}, {0x10, "VALID_MATCHED"}, {0x20, "VALID_PROXY"},
		{0x40, "VALID_MISSING"},
	})
}

// Matched reports whether the client's bindings were present and equal to
// the acceptor's.
func (r ChannelBindingResult) Matched() bool { return r&BindingsValidMatched != 0 }

// Identity is who authenticated on the server side of a context: what the
// package proved about the client. Authentication gives an identity;
// deciding what the identity may do is the application's business.
type Identity struct {
	User        string               // account name; empty for an anonymous logon
	Domain      string               // domain or realm
	Package     string               // package that authenticated the client, such as "NTLM"
	Groups      []string             // account groups from the account store
	Flags       ASCFlags             // the context's negotiated ASC_RET_* flags
	Expiry      time.Time            // when the context expires (zero: never)
	Anonymous   bool                 // an anonymous (null session) logon
	Workstation string               // client workstation name, where the protocol carries one
	Bindings    ChannelBindingResult // what became of channel bindings
	// LogonID is the logon session created for the client, if any:
	// Kerberos creates one (a network logon session, owned by the caller
	// that accepted the context) to hold the TGT the client delegated;
	// AcquireCredentials with this LogonID then authenticates as the
	// client (impersonation by delegation).
	LogonID LogonID
	// PAC is what the client's KDC said of the client in the ticket's
	// Privilege Attribute Certificate (MS-PAC; Active Directory, Samba
	// and MIT 1.20 KDCs issue one), after the package verified its server
	// signature; nil if the ticket had none.
	PAC *PACInfo
}

// PACInfo is the part of a Kerberos ticket's PAC (MS-PAC 2.4) that says
// who the client is: the logon information (KERB_VALIDATION_INFO, MS-PAC
// 2.5) with the user's and groups' security identifiers, the client
// information (MS-PAC 2.7) and the UPN and DNS domain (MS-PAC 2.10). A
// KDC without Windows accounts (MIT without a KDB plugin that adds them)
// sends no logon information: the SIDs and names below are then empty.
type PACInfo struct {
	// UserSID is the user's SID ("S-1-5-21-…-1104"); GroupSIDs every
	// group's: the domain groups, the extra SIDs and the resource groups.
	UserSID   string
	GroupSIDs []string
	// EffectiveName is the account name, FullName the display name,
	// LogonDomainName the NetBIOS domain and LogonServer the domain
	// controller that logged the user on.
	EffectiveName   string
	FullName        string
	LogonDomainName string
	LogonServer     string
	// UserFlags and UserAccountControl are the logon information's flag
	// words (MS-PAC 2.5, MS-SAMR 2.2.1.12).
	UserFlags          uint32
	UserAccountControl uint32
	// ClientName is PAC_CLIENT_INFO's name; UPN and DNSDomain are
	// UPN_DNS_INFO's.
	ClientName string
	UPN        string
	DNSDomain  string
}

// String returns "DOMAIN\user", or "ANONYMOUS" for an anonymous logon.
func (id *Identity) String() string {
	if id == nil {
		return "<nil>"
	}
	if id.Anonymous {
		return "ANONYMOUS"
	}
	if id.Domain == "" {
		return id.User
	}
	return id.Domain + `\` + id.User
}

// AuthIdentity is SEC_WINNT_AUTH_IDENTITY: an explicit user, domain and
// password for AcquireCredentialsHandle. It travels only from the
// application into the LSA, never back. It redacts the password when
// printed or logged.
type AuthIdentity struct {
	User     string
	Domain   string
	Password []byte
	// Packed is a credential of another kind than a password
	// (SEC_WINNT_AUTH_IDENTITY_EX2's packed credentials), for the
	// packages that take it; nil for none.
	Packed *PackedCredentials
}

// PackedCredentials is SEC_WINNT_AUTH_PACKED_CREDENTIALS: a credential of
// a given type in place of a password, such as a Kerberos keytab
// (SEC_WINNT_AUTH_DATA_TYPE_KEYTAB). Its data is secret: it is redacted
// when printed or logged, and only the LSA reads it.
type PackedCredentials struct {
	Type PackedCredentialType
	Data []byte
}

// PackedCredentialType is the type of PackedCredentials.
type PackedCredentialType string

// Packed credential types. A file named by a path is opened by the LSA
// with the caller's rights, never its own (LSAs that run as root read it
// as the calling uid would), so that nobody reads through the LSA a file
// they could not read; passing the bytes instead needs no such check.
const (
	// PackedKeytab is the bytes of a Kerberos keytab file (MIT's format,
	// version 0x502): keys to get a TGT with, or to accept with.
	PackedKeytab PackedCredentialType = "keytab"
	// PackedCCache is the bytes of an MIT FILE credentials cache
	// (version 3 or 4) holding a TGT.
	PackedCCache PackedCredentialType = "ccache"
	// PackedKeytabFile and PackedCCacheFile name such a file by its path.
	PackedKeytabFile PackedCredentialType = "keytab-file"
	PackedCCacheFile PackedCredentialType = "ccache-file"
)

// String shows the type and the size, never the data.
func (p *PackedCredentials) String() string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s(%d bytes)", p.Type, len(p.Data))
}

// GoString keeps the data out of %#v.
func (p *PackedCredentials) GoString() string { return "&secpkg.PackedCredentials{" + p.String() + "}" }

// LogValue implements slog.LogValuer; the data is never logged.
func (p *PackedCredentials) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String returns "DOMAIN\user" without the password.
func (a *AuthIdentity) String() string {
	if a == nil {
		return "<nil>"
	}
	if a.Domain == "" {
		return a.User
	}
	return a.Domain + `\` + a.User
}

// LogValue implements slog.LogValuer; the password and packed
// credentials are never logged.
func (a *AuthIdentity) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("user", a.User), slog.String("domain", a.Domain), slog.String("password", "REDACTED")}
	if a.Packed != nil {
		attrs = append(attrs, slog.String("packed", a.Packed.String()))
	}
	return slog.GroupValue(attrs...)
}

// GoString keeps the password and packed credentials out of %#v.
func (a *AuthIdentity) GoString() string {
	return fmt.Sprintf("&secpkg.AuthIdentity{User:%q, Domain:%q, Password:REDACTED, Packed:%v}", a.User, a.Domain, a.Packed)
}

// ChannelBindings is SEC_CHANNEL_BINDINGS (the gss_channel_bindings_struct
// of RFC 2744): what ties an authentication to the channel that carries it.
// Most uses carry only ApplicationData, such as "tls-server-end-point:"
// followed by a certificate hash (RFC 5929).
type ChannelBindings struct {
	InitiatorAddrType uint32 // dwInitiatorAddrType
	InitiatorAddress  []byte
	AcceptorAddrType  uint32 // dwAcceptorAddrType
	AcceptorAddress   []byte
	ApplicationData   []byte
}

// channelBindingsHeaderSize is the size of the fixed part of
// SEC_CHANNEL_BINDINGS: eight 32-bit fields.
const channelBindingsHeaderSize = 32

// Marshal returns the SEC_CHANNEL_BINDINGS structure as Windows lays it out
// in a SECBUFFER_CHANNEL_BINDINGS buffer: the 32-byte header with offsets,
// then the initiator address, the acceptor address and the application
// data.
func (cb *ChannelBindings) Marshal() []byte {
	b := make([]byte, channelBindingsHeaderSize, channelBindingsHeaderSize+len(cb.InitiatorAddress)+len(cb.AcceptorAddress)+len(cb.ApplicationData))
	off := uint32(channelBindingsHeaderSize)
	put := func(at int, typ uint32, data []byte) {
		binary.LittleEndian.PutUint32(b[at:], typ)
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(data)))
		if len(data) > 0 {
			binary.LittleEndian.PutUint32(b[at+8:], off)
		}
		off += uint32(len(data))
	}
	put(0, cb.InitiatorAddrType, cb.InitiatorAddress)
	put(12, cb.AcceptorAddrType, cb.AcceptorAddress)
	binary.LittleEndian.PutUint32(b[24:], uint32(len(cb.ApplicationData)))
	if len(cb.ApplicationData) > 0 {
		binary.LittleEndian.PutUint32(b[28:], off)
	}
	b = append(b, cb.InitiatorAddress...)
	b = append(b, cb.AcceptorAddress...)
	return append(b, cb.ApplicationData...)
}

// ParseChannelBindings parses a SEC_CHANNEL_BINDINGS structure as produced
// by [ChannelBindings.Marshal] (or by Windows), checking every offset.
func ParseChannelBindings(b []byte) (*ChannelBindings, error) {
	if len(b) < channelBindingsHeaderSize {
		return nil, Errorf(StatusInvalidParameter, "secpkg: channel bindings shorter than their header")
	}
	field := func(at int) ([]byte, error) {
		n := binary.LittleEndian.Uint32(b[at:])
		off := binary.LittleEndian.Uint32(b[at+4:])
		if n == 0 {
			return nil, nil
		}
		if uint64(off) < channelBindingsHeaderSize || uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, Errorf(StatusInvalidParameter, "secpkg: channel bindings field outside the structure")
		}
		return append([]byte(nil), b[off:off+n]...), nil
	}
	cb := &ChannelBindings{
		InitiatorAddrType: binary.LittleEndian.Uint32(b[0:]),
		AcceptorAddrType:  binary.LittleEndian.Uint32(b[12:]),
	}
	var err error
	if cb.InitiatorAddress, err = field(4); err != nil {
		return nil, err
	}
	if cb.AcceptorAddress, err = field(16); err != nil {
		return nil, err
	}
	if cb.ApplicationData, err = field(24); err != nil {
		return nil, err
	}
	return cb, nil
}

// GSSEncoding returns the flat form of the bindings that Kerberos (RFC
// 4121, Section 4.1.1.2) and NTLM (MS-NLMP 2.2.2.1, MsvAvChannelBindings)
// hash with MD5: each address type and length as 32-bit little-endian
// values followed by the bytes, then the application data length and bytes.
func (cb *ChannelBindings) GSSEncoding() []byte {
	b := make([]byte, 0, 20+len(cb.InitiatorAddress)+len(cb.AcceptorAddress)+len(cb.ApplicationData))
	b = binary.LittleEndian.AppendUint32(b, cb.InitiatorAddrType)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cb.InitiatorAddress)))
	b = append(b, cb.InitiatorAddress...)
	b = binary.LittleEndian.AppendUint32(b, cb.AcceptorAddrType)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cb.AcceptorAddress)))
	b = append(b, cb.AcceptorAddress...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cb.ApplicationData)))
	return append(b, cb.ApplicationData...)
}
