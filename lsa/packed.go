package lsa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// The packed-context envelope wraps the ContextData a package hands over
// (doc/packed-context.md has the full description):
//
//	offset  size  field
//	0       4     magic "OSPC"
//	4       1     version (1)
//	5       1     kind: 1 mapped hand-over, 2 export
//	6       2     reserved, zero
//	8       4     package ID in the issuing LSA (big-endian)
//	12      1     n, length of the package name (1..64)
//	13      n     package name (as registered, ASCII)
//	13+n    8     context flags (secpkg.ContextFlags, big-endian)
//	21+n    8     expiry, Unix seconds (big-endian; 0 = never)
//	kind 1: 4     payload length m, then m bytes of ContextData, then
//	              32 bytes SHA-256 over everything before
//	kind 2: 16    export ID, 12 nonce, 4 length m, then m bytes of
//	              AES-256-GCM(exportKey, nonce, payload, AAD = all bytes
//	              before the ciphertext)
const (
	packedMagic   = "OSPC"
	packedVersion = 1

	// PackedMapped is the kind of envelope an LSA returns with a mapped
	// context.
	PackedMapped = 1
	// PackedExport is the kind of envelope ExportContext returns.
	PackedExport = 2

	maxPackageName = 64
	// maxPacked bounds an envelope, so that a hostile one cannot make the
	// parser allocate much.
	maxPacked = 1 << 20
)

// Packed is a parsed packed-context envelope.
type Packed struct {
	Kind      uint8
	PackageID uint32
	Package   string
	Flags     secpkg.ContextFlags
	Expiry    time.Time
	// Data is the package's ContextData (kind 1) or, for kind 2, the
	// sealed payload; ExportID and Nonce are set only for kind 2.
	Data     []byte
	ExportID [16]byte
	Nonce    [12]byte
	header   []byte // bytes covered as AAD, kind 2
}

func (p *Packed) appendHeader(b []byte) []byte {
	b = append(b, packedMagic...)
	b = append(b, packedVersion, p.Kind, 0, 0)
	b = binary.BigEndian.AppendUint32(b, p.PackageID)
	b = append(b, byte(len(p.Package)))
	b = append(b, p.Package...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Flags))
	var exp int64
	if !p.Expiry.IsZero() {
		exp = p.Expiry.Unix()
	}
	return binary.BigEndian.AppendUint64(b, uint64(exp))
}

// MarshalMapped returns the kind 1 envelope for p.
func (p *Packed) MarshalMapped() []byte {
	p.Kind = PackedMapped
	// The header, the length, the data and the SHA-256, in one allocation.
	b := p.appendHeader(make([]byte, 0, len(packedMagic)+25+len(p.Package)+4+len(p.Data)+sha256.Size))
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Data)))
	b = append(b, p.Data...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// SealExport returns the kind 2 envelope for p, sealing payload under key.
func (p *Packed) SealExport(key []byte, payload []byte) []byte {
	p.Kind = PackedExport
	b := p.appendHeader(make([]byte, 0, 96+len(p.Package)+len(payload)))
	b = append(b, p.ExportID[:]...)
	b = append(b, p.Nonce[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)+16))
	aead := newGCM(key)
	return aead.Seal(b, p.Nonce[:], payload, b)
}

// OpenExport decrypts the payload of a kind 2 envelope.
func (p *Packed) OpenExport(key []byte) ([]byte, error) {
	out, err := newGCM(key).Open(nil, p.Nonce[:], p.Data, p.header)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: exported context fails its integrity check")
	}
	return out, nil
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("lsa: bad export key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("lsa: " + err.Error())
	}
	return aead
}

// ParsePacked parses an envelope of either kind, checking its structure
// and, for kind 1, its checksum. It fails with StatusInvalidToken (and
// never panics) on anything malformed, and with StatusUnsupportedFunction
// on an unknown version.
func ParsePacked(b []byte) (*Packed, error) {
	bad := func(what string) (*Packed, error) {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: packed context: %s", what)
	}
	if len(b) > maxPacked {
		return bad("too large")
	}
	if len(b) < 13 || string(b[:4]) != packedMagic {
		return bad("bad magic")
	}
	if b[4] != packedVersion {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: packed context version %d is not supported", b[4])
	}
	p := &Packed{Kind: b[5], PackageID: binary.BigEndian.Uint32(b[8:])}
	if b[6] != 0 || b[7] != 0 {
		return bad("reserved bytes set")
	}
	n := int(b[12])
	if n == 0 || n > maxPackageName || len(b) < 13+n+16 {
		return bad("bad package name")
	}
	for _, c := range b[13 : 13+n] {
		if c < 0x21 || c > 0x7e {
			return bad("bad package name")
		}
	}
	p.Package = string(b[13 : 13+n])
	rest := b[13+n:]
	p.Flags = secpkg.ContextFlags(binary.BigEndian.Uint64(rest))
	if exp := int64(binary.BigEndian.Uint64(rest[8:])); exp != 0 {
		p.Expiry = time.Unix(exp, 0)
	}
	rest = rest[16:]
	switch p.Kind {
	case PackedMapped:
		if len(rest) < 4+sha256.Size {
			return bad("truncated")
		}
		m := binary.BigEndian.Uint32(rest)
		if uint64(m) != uint64(len(rest)-4-sha256.Size) {
			return bad("length mismatch")
		}
		body := b[:len(b)-sha256.Size]
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare(sum[:], b[len(b)-sha256.Size:]) != 1 {
			return bad("checksum mismatch")
		}
		p.Data = append([]byte(nil), rest[4:4+m]...)
	case PackedExport:
		if len(rest) < 16+12+4+16 {
			return bad("truncated")
		}
		copy(p.ExportID[:], rest)
		copy(p.Nonce[:], rest[16:])
		m := binary.BigEndian.Uint32(rest[28:])
		if uint64(m) != uint64(len(rest)-32) {
			return bad("length mismatch")
		}
		p.header = append([]byte(nil), b[:len(b)-int(m)]...)
		p.Data = append([]byte(nil), rest[32:]...)
	default:
		return bad("unknown kind")
	}
	return p, nil
}
