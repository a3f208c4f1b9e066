package ntlm

import (
	"fmt"
	"unicode/utf16"

	"github.com/opensspi/sspi/internal/wire"
	"github.com/opensspi/sspi/secpkg"
)

// avID is the AvId of an AV_PAIR (MS-NLMP 2.2.2.1).
type avID uint16

// AvId values, MS-NLMP 2.2.2.1.
const (
	avEOL             avID = 0x0000 // MsvAvEOL: last pair of the list, AvLen 0
	avNbComputerName  avID = 0x0001 // MsvAvNbComputerName: server NetBIOS computer name, UTF-16
	avNbDomainName    avID = 0x0002 // MsvAvNbDomainName: server NetBIOS domain name, UTF-16
	avDNSComputerName avID = 0x0003 // MsvAvDnsComputerName: server FQDN, UTF-16
	avDNSDomainName   avID = 0x0004 // MsvAvDnsDomainName: domain FQDN, UTF-16
	avDNSTreeName     avID = 0x0005 // MsvAvDnsTreeName: forest FQDN, UTF-16
	avFlags           avID = 0x0006 // MsvAvFlags: 32-bit configuration flags
	avTimestamp       avID = 0x0007 // MsvAvTimestamp: FILETIME, 8 bytes
	avSingleHost      avID = 0x0008 // MsvAvSingleHost: Single_Host_Data (MS-NLMP 2.2.2.2)
	avTargetName      avID = 0x0009 // MsvAvTargetName: SPN of the target, UTF-16
	avChannelBindings avID = 0x000A // MsvAvChannelBindings: MD5 of gss_channel_bindings_struct, 16 bytes
)

// String returns the MS-NLMP name of the AvId.
func (id avID) String() string {
	switch id {
	case avEOL:
		return "MsvAvEOL"
	case avNbComputerName:
		return "MsvAvNbComputerName"
	case avNbDomainName:
		return "MsvAvNbDomainName"
	case avDNSComputerName:
		return "MsvAvDnsComputerName"
	case avDNSDomainName:
		return "MsvAvDnsDomainName"
	case avDNSTreeName:
		return "MsvAvDnsTreeName"
	case avFlags:
		return "MsvAvFlags"
	case avTimestamp:
		return "MsvAvTimestamp"
	case avSingleHost:
		return "MsvAvSingleHost"
	case avTargetName:
		return "MsvAvTargetName"
	case avChannelBindings:
		return "MsvAvChannelBindings"
	}
	return fmt.Sprintf("AvId(0x%04x)", uint16(id))
}

// MsvAvFlags bits, MS-NLMP 2.2.2.1.
const (
	avFlagConstrained  uint32 = 0x00000001 // account authentication is constrained
	avFlagMICPresent   uint32 = 0x00000002 // the AUTHENTICATE_MESSAGE carries a MIC
	avFlagUntrustedSPN uint32 = 0x00000004 // MsvAvTargetName came from an untrusted source
)

// maxAVPairs bounds the number of pairs in one list. Windows sends about
// ten; the cap stops a 64 K-pair list from costing quadratic time.
const maxAVPairs = 64

// avPair is one AV_PAIR (MS-NLMP 2.2.2.1).
type avPair struct {
	id    avID   // AvId
	value []byte // Value, AvLen bytes
}

// avPairs is an AV_PAIR list without its terminating MsvAvEOL, in wire
// order. marshal appends the MsvAvEOL.
type avPairs []avPair

// parseAVPairs parses an AV_PAIR list (MS-NLMP 2.2.2.1) strictly: every
// pair within bounds, at most one pair of each AvId, MsvAvEOL present with
// AvLen 0, fixed-size values of the right size and names in valid UTF-16.
// After MsvAvEOL a CHALLENGE_MESSAGE TargetInfo may hold nothing; the
// NTLMv2_CLIENT_CHALLENGE list (trailingZeros) may be followed by zero
// bytes only, the Z(4) of MS-NLMP 3.3.2. The values alias b.
func parseAVPairs(b []byte, trailingZeros bool) (avPairs, error) {
	s := wire.String(b)
	var list avPairs
	for {
		var id, n uint16
		var v []byte
		if !s.ReadUint16(&id) || !s.ReadUint16(&n) || !s.ReadBytes(&v, int(n)) {
			if s.Empty() {
				return nil, fmt.Errorf("AV_PAIR list has no MsvAvEOL")
			}
			return nil, fmt.Errorf("AV_PAIR runs past the end of the list")
		}
		if avID(id) == avEOL {
			if n != 0 {
				return nil, fmt.Errorf("MsvAvEOL with AvLen %d", n)
			}
			break
		}
		if len(list) == maxAVPairs {
			return nil, fmt.Errorf("AV_PAIR list longer than %d pairs", maxAVPairs)
		}
		for _, p := range list {
			if p.id == avID(id) {
				return nil, fmt.Errorf("duplicate %v", avID(id))
			}
		}
		if err := checkAVValue(avID(id), v); err != nil {
			return nil, err
		}
		list = append(list, avPair{id: avID(id), value: v})
	}
	for _, c := range s {
		if !trailingZeros || c != 0 {
			return nil, fmt.Errorf("data after MsvAvEOL")
		}
	}
	return list, nil
}

// checkAVValue checks the size or encoding of one value.
func checkAVValue(id avID, v []byte) error {
	switch id {
	case avNbComputerName, avNbDomainName, avDNSComputerName, avDNSDomainName, avDNSTreeName, avTargetName:
		if _, err := decodeUTF16(v); err != nil {
			return fmt.Errorf("%v: %w", id, err)
		}
	case avFlags:
		if len(v) != 4 {
			return fmt.Errorf("MsvAvFlags with AvLen %d", len(v))
		}
	case avTimestamp:
		if len(v) != 8 {
			return fmt.Errorf("MsvAvTimestamp with AvLen %d", len(v))
		}
	case avChannelBindings:
		if len(v) != 16 {
			return fmt.Errorf("MsvAvChannelBindings with AvLen %d", len(v))
		}
	}
	return nil
}

// marshal returns the list followed by MsvAvEOL.
func (l avPairs) marshal() []byte {
	n := 4
	for _, p := range l {
		n += 4 + len(p.value)
	}
	b := wire.NewBuilder(make([]byte, 0, n))
	for _, p := range l {
		b.AddUint16(uint16(p.id))
		b.AddUint16(uint16(len(p.value)))
		b.AddBytes(p.value)
	}
	b.AddUint16(uint16(avEOL))
	b.AddUint16(0)
	out, _ := b.Bytes() // a plain builder cannot fail
	return out
}

// get returns the value of the pair with the given id.
func (l avPairs) get(id avID) ([]byte, bool) {
	for _, p := range l {
		if p.id == id {
			return p.value, true
		}
	}
	return nil, false
}

// flags returns the MsvAvFlags value, or 0 when absent.
func (l avPairs) flags() uint32 {
	v, ok := l.get(avFlags)
	if !ok {
		return 0
	}
	return uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24
}

// timestamp returns the MsvAvTimestamp value.
func (l avPairs) timestamp() (uint64, bool) {
	v, ok := l.get(avTimestamp)
	if !ok {
		return 0, false
	}
	var t uint64
	for i := 7; i >= 0; i-- {
		t = t<<8 | uint64(v[i])
	}
	return t, true
}

// maxNameBytes bounds every UTF-16 name we decode (a Windows user name is
// at most 256 characters, an SPN or FQDN at most 1024).
const maxNameBytes = 2048

// decodeUTF16 decodes a little-endian UTF-16 name strictly: even length,
// no unpaired surrogate, no NUL.
func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("odd-length UTF-16 string")
	}
	if len(b) > maxNameBytes {
		return "", fmt.Errorf("name longer than %d bytes", maxNameBytes)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c == 0:
			return "", fmt.Errorf("NUL in UTF-16 string")
		case c >= 0xD800 && c < 0xDC00:
			if i+1 == len(u) || u[i+1] < 0xDC00 || u[i+1] >= 0xE000 {
				return "", fmt.Errorf("unpaired UTF-16 surrogate")
			}
			i++
		case c >= 0xDC00 && c < 0xE000:
			return "", fmt.Errorf("unpaired UTF-16 surrogate")
		}
	}
	return string(utf16.Decode(u)), nil
}

// encodeUTF16 encodes s as little-endian UTF-16 without a terminator.
func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i] = byte(c)
		b[2*i+1] = byte(c >> 8)
	}
	return b
}

// errInvalidToken wraps a parse error as SEC_E_INVALID_TOKEN.
func errInvalidToken(err error) error {
	return secpkg.Errorf(secpkg.StatusInvalidToken, "%w", err)
}

// le32 encodes v little-endian.
func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// set replaces the value of the pair with the given id, or appends one.
func (l avPairs) set(id avID, v []byte) avPairs {
	for i := range l {
		if l[i].id == id {
			l[i].value = v
			return l
		}
	}
	return append(l, avPair{id: id, value: v})
}
