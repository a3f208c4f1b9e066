package negotiate

import (
	"encoding/asn1"

	"github.com/opensspi/sspi/internal/gssframe"
)

// frame wraps inner in the RFC 2743 Section 3.1 InitialContextToken
// framing for mech.
func frame(mech asn1.ObjectIdentifier, inner []byte) []byte {
	der, err := asn1.Marshal(mech)
	if err != nil {
		panic("negotiate: bad mechanism OID " + mech.String())
	}
	return gssframe.Marshal(gssframe.OID(der[2:]), inner)
}

// unframe parses an InitialContextToken strictly (gssframe.Parse) and
// returns its mechanism and inner token.
func unframe(tok []byte) (asn1.ObjectIdentifier, []byte, bool) {
	mech, inner, err := gssframe.Parse(tok)
	if err != nil {
		return nil, nil, false
	}
	var oid asn1.ObjectIdentifier
	der := append([]byte{0x06, byte(len(mech))}, mech...)
	if rest, err := asn1.Unmarshal(der, &oid); err != nil || len(rest) != 0 {
		return nil, nil, false
	}
	return oid, inner, true
}
