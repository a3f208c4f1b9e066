// Per-message tokens of the Kerberos GSS-API mechanism for the encryption
// types of RFC 3961 and later (RFC 4121 Section 4.2): MIC tokens (TOK_ID
// 04 04) and Wrap tokens (05 04), their 16-byte headers, and the rules
// that tell a malformed token from an altered one.
//
// Status rules, checked in this order (every rule has a test in
// tokens_rfc4121_test.go):
//
//	what is wrong                                          status
//	GSS framing (0x60) around a per-message token, or an    SEC_E_INVALID_TOKEN
//	  RFC 1964 token (TOK_ID 01 01, 02 01, 01 02) on a
//	  context that uses RFC 4121 tokens
//	token shorter than its header; wrong TOK_ID for the     SEC_E_INVALID_TOKEN
//	  call (a MIC given to UnsealMessage or the reverse);
//	  filler not FF; Sealed set in a MIC token
//	lengths that cannot hold the token: EC larger than the  SEC_E_INVALID_TOKEN
//	  room left, fewer than 16 bytes of encrypted header,
//	  EC other than the checksum length in an
//	  integrity-only Wrap token, a TOKEN buffer that is
//	  not header + trailer, an RRC that does not match the
//	  TOKEN/DATA split
//	SentByAcceptor says we sent it (a reflected token);     SEC_E_MESSAGE_ALTERED
//	  AcceptorSubkey does not match the key in use
//	checksum does not verify                                SEC_E_MESSAGE_ALTERED
//	encrypted header copy differs from the header (EC,      SEC_E_MESSAGE_ALTERED
//	  flags, SND_SEQ), checked only once the checksum
//	  verified
//	authentic token out of sequence (seqstate.go)           SEC_E_OUT_OF_SEQUENCE
//
// The header checks look only at bytes in clear, before any cryptography.
// Nothing inside the ciphertext is examined before the checksum verified,
// and the checksum is always computed in full, so there is no padding or
// format oracle. GSS-API's MIT implementation reports the first two groups
// as GSS_S_DEFECTIVE_TOKEN and the checksum and direction failures as
// GSS_S_BAD_SIG, which Wine maps to SEC_E_INVALID_TOKEN and
// SEC_E_MESSAGE_ALTERED; an encrypted header that disagrees with the clear
// one (krb5 t_invalid.c case 2, CVE-2024-37370) can only come from bytes
// changed under the key, so it is SEC_E_MESSAGE_ALTERED here. Any failure
// leaves the caller's buffers as they were.

package kerberos

import (
	"encoding/binary"

	"github.com/opensspi/sspi/internal/gssframe"
	"github.com/opensspi/sspi/secpkg"
)

// Token identifiers (RFC 4121 Section 4.2.6, and RFC 1964 Section 1.2 for
// the older ones, recognised only to be refused).
const (
	cfxTokMIC      = 0x0404 // RFC 4121 4.2.6.1 MIC token
	cfxTokWrap     = 0x0504 // RFC 4121 4.2.6.2 Wrap token
	rfc1964TokMIC  = 0x0101 // RFC 1964 1.2.1 MIC (GSS_GetMIC) token
	rfc1964TokWrap = 0x0201 // RFC 1964 1.2.2 Wrap token
	rfc1964TokDel  = 0x0102 // RFC 1964 1.2.3 context deletion token
)

// Flags (RFC 4121 Section 4.2.2). Other bits are reserved: sent as zero and
// ignored on input, where the checksum still covers them.
const (
	cfxFlagSentByAcceptor = 0x01
	cfxFlagSealed         = 0x02
	cfxFlagAcceptorSubkey = 0x04
)

// cfxHeaderLen is the length of the header of both tokens (RFC 4121
// 4.2.6.1, 4.2.6.2), and of the encrypted copy of the header that sealed
// Wrap tokens carry.
const cfxHeaderLen = 16

// cfxHeader is the 16-byte header of an RFC 4121 token.
type cfxHeader [cfxHeaderLen]byte

func (h *cfxHeader) tokID() uint16  { return binary.BigEndian.Uint16(h[0:2]) }
func (h *cfxHeader) flags() byte    { return h[2] }
func (h *cfxHeader) ec() int        { return int(binary.BigEndian.Uint16(h[4:6])) }
func (h *cfxHeader) rrc() int       { return int(binary.BigEndian.Uint16(h[6:8])) }
func (h *cfxHeader) seq() uint64    { return binary.BigEndian.Uint64(h[8:16]) }
func (h *cfxHeader) setRRC(rrc int) { binary.BigEndian.PutUint16(h[6:8], uint16(rrc)) }
func (h *cfxHeader) setEC(ec int)   { binary.BigEndian.PutUint16(h[4:6], uint16(ec)) }

// micHeader builds a MIC token header (RFC 4121 4.2.6.1): TOK_ID 04 04,
// Flags, five filler bytes FF, SND_SEQ.
func micHeader(flags byte, seq uint64) cfxHeader {
	var h cfxHeader
	binary.BigEndian.PutUint16(h[0:2], cfxTokMIC)
	h[2] = flags
	h[3], h[4], h[5], h[6], h[7] = 0xff, 0xff, 0xff, 0xff, 0xff
	binary.BigEndian.PutUint64(h[8:16], seq)
	return h
}

// wrapHeader builds a Wrap token header (RFC 4121 4.2.6.2): TOK_ID 05 04,
// Flags, filler FF, EC, RRC, SND_SEQ.
func wrapHeader(flags byte, ec, rrc int, seq uint64) cfxHeader {
	var h cfxHeader
	binary.BigEndian.PutUint16(h[0:2], cfxTokWrap)
	h[2] = flags
	h[3] = 0xff
	h.setEC(ec)
	h.setRRC(rrc)
	binary.BigEndian.PutUint64(h[8:16], seq)
	return h
}

func invalidToken(format string, args ...any) error {
	return secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: "+format, args...)
}

func messageAltered(format string, args ...any) error {
	return secpkg.Errorf(secpkg.StatusMessageAltered, "kerberos: "+format, args...)
}

// checkFraming rejects a per-message token that starts like a GSS
// InitialContextToken. RFC 4121 tokens are never framed (Section 4.2.6);
// RFC 1964 tokens are, and a context using RFC 4121 must refuse them (krb5
// t_invalid.c case 1; CVE-2014-4341/4342). The framing itself is parsed
// strictly, so a truncated or overlong wrapper (t_invalid.c cases 5 and 9)
// gets a precise error.
func checkFraming(tok []byte) error {
	if !gssframe.IsFramed(tok) {
		return nil
	}
	inner, err := gssframe.ParseFor(tok, gssframe.Kerberos)
	if err != nil {
		return invalidToken("per-message token with malformed GSS framing: %w", err)
	}
	if len(inner) >= 2 {
		switch binary.BigEndian.Uint16(inner) {
		case rfc1964TokMIC, rfc1964TokWrap, rfc1964TokDel:
			return invalidToken("RFC 1964 token (TOK_ID %#04x) on a context that uses RFC 4121 tokens", binary.BigEndian.Uint16(inner))
		}
	}
	return invalidToken("RFC 4121 per-message token inside GSS framing")
}

// parseHeader reads the header of a token of the given kind from tok and
// applies the clear-text rules of the table above: TOK_ID, filler, the
// Sealed flag of MIC tokens, then direction and subkey flags against the
// receiving context (recvFlags are the flags a token from our peer must
// carry: SentByAcceptor when we are the initiator, AcceptorSubkey when the
// context uses the acceptor's subkey).
func parseHeader(tok []byte, kind uint16, recvFlags byte) (cfxHeader, error) {
	var h cfxHeader
	if err := checkFraming(tok); err != nil {
		return h, err
	}
	if len(tok) < cfxHeaderLen {
		return h, invalidToken("token of %d bytes, shorter than its %d-byte header", len(tok), cfxHeaderLen)
	}
	copy(h[:], tok)
	switch id := h.tokID(); {
	case id == kind:
	case id == rfc1964TokMIC || id == rfc1964TokWrap || id == rfc1964TokDel:
		return h, invalidToken("RFC 1964 token (TOK_ID %#04x) on a context that uses RFC 4121 tokens", id)
	case kind == cfxTokMIC && id == cfxTokWrap:
		return h, invalidToken("Wrap token where a MIC token was expected")
	case kind == cfxTokWrap && id == cfxTokMIC:
		return h, invalidToken("MIC token where a Wrap token was expected")
	default:
		return h, invalidToken("unknown TOK_ID %#04x", id)
	}
	if kind == cfxTokMIC {
		if h[3] != 0xff || h[4] != 0xff || h[5] != 0xff || h[6] != 0xff || h[7] != 0xff {
			return h, invalidToken("MIC token filler is not FF FF FF FF FF")
		}
		if h.flags()&cfxFlagSealed != 0 {
			return h, invalidToken("MIC token with the Sealed flag")
		}
	} else if h[3] != 0xff {
		return h, invalidToken("Wrap token filler is not FF")
	}
	if got := h.flags() & cfxFlagSentByAcceptor; got != recvFlags&cfxFlagSentByAcceptor {
		return h, messageAltered("token sent by the wrong side of the context (SentByAcceptor %d): reflected", got)
	}
	if got := h.flags() & cfxFlagAcceptorSubkey; got != recvFlags&cfxFlagAcceptorSubkey {
		return h, messageAltered("token's AcceptorSubkey flag (%d) does not match the key in use", got>>2)
	}
	return h, nil
}

// encHeaderMatches reports whether the decrypted header copy of a sealed
// Wrap token matches its clear header (RFC 4121 4.2.4): everything equal,
// RRC zero in the copy. The caller compares only after the checksum
// verified.
func encHeaderMatches(clear cfxHeader, copyb []byte) bool {
	want := clear
	want.setRRC(0)
	return len(copyb) == cfxHeaderLen && string(copyb) == string(want[:])
}

// rotateLeft rotates b left by r bytes in place (0 <= r < len(b)), undoing
// the RRC rotation of RFC 4121 4.2.5 (which rotates right). Small
// rotations, the usual case, move through a stack buffer; others use three
// reversals.
func rotateLeft(b []byte, r int) {
	n := len(b)
	if n == 0 || r%n == 0 {
		return
	}
	r %= n
	var tmp [256]byte
	switch {
	case r <= len(tmp):
		copy(tmp[:r], b[:r])
		copy(b, b[r:])
		copy(b[n-r:], tmp[:r])
	case n-r <= len(tmp):
		k := n - r
		copy(tmp[:k], b[r:])
		copy(b[k:], b[:r])
		copy(b[:k], tmp[:k])
	default:
		reverse(b[:r])
		reverse(b[r:])
		reverse(b)
	}
}

// rotateRight rotates b right by r bytes in place (RFC 4121 4.2.5).
func rotateRight(b []byte, r int) {
	if len(b) == 0 {
		return
	}
	r %= len(b)
	rotateLeft(b, (len(b)-r)%len(b))
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}
