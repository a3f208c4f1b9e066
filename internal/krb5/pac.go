package krb5

// The Privilege Attribute Certificate (MS-PAC), found in a ticket's
// authorization data inside AD-IF-RELEVANT as AD-WIN2K-PAC. Every offset
// and count is checked before it is used; the server signature is
// verified with the service key; the logon information
// (KERB_VALIDATION_INFO, NDR) is decoded with bounds on every array.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// PAC buffer types (MS-PAC 2.4).
const (
	pacLogonInfo         = 1
	pacCredentials       = 2
	pacServerChecksum    = 6
	pacPrivSvrChecksum   = 7
	pacClientInfo        = 10
	pacDelegationInfo    = 11
	pacUPNDNSInfo        = 12
	pacClientClaims      = 13
	pacDeviceInfo        = 14
	pacDeviceClaims      = 15
	pacTicketChecksum    = 16
	pacAttributes        = 17
	pacRequestor         = 18
	pacFullChecksum      = 19
	maxPACBuffers        = 64
	maxPACSize           = 1 << 20
	maxNDRArray          = 4096
	maxSIDSubAuthorities = 15
)

// PAC is a parsed and verified PAC.
type PAC struct {
	// Buffers lists the type of every buffer, in order.
	Buffers []uint32
	// LogonInfo is KERB_VALIDATION_INFO (MS-PAC 2.5), nil if absent (MIT
	// KDCs without a KDB plugin that provides it send none).
	LogonInfo *LogonInfo
	// ClientName and ClientTime are PAC_CLIENT_INFO (MS-PAC 2.7).
	ClientName string
	ClientTime time.Time
	// UPN and DNSDomain are UPN_DNS_INFO (MS-PAC 2.10), empty if absent.
	UPN, DNSDomain string
	// ServerChecksumType and KDCChecksumType are the signatures' types
	// (MS-PAC 2.8); the server signature has been verified, the KDC
	// signature only seen (it needs the krbtgt key).
	ServerChecksumType ChecksumType
	KDCChecksumType    ChecksumType
}

// LogonInfo is the part of KERB_VALIDATION_INFO (MS-PAC 2.5) that says
// who the user is and which groups they are in.
type LogonInfo struct {
	LogonTime          time.Time
	EffectiveName      string // the account name
	FullName           string
	LogonServer        string
	LogonDomainName    string
	UserID             uint32
	PrimaryGroupID     uint32
	Groups             []GroupMembership // relative to LogonDomainID
	UserFlags          uint32
	UserAccountControl uint32
	LogonDomainID      SID
	ExtraSIDs          []SIDAndAttributes
	ResourceDomainID   *SID
	ResourceGroups     []GroupMembership // relative to ResourceDomainID
}

// GroupMembership is GROUP_MEMBERSHIP (MS-PAC 2.2.2).
type GroupMembership struct {
	RelativeID uint32
	Attributes uint32
}

// SIDAndAttributes is KERB_SID_AND_ATTRIBUTES (MS-PAC 2.2.1).
type SIDAndAttributes struct {
	SID        SID
	Attributes uint32
}

// SID is a security identifier (MS-DTYP 2.4.2).
type SID struct {
	Revision       uint8
	Authority      uint64 // 48 bits
	SubAuthorities []uint32
}

// String returns the SID in its S-1-5-21-… form.
func (s SID) String() string {
	var b strings.Builder
	b.WriteString("S-" + strconv.Itoa(int(s.Revision)) + "-" + strconv.FormatUint(s.Authority, 10))
	for _, a := range s.SubAuthorities {
		b.WriteString("-" + strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// Append returns the SID with one more sub-authority (a RID).
func (s SID) Append(rid uint32) SID {
	s.SubAuthorities = append(slices.Clip(s.SubAuthorities), rid)
	return s
}

// UserSID returns the user's SID: the logon domain's SID and UserID.
func (l *LogonInfo) UserSID() SID { return l.LogonDomainID.Append(l.UserID) }

// GroupSIDs returns the SIDs of every group the user is in: the domain
// groups, the extra SIDs and the resource groups.
func (l *LogonInfo) GroupSIDs() []SID {
	var out []SID
	for _, g := range l.Groups {
		out = append(out, l.LogonDomainID.Append(g.RelativeID))
	}
	for _, e := range l.ExtraSIDs {
		out = append(out, e.SID)
	}
	if l.ResourceDomainID != nil {
		for _, g := range l.ResourceGroups {
			out = append(out, l.ResourceDomainID.Append(g.RelativeID))
		}
	}
	return out
}

// ticketPAC finds the PAC in a ticket's authorization data and verifies
// it with the key that decrypted the ticket. No PAC is not an error; two
// are.
func ticketPAC(ad []typedData, key Key, client Principal, authTime time.Time) (*PAC, error) {
	var raw []byte
	for _, d := range ad {
		if d.Type == adWin2kPAC {
			return nil, errors.New("krb5: PAC outside AD-IF-RELEVANT")
		}
		if d.Type != adIfRelevant {
			continue
		}
		inner, err := parseAuthData(d.Data)
		if err != nil {
			return nil, err
		}
		for _, e := range inner {
			if e.Type == adWin2kPAC {
				if raw != nil {
					return nil, errors.New("krb5: two PACs in one ticket")
				}
				raw = e.Data
			}
		}
	}
	if raw == nil {
		return nil, nil
	}
	p, err := ParsePAC(raw, key)
	if err != nil {
		return nil, err
	}
	// PAC_CLIENT_INFO must name the ticket's client at its authtime
	// (MS-PAC 2.7; MIT's k5_pac_validate_client).
	if !p.ClientTime.Equal(authTime) || p.ClientName != client.NameString() {
		return nil, fmt.Errorf("krb5: PAC is for %q at %v, the ticket for %v at %v", p.ClientName, p.ClientTime, client, authTime.UTC())
	}
	return p, nil
}

type pacBuffer struct {
	typ       uint32
	off, size int
}

// ParsePAC parses a PAC (PACTYPE, MS-PAC 2.3) and verifies its server
// signature with key, the service's long-term key. The checks: version
// 0; the buffer count within the data; every buffer 8-byte aligned,
// after the header, inside the PAC and overlapping no other; exactly
// one server and one KDC signature, of keyed types and their exact
// lengths; the server signature correct; at most one of each other
// buffer this package reads, each well formed.
func ParsePAC(b []byte, key Key) (*PAC, error) {
	if len(b) > maxPACSize {
		return nil, errors.New("krb5: PAC too large")
	}
	if len(b) < 8 {
		return nil, errors.New("krb5: PAC shorter than its header")
	}
	n := binary.LittleEndian.Uint32(b)
	if v := binary.LittleEndian.Uint32(b[4:]); v != 0 {
		return nil, fmt.Errorf("krb5: PAC version %d", v)
	}
	if n == 0 || n > maxPACBuffers || uint64(n)*16 > uint64(len(b)-8) {
		return nil, fmt.Errorf("krb5: PAC claims %d buffers", n)
	}
	headerEnd := 8 + int(n)*16
	bufs := make([]pacBuffer, n)
	p := &PAC{}
	for i := range bufs {
		e := b[8+16*i:]
		typ := binary.LittleEndian.Uint32(e)
		size := binary.LittleEndian.Uint32(e[4:])
		off := binary.LittleEndian.Uint64(e[8:])
		if off%8 != 0 || off < uint64(headerEnd) || off > uint64(len(b)) || uint64(size) > uint64(len(b))-off {
			return nil, fmt.Errorf("krb5: PAC buffer %d (type %d) at %d+%d outside the PAC or misaligned", i, typ, off, size)
		}
		bufs[i] = pacBuffer{typ, int(off), int(size)}
		p.Buffers = append(p.Buffers, typ)
	}
	sorted := slices.Clone(bufs)
	slices.SortFunc(sorted, func(x, y pacBuffer) int { return x.off - y.off })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].off+sorted[i-1].size > sorted[i].off {
			return nil, errors.New("krb5: PAC buffers overlap")
		}
	}
	var server, kdc *pacBuffer
	seen := map[uint32]bool{}
	for i := range bufs {
		bf := &bufs[i]
		switch bf.typ {
		case pacServerChecksum, pacPrivSvrChecksum, pacLogonInfo, pacClientInfo, pacUPNDNSInfo,
			pacTicketChecksum, pacFullChecksum, pacAttributes, pacRequestor:
			if seen[bf.typ] {
				return nil, fmt.Errorf("krb5: PAC has two buffers of type %d", bf.typ)
			}
			seen[bf.typ] = true
		}
		data := b[bf.off : bf.off+bf.size]
		var err error
		switch bf.typ {
		case pacServerChecksum:
			server = bf
			p.ServerChecksumType, _, err = pacSignature(data)
		case pacPrivSvrChecksum:
			kdc = bf
			p.KDCChecksumType, _, err = pacSignature(data)
		case pacLogonInfo:
			p.LogonInfo, err = parseLogonInfo(data)
		case pacClientInfo:
			p.ClientName, p.ClientTime, err = parseClientInfo(data)
		case pacUPNDNSInfo:
			p.UPN, p.DNSDomain, err = parseUPNDNSInfo(data)
		}
		if err != nil {
			return nil, err
		}
	}
	if server == nil || kdc == nil {
		return nil, errors.New("krb5: PAC lacks the server or the KDC signature")
	}
	if !seen[pacClientInfo] {
		return nil, errors.New("krb5: PAC lacks PAC_CLIENT_INFO")
	}
	// The server signature covers the whole PAC with the two signatures'
	// Signature fields zeroed (MS-PAC 2.8.1).
	_, sig, _ := pacSignature(b[server.off : server.off+server.size])
	zeroed := slices.Clone(b)
	for _, bf := range []*pacBuffer{server, kdc} {
		clear(zeroed[bf.off+4 : bf.off+4+pacSigLen(ChecksumType(int32(binary.LittleEndian.Uint32(b[bf.off:]))))])
	}
	if err := key.verifyChecksum(usagePACChecksum, zeroed, p.ServerChecksumType, sig); err != nil {
		return nil, fmt.Errorf("krb5: PAC server signature: %w", err)
	}
	return p, nil
}

// pacSigLen is the length of a signature of a keyed type, 0 otherwise.
func pacSigLen(t ChecksumType) int {
	switch t {
	case ChecksumHMACSHA1AES128, ChecksumHMACSHA1AES256:
		return 12
	case ChecksumHMACSHA256AES, ChecksumHMACMD5:
		return 16
	case ChecksumHMACSHA384AES:
		return 24
	}
	return 0
}

// pacSignature parses PAC_SIGNATURE_DATA (MS-PAC 2.8): a keyed type, a
// signature of exactly its length, and optionally a 2-byte RODC
// identifier. An unkeyed type (MS14-068) or an empty signature is an
// error.
func pacSignature(b []byte) (ChecksumType, []byte, error) {
	if len(b) < 4 {
		return 0, nil, errors.New("krb5: PAC signature too short")
	}
	t := ChecksumType(int32(binary.LittleEndian.Uint32(b)))
	n := pacSigLen(t)
	if n == 0 {
		return 0, nil, fmt.Errorf("krb5: PAC signature of unkeyed or unknown type %d", t)
	}
	if rest := len(b) - 4 - n; rest != 0 && rest != 2 {
		return 0, nil, fmt.Errorf("krb5: PAC signature of type %d is %d bytes", t, len(b)-4)
	}
	return t, b[4 : 4+n], nil
}

// parseClientInfo parses PAC_CLIENT_INFO (MS-PAC 2.7).
func parseClientInfo(b []byte) (string, time.Time, error) {
	if len(b) < 10 {
		return "", time.Time{}, errors.New("krb5: PAC_CLIENT_INFO too short")
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 || n != len(b)-10 {
		return "", time.Time{}, errors.New("krb5: PAC_CLIENT_INFO name length does not fit")
	}
	return utf16le(b[10:]), filetime(binary.LittleEndian.Uint64(b)), nil
}

// parseUPNDNSInfo parses UPN_DNS_INFO (MS-PAC 2.10).
func parseUPNDNSInfo(b []byte) (string, string, error) {
	if len(b) < 12 {
		return "", "", errors.New("krb5: UPN_DNS_INFO too short")
	}
	str := func(at int) (string, error) {
		n := int(binary.LittleEndian.Uint16(b[at:]))
		off := int(binary.LittleEndian.Uint16(b[at+2:]))
		if n%2 != 0 || off+n > len(b) || (n > 0 && off < 12) {
			return "", errors.New("krb5: UPN_DNS_INFO string outside the buffer")
		}
		return utf16le(b[off : off+n]), nil
	}
	upn, err := str(0)
	if err != nil {
		return "", "", err
	}
	dns, err := str(4)
	return upn, dns, err
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// filetime converts a FILETIME (100 ns since 1601) to a time; the
// "never" values give the zero time.
func filetime(v uint64) time.Time {
	const epochDiff = 116444736000000000 // 1601 to 1970, in 100 ns
	if v == 0 || v >= 0x7fffffffffffffff || v < epochDiff {
		return time.Time{}
	}
	v -= epochDiff
	return time.Unix(int64(v/10000000), int64(v%10000000)*100).UTC()
}

// ndr reads NDR data (MS-RPCE 2.2.6 type serialization version 1,
// little-endian) with bounds on every read.
type ndr struct {
	b   []byte
	off int
	err error
}

func (d *ndr) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("krb5: KERB_VALIDATION_INFO: %s at offset %d", what, d.off)
	}
}

func (d *ndr) align(n int) {
	if r := d.off % n; r != 0 {
		d.off += n - r
	}
	if d.off > len(d.b) {
		d.fail("alignment past the end")
	}
}

func (d *ndr) bytes(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b)-d.off {
		d.fail("read past the end")
		return make([]byte, max(n, 0))
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

func (d *ndr) u8() uint8   { return d.bytes(1)[0] }
func (d *ndr) u16() uint16 { d.align(2); return binary.LittleEndian.Uint16(d.bytes(2)) }
func (d *ndr) u32() uint32 { d.align(4); return binary.LittleEndian.Uint32(d.bytes(4)) }
func (d *ndr) filetime() time.Time {
	d.align(4)
	lo, hi := d.u32(), d.u32()
	return filetime(uint64(hi)<<32 | uint64(lo))
}

// unicodeString is an RPC_UNICODE_STRING's inline part.
type unicodeString struct {
	length, maxLength uint16
	ptr               uint32
}

func (d *ndr) unicodeString() unicodeString {
	return unicodeString{length: d.u16(), maxLength: d.u16(), ptr: d.u32()}
}

// deferredString reads the referent of an RPC_UNICODE_STRING: a
// conformant varying array of UTF-16 units (MS-DTYP 2.3.10).
func (d *ndr) deferredString(s unicodeString) string {
	if s.ptr == 0 {
		if s.length != 0 {
			d.fail("string without a buffer")
		}
		return ""
	}
	maxCount, offset, actual := d.u32(), d.u32(), d.u32()
	if offset != 0 || actual > maxCount || int(actual)*2 != int(s.length) || s.length > s.maxLength || maxCount > 1<<15 {
		d.fail("string counts inconsistent")
		return ""
	}
	return utf16le(d.bytes(int(actual) * 2))
}

func (d *ndr) sid() SID {
	count := d.u32()
	rev, n := d.u8(), d.u8()
	auth := d.bytes(6)
	if count != uint32(n) || n > maxSIDSubAuthorities {
		d.fail("SID sub-authority count")
		return SID{}
	}
	s := SID{Revision: rev}
	for _, c := range auth {
		s.Authority = s.Authority<<8 | uint64(c)
	}
	for range n {
		s.SubAuthorities = append(s.SubAuthorities, d.u32())
	}
	return s
}

func (d *ndr) groups(count uint32) []GroupMembership {
	if n := d.u32(); n != count || n > maxNDRArray {
		d.fail("group array count")
		return nil
	}
	out := make([]GroupMembership, 0, count)
	for range count {
		out = append(out, GroupMembership{RelativeID: d.u32(), Attributes: d.u32()})
		if d.err != nil {
			return nil
		}
	}
	return out
}

// parseLogonInfo decodes KERB_VALIDATION_INFO (MS-PAC 2.5) from its
// NDR type serialization.
func parseLogonInfo(b []byte) (*LogonInfo, error) {
	d := &ndr{b: b}
	// Common and private headers (MS-RPCE 2.2.6.1, 2.2.6.2).
	if v, e := d.u8(), d.u8(); v != 1 || e != 0x10 {
		return nil, errors.New("krb5: KERB_VALIDATION_INFO: not NDR version 1 little-endian")
	}
	if hl := d.u16(); hl != 8 {
		return nil, errors.New("krb5: KERB_VALIDATION_INFO: common header length")
	}
	d.u32() // filler
	if objLen := d.u32(); uint64(objLen) > uint64(len(b)-16) {
		return nil, errors.New("krb5: KERB_VALIDATION_INFO: object length past the end")
	}
	d.u32()           // filler
	if d.u32() == 0 { // referent of the top-level pointer
		return nil, errors.New("krb5: KERB_VALIDATION_INFO: null")
	}
	l := &LogonInfo{}
	l.LogonTime = d.filetime()
	for range 5 { // LogoffTime … PasswordMustChange
		d.filetime()
	}
	effective, full, script, profile, home, drive := d.unicodeString(), d.unicodeString(), d.unicodeString(), d.unicodeString(), d.unicodeString(), d.unicodeString()
	d.u16() // LogonCount
	d.u16() // BadPasswordCount
	l.UserID, l.PrimaryGroupID = d.u32(), d.u32()
	groupCount, groupPtr := d.u32(), d.u32()
	l.UserFlags = d.u32()
	d.bytes(16) // UserSessionKey
	server, domain := d.unicodeString(), d.unicodeString()
	domainIDPtr := d.u32()
	d.u32()
	d.u32() // Reserved1
	l.UserAccountControl = d.u32()
	d.u32() // SubAuthStatus
	d.filetime()
	d.filetime()
	d.u32() // FailedILogonCount
	d.u32() // Reserved3
	sidCount, sidsPtr := d.u32(), d.u32()
	resDomainPtr := d.u32()
	resCount, resPtr := d.u32(), d.u32()
	if groupCount > maxNDRArray || sidCount > maxNDRArray || resCount > maxNDRArray {
		return nil, errors.New("krb5: KERB_VALIDATION_INFO: too many groups")
	}
	if d.err != nil {
		return nil, d.err
	}
	// The deferred referents, in the order of their pointers.
	l.EffectiveName = d.deferredString(effective)
	l.FullName = d.deferredString(full)
	d.deferredString(script)
	d.deferredString(profile)
	d.deferredString(home)
	d.deferredString(drive)
	if groupPtr != 0 {
		l.Groups = d.groups(groupCount)
	} else if groupCount != 0 {
		d.fail("groups without an array")
	}
	l.LogonServer = d.deferredString(server)
	l.LogonDomainName = d.deferredString(domain)
	if domainIDPtr == 0 {
		d.fail("no logon domain SID")
	} else {
		l.LogonDomainID = d.sid()
	}
	if sidsPtr != 0 {
		if n := d.u32(); n != sidCount {
			d.fail("extra SID count")
		}
		ptrs := make([]uint32, 0, sidCount)
		for range sidCount {
			ptr, attr := d.u32(), d.u32()
			ptrs = append(ptrs, ptr)
			l.ExtraSIDs = append(l.ExtraSIDs, SIDAndAttributes{Attributes: attr})
			if d.err != nil {
				break
			}
		}
		for i, ptr := range ptrs {
			if ptr == 0 {
				d.fail("null extra SID")
				break
			}
			l.ExtraSIDs[i].SID = d.sid()
		}
	} else if sidCount != 0 {
		d.fail("extra SIDs without an array")
	}
	if resDomainPtr != 0 {
		s := d.sid()
		l.ResourceDomainID = &s
	}
	if resPtr != 0 {
		l.ResourceGroups = d.groups(resCount)
	} else if resCount != 0 {
		d.fail("resource groups without an array")
	}
	if d.err != nil {
		return nil, d.err
	}
	return l, nil
}
