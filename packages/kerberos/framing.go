package kerberos

import (
	"encoding/binary"

	"github.com/opensspi/sspi/internal/gssframe"
	"github.com/opensspi/sspi/secpkg"
)

// Context tokens of the Kerberos mechanism (RFC 4121 4.1, RFC 1964 1.1):
// the RFC 2743 InitialContextToken framing with the Kerberos OID, a
// two-byte TOK_ID, and the Kerberos message.
type tokID uint16

const (
	tokAPReq    tokID = 0x0100 // KRB_AP_REQ
	tokAPRep    tokID = 0x0200 // KRB_AP_REP
	tokKRBError tokID = 0x0300 // KRB_ERROR
)

// String names the token.
func (t tokID) String() string {
	switch t {
	case tokAPReq:
		return "AP-REQ"
	case tokAPRep:
		return "AP-REP"
	case tokKRBError:
		return "KRB-ERROR"
	}
	return "unknown token"
}

// frameToken returns msg as a context token.
func frameToken(id tokID, msg []byte) []byte {
	inner := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(inner, uint16(id))
	return gssframe.Marshal(gssframe.Kerberos, append(inner, msg...))
}

// parseToken parses a context token (with the Kerberos OID, or the one
// Windows 2000 sent by mistake, which Windows and MIT accept) and returns
// its TOK_ID and message.
func parseToken(tok []byte) (tokID, []byte, error) {
	mech, inner, err := gssframe.Parse(tok)
	if err != nil {
		return 0, nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: context token: %w", err)
	}
	if mech != gssframe.Kerberos && mech != gssframe.KerberosMicrosoft {
		return 0, nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: context token of mechanism %v", mech)
	}
	if len(inner) < 2 {
		return 0, nil, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: context token without a TOK_ID")
	}
	return tokID(binary.BigEndian.Uint16(inner)), inner[2:], nil
}
