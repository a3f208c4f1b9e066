package negotiate

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The RFC 2743 Section 3.1 framing of an initial context token:
//
//	InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
//	    thisMech          MechType,
//	    innerContextToken ANY DEFINED BY thisMech }
var tagInitialContextToken = cbasn1.Tag(0).Constructed() | 0x40

// frame wraps inner in the InitialContextToken framing for mech.
func frame(mech asn1.ObjectIdentifier, inner []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(tagInitialContextToken, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(mech)
		b.AddBytes(inner)
	})
	return b.BytesOrPanic()
}

// unframe parses an InitialContextToken strictly (DER lengths, nothing
// after it) and returns its mechanism and inner token.
func unframe(tok []byte) (asn1.ObjectIdentifier, []byte, bool) {
	s := cryptobyte.String(tok)
	var body cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&body, tagInitialContextToken) || !s.Empty() || !body.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, false
	}
	return oid, body, true
}
