// Package gssframe encodes and parses the mechanism-independent framing of
// GSS-API context tokens (RFC 2743, Section 3.1):
//
//	InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
//	        thisMech MechType,               -- an OBJECT IDENTIFIER
//	        innerContextToken ANY DEFINED BY thisMech
//	}
//
// On the wire that is the byte 0x60, a DER length, the DER encoding of the
// mechanism's OBJECT IDENTIFIER (tag 0x06, length, contents) and the inner
// token. The first token of a context (a Kerberos AP-REQ, a SPNEGO
// NegTokenInit, and in MIT's and Windows' implementations an NTLM
// NEGOTIATE_MESSAGE wrapped in SPNEGO) carries it.
//
// [Parse] is strict: definite lengths in their minimal encoding only, at
// most four length octets, a well-formed OBJECT IDENTIFIER, and no byte
// after the inner token. It never allocates in proportion to a declared
// length: it checks every length against the bytes actually present and
// returns sub-slices of its input. Its failures match [ErrMalformed]
// (callers report them as SEC_E_INVALID_TOKEN).
package gssframe

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// OID is an ASN.1 OBJECT IDENTIFIER held as the contents octets of its DER
// encoding (without the tag 0x06 and the length): a GSS-API MechType
// (RFC 2743, Section 3.1). Being a string, an OID is comparable and can be
// a constant.
type OID string

// Mechanism OIDs.
const (
	// Kerberos is the Kerberos V5 GSS-API mechanism, 1.2.840.113554.1.2.2
	// (RFC 1964, Section 1; RFC 4121, Section 1).
	Kerberos OID = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
	// KerberosMicrosoft is the Kerberos OID as Windows 2000 misencoded it
	// (the 113554 arc truncated to 16 bits), 1.2.840.48018.1.2.2; Windows
	// still offers it in SPNEGO (MS-KILE 3.1.5.12, MS-SPNG 3.3.5.1).
	KerberosMicrosoft OID = "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"
	// KerberosUser2User is Kerberos user-to-user, 1.2.840.113554.1.2.2.3
	// (draft-ietf-cat-user2user; MIT's gss_mech_krb5_u2u).
	KerberosUser2User OID = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x03"
	// SPNEGO is the Simple and Protected GSS-API Negotiation mechanism,
	// 1.3.6.1.5.5.2 (RFC 4178, Section 4.1).
	SPNEGO OID = "\x2b\x06\x01\x05\x05\x02"
	// NTLM is the NTLM security support provider, 1.3.6.1.4.1.311.2.2.10
	// (MS-NLMP 1.9; MS-SPNG 3.1.5.1).
	NTLM OID = "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
)

// Framing constants (RFC 2743, Section 3.1; ITU-T X.690).
const (
	tagApplication0 = 0x60 // [APPLICATION 0], constructed
	tagOID          = 0x06 // OBJECT IDENTIFIER, universal, primitive
	maxLengthOctets = 4    // long-form lengths of up to 2^32-1 bytes
	// MaxOIDLen bounds the contents of a mechanism OID. A MechType longer
	// than 127 bytes would need a long-form length; none exists, and
	// Parse rejects one.
	MaxOIDLen = 127
)

// ErrMalformed is matched (errors.Is) by every error Parse and ParseFor
// return: the token is not a well-formed InitialContextToken (or, for
// ParseFor, not one for the expected mechanism).
var ErrMalformed = errors.New("gssframe: malformed token")

// malformedError describes what is wrong; it matches ErrMalformed.
type malformedError string

func (e malformedError) Error() string        { return "gssframe: " + string(e) }
func (e malformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(detail string) error { return malformedError(detail) }

// String returns the dotted-decimal form, such as "1.2.840.113554.1.2.2",
// or "invalid OID <hex>" if o is not well formed.
func (o OID) String() string {
	if o.validate() != nil {
		return "invalid OID " + strconv.Quote(string(o))
	}
	var b strings.Builder
	var v uint64
	first := true
	for i := 0; i < len(o); i++ {
		v = v<<7 | uint64(o[i]&0x7f)
		if o[i]&0x80 != 0 {
			continue
		}
		if first {
			// X.690 8.19.4: the first subidentifier is 40*X + Y.
			x := min(v/40, 2)
			b.WriteString(strconv.FormatUint(x, 10))
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(v-40*x, 10))
			first = false
		} else {
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(v, 10))
		}
		v = 0
	}
	return b.String()
}

// Valid reports whether o is a well-formed OBJECT IDENTIFIER encoding: not
// empty, at most MaxOIDLen bytes, each subidentifier minimal (no leading
// 0x80 octet) and at most 64 bits, and the last octet ending a
// subidentifier (X.690 8.19).
func (o OID) Valid() bool { return o.validate() == nil }

func (o OID) validate() error {
	if len(o) == 0 {
		return errors.New("empty OID")
	}
	if len(o) > MaxOIDLen {
		return errors.New("OID longer than 127 bytes")
	}
	start := true
	var v uint64
	for i := 0; i < len(o); i++ {
		c := o[i]
		if start && c == 0x80 {
			return errors.New("OID subidentifier not minimally encoded")
		}
		if v > math.MaxUint64>>7 {
			return errors.New("OID subidentifier larger than 64 bits")
		}
		v = v<<7 | uint64(c&0x7f)
		start = c&0x80 == 0
		if start {
			v = 0
		}
	}
	if !start {
		return errors.New("OID ends inside a subidentifier")
	}
	return nil
}

// ParseOID parses a dotted-decimal OBJECT IDENTIFIER such as
// "1.3.6.1.5.5.2".
func ParseOID(dotted string) (OID, error) {
	parts := strings.Split(dotted, ".")
	if len(parts) < 2 {
		return "", errors.New("gssframe: OID needs at least two arcs")
	}
	arcs := make([]uint64, len(parts))
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return "", errors.New("gssframe: malformed OID arc " + strconv.Quote(p))
		}
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return "", errors.New("gssframe: malformed OID arc " + strconv.Quote(p))
		}
		arcs[i] = v
	}
	if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) || arcs[1] > math.MaxUint64-80 {
		return "", errors.New("gssframe: OID first arcs out of range")
	}
	b := appendBase128(nil, arcs[0]*40+arcs[1])
	for _, v := range arcs[2:] {
		b = appendBase128(b, v)
	}
	o := OID(b)
	if err := o.validate(); err != nil {
		return "", errors.New("gssframe: " + err.Error())
	}
	return o, nil
}

func appendBase128(b []byte, v uint64) []byte {
	n := 1
	for t := v >> 7; t != 0; t >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		c := byte(v>>(7*uint(i))) & 0x7f
		if i != 0 {
			c |= 0x80
		}
		b = append(b, c)
	}
	return b
}

// intern returns the constant for a known mechanism, so that parsing the
// common mechanisms does not allocate.
func intern(b []byte) OID {
	switch OID(b) {
	case Kerberos:
		return Kerberos
	case KerberosMicrosoft:
		return KerberosMicrosoft
	case KerberosUser2User:
		return KerberosUser2User
	case SPNEGO:
		return SPNEGO
	case NTLM:
		return NTLM
	}
	return OID(b)
}

// appendLength appends a DER length (X.690 8.1.3, minimal form).
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Len returns the length of the token Append produces for mech and an inner
// token of innerLen bytes.
func Len(mech OID, innerLen int) int {
	body := 2 + len(mech) + innerLen
	return len(appendLength(make([]byte, 0, 5), body)) + 1 + body
}

// Append appends the InitialContextToken framing of inner for mech to b
// (RFC 2743, Section 3.1). mech must be a valid OID no longer than
// MaxOIDLen bytes and inner shorter than 4 GiB; Append panics otherwise,
// as these are the caller's constants, never peer input.
func Append(b []byte, mech OID, inner []byte) []byte {
	if err := mech.validate(); err != nil {
		panic("gssframe: " + err.Error())
	}
	body := 2 + len(mech) + len(inner)
	if uint64(body) > math.MaxUint32 {
		panic("gssframe: inner token too long")
	}
	b = append(b, tagApplication0)
	b = appendLength(b, body)
	b = append(b, tagOID, byte(len(mech)))
	b = append(b, mech...)
	return append(b, inner...)
}

// Marshal returns the InitialContextToken framing of inner for mech.
func Marshal(mech OID, inner []byte) []byte {
	return Append(make([]byte, 0, Len(mech, len(inner))), mech, inner)
}

// IsFramed reports whether b starts like an InitialContextToken (the tag
// 0x60). It does not validate the rest; use Parse.
func IsFramed(b []byte) bool { return len(b) > 0 && b[0] == tagApplication0 }

// readLength reads a DER length from b and returns it with the number of
// bytes it took. Indefinite lengths (0x80), more than four length octets
// and non-minimal encodings are rejected (X.690 10.1).
func readLength(b []byte) (n uint64, size int, err error) {
	if len(b) == 0 {
		return 0, 0, malformed("missing length")
	}
	first := b[0]
	if first < 0x80 {
		return uint64(first), 1, nil
	}
	k := int(first & 0x7f)
	switch {
	case k == 0:
		return 0, 0, malformed("indefinite length")
	case k > maxLengthOctets:
		return 0, 0, malformed("length of " + strconv.Itoa(k) + " octets")
	case len(b)-1 < k:
		return 0, 0, malformed("length octets past the end")
	case b[1] == 0:
		return 0, 0, malformed("length with a leading zero octet")
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | uint64(c)
	}
	if n < 0x80 {
		return 0, 0, malformed("long-form length below 128")
	}
	return n, 1 + k, nil
}

// Parse parses an InitialContextToken (RFC 2743, Section 3.1) and returns
// the mechanism and the inner token, a sub-slice of token. The whole of
// token must be the framed token: trailing bytes are rejected.
func Parse(token []byte) (mech OID, inner []byte, err error) {
	oid, inner, err := parse(token)
	if err != nil {
		return "", nil, err
	}
	return intern(oid), inner, nil
}

// ParseFor is Parse for callers that expect one mechanism: it also fails
// if the token names another mechanism. It does not
// allocate.
func ParseFor(token []byte, want OID) (inner []byte, err error) {
	oid, inner, err := parse(token)
	if err != nil {
		return nil, err
	}
	if OID(oid) != want {
		return nil, malformed("token for another mechanism")
	}
	return inner, nil
}

func parse(token []byte) (oid, inner []byte, err error) {
	if len(token) == 0 {
		return nil, nil, malformed("empty token")
	}
	if token[0] != tagApplication0 {
		return nil, nil, malformed("token does not start with [APPLICATION 0]")
	}
	n, size, err := readLength(token[1:])
	if err != nil {
		return nil, nil, err
	}
	body := token[1+size:]
	if n != uint64(len(body)) {
		if n > uint64(len(body)) {
			return nil, nil, malformed("declared length past the end of the token")
		}
		return nil, nil, malformed("bytes after the token")
	}
	if len(body) < 2 || body[0] != tagOID {
		return nil, nil, malformed("token does not start with a mechanism OID")
	}
	oidLen := int(body[1])
	if oidLen >= 0x80 {
		return nil, nil, malformed("mechanism OID longer than 127 bytes")
	}
	if oidLen > len(body)-2 {
		return nil, nil, malformed("mechanism OID past the end of the token")
	}
	oid = body[2 : 2+oidLen]
	if err := OID(oid).validate(); err != nil {
		return nil, nil, malformed(err.Error())
	}
	return oid, body[2+oidLen:], nil
}
