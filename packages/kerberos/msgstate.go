// Per-message protection of an established Kerberos context (RFC 4121
// Section 4.2) in the SSPI buffer model: MakeSignature, VerifySignature,
// EncryptMessage (SealMessage) and DecryptMessage (UnsealMessage) on
// []secpkg.Buffer, in place, and GSS-style byte-slice helpers. Both halves
// of the package use it: the user-mode context on the fast path and the
// LSA-mode context on the slow one.

package kerberos

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// msgConfig describes an established context for newMsgState.
type msgConfig struct {
	// EType is the encryption type of Key.
	EType kcrypto.EType
	// Key protects the messages: the acceptor's subkey if the acceptor
	// asserted one in the AP-REP, otherwise the initiator's subkey from
	// the authenticator, otherwise the ticket's session key (RFC 4121
	// Section 2).
	Key []byte
	// Initiator is set on the side that sent the AP-REQ.
	Initiator bool
	// AcceptorSubkey is set when Key is the acceptor's subkey: tokens then
	// carry the AcceptorSubkey flag both ways (RFC 4121 4.2.2).
	AcceptorSubkey bool
	// SendSeq and RecvSeq are the first sequence numbers of our tokens
	// and of the peer's (the seq-number of the authenticator and of the
	// AP-REP, RFC 4120 5.5.1, 5.5.2).
	SendSeq, RecvSeq uint64
	// Replay and Sequence are the negotiated ISC_REQ_REPLAY_DETECT and
	// ISC_REQ_SEQUENCE_DETECT (GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG).
	Replay, Sequence bool
	// Rand supplies the confounders; nil means crypto/rand.
	Rand io.Reader
}

// msgState is the per-message state of an established context: the keys
// derived once for each direction and usage, our next sequence number and
// the peer's sequence state. Sending and receiving use disjoint state, so
// one goroutine may seal while another unseals (as SSPI allows); two
// senders or two receivers must be serialized by the caller.
type msgState struct {
	etype          kcrypto.EType
	key            []byte // kept for export; wiped by wipe
	initiator      bool
	acceptorSubkey bool
	h              int // checksum length of etype
	send           msgSend
	recv           msgRecv
}

// msgSend is the sending direction.
type msgSend struct {
	seal, sign *kcrypto.UsageKey // KG-USAGE-{INITIATOR,ACCEPTOR}-{SEAL,SIGN} of our role
	flags      byte              // Flags our tokens carry
	seq        uint64            // SND_SEQ of our next token
	rand       io.Reader
	segs       []kcrypto.Segment // reused for every message
	hdr        cfxHeader         // header copy covered by an integrity-only checksum
}

// msgRecv is the receiving direction.
type msgRecv struct {
	seal, sign *kcrypto.UsageKey // the peer's usages
	flags      byte              // Flags the peer's tokens must carry
	seq        seqState
	segs       []kcrypto.Segment
	hdr        cfxHeader
}

// newMsgState derives the per-message keys of a context (RFC 4121
// Section 2: usages 22-25) and sets up both directions.
func newMsgState(c msgConfig) (*msgState, error) {
	if !c.EType.Supported() {
		return nil, secpkg.Errorf(secpkg.StatusStrongCryptoNotSupported, "kerberos: encryption type %v has no RFC 4121 per-message support here", c.EType)
	}
	if len(c.Key) != c.EType.KeySize() {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "kerberos: %v key of %d bytes", c.EType, len(c.Key))
	}
	m := &msgState{
		etype:          c.EType,
		key:            append([]byte(nil), c.Key...),
		initiator:      c.Initiator,
		acceptorSubkey: c.AcceptorSubkey,
		h:              c.EType.ChecksumSize(),
	}
	sendSeal, sendSign := kcrypto.UsageAcceptorSeal, kcrypto.UsageAcceptorSign
	recvSeal, recvSign := kcrypto.UsageInitiatorSeal, kcrypto.UsageInitiatorSign
	if c.Initiator {
		sendSeal, sendSign, recvSeal, recvSign = recvSeal, recvSign, sendSeal, sendSign
		m.recv.flags = cfxFlagSentByAcceptor
	} else {
		m.send.flags = cfxFlagSentByAcceptor
	}
	if c.AcceptorSubkey {
		m.send.flags |= cfxFlagAcceptorSubkey
		m.recv.flags |= cfxFlagAcceptorSubkey
	}
	var err error
	for _, k := range []struct {
		dst   **kcrypto.UsageKey
		usage uint32
	}{{&m.send.seal, sendSeal}, {&m.send.sign, sendSign}, {&m.recv.seal, recvSeal}, {&m.recv.sign, recvSign}} {
		if *k.dst, err = kcrypto.NewUsageKey(c.EType, c.Key, k.usage); err != nil {
			m.wipe()
			return nil, secpkg.Errorf(secpkg.StatusInternalError, "kerberos: deriving per-message keys: %w", err)
		}
	}
	m.send.seq = c.SendSeq
	m.send.rand = c.Rand
	if m.send.rand == nil {
		m.send.rand = rand.Reader
	}
	m.recv.seq = newSeqState(c.RecvSeq, c.Replay, c.Sequence, true)
	return m, nil
}

// wipe zeroes the key and drops the derived keys.
func (m *msgState) wipe() {
	clear(m.key)
	m.key = nil
	for _, k := range []*kcrypto.UsageKey{m.send.seal, m.send.sign, m.recv.seal, m.recv.sign} {
		if k != nil {
			k.Close()
		}
	}
	m.send.seal, m.send.sign, m.recv.seal, m.recv.sign = nil, nil, nil, nil
}

// String describes the state without its keys.
func (m *msgState) String() string {
	return fmt.Sprintf("kerberos.msgState{%v initiator:%v acceptorSubkey:%v keys:REDACTED}", m.etype, m.initiator, m.acceptorSubkey)
}

// GoString keeps the keys out of %#v.
func (m *msgState) GoString() string { return m.String() }

// LogValue implements slog.LogValuer without the keys.
func (m *msgState) LogValue() slog.Value {
	return slog.GroupValue(slog.String("etype", m.etype.String()), slog.Bool("initiator", m.initiator), slog.String("keys", "REDACTED"))
}

// Sizes and limits as Windows' Kerberos package reports them for the AES
// encryption types.
const (
	// cfxMaxToken is cbMaxToken: 48000 bytes, the MaxTokenSize default of
	// Windows since Windows 8 / Server 2012 (KB327825).
	cfxMaxToken = 48000
	// cfxMaxStreamMessage is the cbMaximumMessage reported for stream
	// framing: Kerberos has no record limit of its own, and a bounded
	// value keeps framers from allocating without limit.
	cfxMaxStreamMessage = 1 << 20
)

// sealedTrailerLen is the TOKEN buffer SealMessage writes: header,
// encrypted header copy, checksum and encrypted confounder, with EC = 0
// (60 bytes for the SHA-1 types).
func (m *msgState) sealedTrailerLen() int {
	return cfxHeaderLen + cfxHeaderLen + m.h + kcrypto.ConfounderSize
}

// sizes answers SECPKG_ATTR_SIZES (SecPkgContext_Sizes): cbMaxSignature is
// a MIC token (16 + h: 28 bytes for the SHA-1 types); cbSecurityTrailer
// is room for the trailer plus one block of EC filler, 76 for the SHA-1
// types, the value Windows' Kerberos package reports (FreeRDP observed it,
// FreeRDP PR 8307), although the trailer written is 60 and SealMessage
// shortens the TOKEN buffer to it; cbBlockSize is 1, as ciphertext
// stealing needs no padding.
func (m *msgState) sizes() secpkg.Sizes {
	return secpkg.Sizes{
		MaxToken:        cfxMaxToken,
		MaxSignature:    uint32(cfxHeaderLen + m.h),
		BlockSize:       1,
		SecurityTrailer: uint32(m.sealedTrailerLen() + 16),
	}
}

// streamSizes answers SECPKG_ATTR_STREAM_SIZES: no header, the trailer of
// sizes, two buffers.
func (m *msgState) streamSizes() secpkg.StreamSizes {
	return secpkg.StreamSizes{
		Header:         0,
		Trailer:        uint32(m.sealedTrailerLen() + 16),
		MaximumMessage: cfxMaxStreamMessage,
		Buffers:        2,
		BlockSize:      1,
	}
}

// cfxBufferRole says what the protection functions do with a buffer: DATA
// buffers are covered by the checksum and, when sealing, encrypted in
// place; READONLY data is neither; READONLY_WITH_CHECKSUM data is covered
// but stays in clear (GSS_IOV_BUFFER_TYPE_SIGN_ONLY).
func cfxBufferRole(t secpkg.BufferType) (signed, encrypted bool) {
	if t.Kind() != secpkg.BufferData {
		return false, false
	}
	switch {
	case t&secpkg.BufferReadOnlyWithChecksum != 0:
		return true, false
	case t&secpkg.BufferReadOnly != 0:
		return false, false
	}
	return true, true
}

// cfxFind returns the index of the first buffer of the given kind, or -1.
func cfxFind(msg []secpkg.Buffer, kind secpkg.BufferType) int {
	for i := range msg {
		if msg[i].Type.Kind() == kind {
			return i
		}
	}
	return -1
}

// appendMessage appends the signed buffers of msg as segments; with
// encrypt, the encrypted ones as encrypted segments and the others as
// sign-only (for sealing); without, all as plain checksummed bytes.
func appendMessage(segs []kcrypto.Segment, msg []secpkg.Buffer, encrypt bool) []kcrypto.Segment {
	for i := range msg {
		signed, encrypted := cfxBufferRole(msg[i].Type)
		if signed {
			segs = append(segs, kcrypto.Segment{Data: msg[i].Data, SignOnly: encrypt && !encrypted})
		}
	}
	return segs
}

// release drops the references a segment list holds to caller buffers
// and returns it, empty, for the next message.
func release(segs []kcrypto.Segment) []kcrypto.Segment {
	clear(segs)
	return segs[:0]
}

// next returns the sequence number of our next token and advances it.
func (s *msgSend) next() uint64 {
	seq := s.seq
	s.seq++ // 64 bits (RFC 4121 4.2.6): wrapping would take 2^64 messages
	return seq
}

// makeSignature is SpMakeSignature: it writes a MIC token (RFC 4121
// 4.2.6.1) for the signed buffers of msg into its TOKEN buffer and
// shortens that buffer to the token. The checksum is HMAC(Kc) of
// KG-USAGE-{INITIATOR,ACCEPTOR}-SIGN over the data, then the header.
func (m *msgState) makeSignature(qop uint32, msg []secpkg.Buffer) error {
	if qop != 0 {
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "kerberos: quality of protection %#x", qop)
	}
	ti := cfxFind(msg, secpkg.BufferToken)
	if ti < 0 {
		return invalidToken("message has no token buffer")
	}
	need := cfxHeaderLen + m.h
	tok := msg[ti].Data
	if len(tok) < need {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "kerberos: token buffer of %d bytes, a MIC token needs %d", len(tok), need)
	}
	s := &m.send
	hdr := micHeader(s.flags, s.next())
	copy(tok, hdr[:])
	segs := appendMessage(s.segs, msg, false)
	segs = append(segs, kcrypto.Segment{Data: tok[:cfxHeaderLen]})
	err := s.sign.ChecksumSegments(segs, tok[cfxHeaderLen:need])
	s.segs = release(segs)
	if err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "kerberos: %w", err)
	}
	msg[ti].Data = tok[:need]
	return nil
}

// verifySignature is SpVerifySignature: it checks the MIC token in msg's
// TOKEN buffer over its signed buffers.
func (m *msgState) verifySignature(msg []secpkg.Buffer) (uint32, error) {
	ti := cfxFind(msg, secpkg.BufferToken)
	if ti < 0 {
		return 0, invalidToken("message has no token buffer")
	}
	r := &m.recv
	tok := msg[ti].Data
	hdr, err := parseHeader(tok, cfxTokMIC, r.flags)
	if err != nil {
		return 0, err
	}
	if want := cfxHeaderLen + m.h; len(tok) != want {
		return 0, invalidToken("MIC token of %d bytes, want %d", len(tok), want)
	}
	segs := appendMessage(r.segs, msg, false)
	segs = append(segs, kcrypto.Segment{Data: tok[:cfxHeaderLen]})
	ok := r.sign.VerifyChecksumSegments(segs, tok[cfxHeaderLen:])
	r.segs = release(segs)
	if !ok {
		return 0, messageAltered("MIC token checksum does not verify")
	}
	return 0, m.checkSeq(hdr.seq())
}

// checkSeq runs the sequence state on an authentic token.
func (m *msgState) checkSeq(seq uint64) error {
	if res := m.recv.seq.check(seq); res != seqOK {
		return secpkg.Errorf(res.status(), "kerberos: token out of sequence (%v, SND_SEQ %d)", res, seq)
	}
	return nil
}

// sealMessage is SpSealMessage (EncryptMessage). It writes a Wrap token
// (RFC 4121 4.2.6.2) laid out the way Windows lays it out, so that TOKEN
// followed by DATA is exactly a valid Wrap token:
//
//   - qop 0 (sealed): the DATA buffers are encrypted in place, and the
//     TOKEN buffer receives the header (EC 0, RRC 16+h), the encrypted
//     header copy, the checksum and the encrypted confounder, 16+16+h+16
//     bytes (60 for the SHA-1 types); the RRC rotation puts the
//     confounder last so that the encrypted data can follow.
//   - SECQOP_WRAP_NO_ENCRYPT (integrity only): the DATA buffers stay in
//     clear and the TOKEN buffer receives the header (EC = RRC = h) and
//     the checksum, 16+h bytes.
//
// READONLY_WITH_CHECKSUM buffers are covered but not encrypted, READONLY
// buffers neither; PADDING buffers are emptied (EC is 0). The TOKEN buffer
// is shortened to what was written.
func (m *msgState) sealMessage(qop uint32, msg []secpkg.Buffer) error {
	var sealed bool
	switch qop {
	case 0:
		sealed = true
	case secpkg.QOPWrapNoEncrypt:
	default:
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "kerberos: quality of protection %#x", qop)
	}
	ti := cfxFind(msg, secpkg.BufferToken)
	if ti < 0 {
		return invalidToken("message has no token buffer")
	}
	tok := msg[ti].Data
	need := cfxHeaderLen + m.h
	if sealed {
		need = m.sealedTrailerLen()
	}
	if len(tok) < need {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "kerberos: token buffer of %d bytes, the trailer needs %d", len(tok), need)
	}
	for i := range msg {
		if msg[i].Type.Kind() == secpkg.BufferPadding {
			msg[i].Data = msg[i].Data[:0]
		}
	}
	s := &m.send
	h := m.h
	var err error
	if sealed {
		// TOKEN: header | E(header copy) | checksum | E(confounder).
		seq := s.next()
		hdr := wrapHeader(s.flags|cfxFlagSealed, 0, cfxHeaderLen+h, seq)
		copy(tok, hdr[:])
		inner := wrapHeader(s.flags|cfxFlagSealed, 0, 0, seq)
		tail := tok[cfxHeaderLen : 2*cfxHeaderLen]
		copy(tail, inner[:])
		segs := append(s.segs, kcrypto.Segment{Data: tok[2*cfxHeaderLen+h : need]})
		segs = appendMessage(segs, msg, true)
		segs = append(segs, kcrypto.Segment{Data: tail})
		err = s.seal.EncryptSegments(s.rand, segs, tok[2*cfxHeaderLen:2*cfxHeaderLen+h])
		s.segs = release(segs)
	} else {
		// TOKEN: header | checksum; the checksum covers the data, then the
		// header with EC and RRC zero (RFC 4121 4.2.4).
		seq := s.next()
		hdr := wrapHeader(s.flags, h, h, seq)
		copy(tok, hdr[:])
		s.hdr = wrapHeader(s.flags, 0, 0, seq)
		segs := appendMessage(s.segs, msg, false)
		segs = append(segs, kcrypto.Segment{Data: s.hdr[:]})
		err = s.seal.ChecksumSegments(segs, tok[cfxHeaderLen:need])
		s.segs = release(segs)
	}
	if err != nil {
		return secpkg.Errorf(secpkg.StatusEncryptFailure, "kerberos: %w", err)
	}
	msg[ti].Data = tok[:need]
	return nil
}

// unsealMessage is SpUnsealMessage (DecryptMessage). It accepts a Wrap
// token in one of two layouts:
//
//   - TOKEN + DATA: the TOKEN buffer holds the header and trailer exactly
//     as sealMessage writes them (RRC = EC+16+h when sealed, h when not),
//     the DATA buffers the data, which is decrypted in place;
//   - a whole token, with any RRC, in a STREAM buffer (the plaintext is
//     then returned in the first DATA buffer, pointing into the stream
//     buffer) or in the only DATA buffer (which is then shortened to the
//     plaintext). The token is decrypted and un-rotated in place.
//
// READONLY_WITH_CHECKSUM buffers are covered by the checksum in their
// place among the data. It returns SECQOP_WRAP_NO_ENCRYPT for an
// integrity-only token. On any failure the buffers are left as they were
// (see tokens_rfc4121.go for the statuses); a token out of sequence is
// authentic and its plaintext is in place (seqstate.go).
func (m *msgState) unsealMessage(msg []secpkg.Buffer) (uint32, error) {
	if ti := cfxFind(msg, secpkg.BufferToken); ti >= 0 && len(msg[ti].Data) > 0 {
		return m.unsealSplit(msg, ti)
	}
	if si := cfxFind(msg, secpkg.BufferStream); si >= 0 {
		out := -1
		for i := range msg {
			if _, enc := cfxBufferRole(msg[i].Type); enc {
				out = i
				break
			}
		}
		pos := si
		if out >= 0 {
			pos = out
		}
		plain, qop, err := m.unwrapWhole(msg[si].Data, msg, pos)
		if plain != nil && out >= 0 {
			msg[out].Data = plain
		}
		return qop, err
	}
	di := -1
	for i := range msg {
		if _, enc := cfxBufferRole(msg[i].Type); enc {
			if di >= 0 {
				return 0, invalidToken("message has no token buffer and more than one data buffer")
			}
			di = i
		}
	}
	if di < 0 {
		return 0, invalidToken("message has no token, stream or data buffer")
	}
	plain, qop, err := m.unwrapWhole(msg[di].Data, msg, di)
	if plain != nil {
		msg[di].Data = plain
	}
	return qop, err
}

// unsealSplit unseals the TOKEN + DATA layout.
func (m *msgState) unsealSplit(msg []secpkg.Buffer, ti int) (uint32, error) {
	r := &m.recv
	h := m.h
	tok := msg[ti].Data
	hdr, err := parseHeader(tok, cfxTokWrap, r.flags)
	if err != nil {
		return 0, err
	}
	ec, rrc := hdr.ec(), hdr.rrc()
	if hdr.flags()&cfxFlagSealed == 0 {
		if ec != h {
			return 0, invalidToken("integrity-only Wrap token with EC %d, want the checksum length %d", ec, h)
		}
		if len(tok) != cfxHeaderLen+h || rrc != h {
			return 0, invalidToken("token buffer of %d bytes with RRC %d is not an integrity-only trailer (want %d bytes, RRC %d)", len(tok), rrc, cfxHeaderLen+h, h)
		}
		r.hdr = hdr
		r.hdr.setEC(0)
		r.hdr.setRRC(0)
		segs := appendMessage(r.segs, msg, false)
		segs = append(segs, kcrypto.Segment{Data: r.hdr[:]})
		ok := r.seal.VerifyChecksumSegments(segs, tok[cfxHeaderLen:])
		r.segs = release(segs)
		if !ok {
			return 0, messageAltered("Wrap token checksum does not verify")
		}
		return secpkg.QOPWrapNoEncrypt, m.checkSeq(hdr.seq())
	}
	tailLen := ec + cfxHeaderLen
	if want := cfxHeaderLen + tailLen + h + kcrypto.ConfounderSize; len(tok) != want {
		return 0, invalidToken("token buffer of %d bytes; a sealed Wrap trailer with EC %d is %d", len(tok), ec, want)
	}
	if rrc != tailLen+h {
		return 0, invalidToken("RRC %d does not put the data after the token buffer (want %d)", rrc, tailLen+h)
	}
	tail := tok[cfxHeaderLen : cfxHeaderLen+tailLen]
	cks := tok[cfxHeaderLen+tailLen : cfxHeaderLen+tailLen+h]
	segs := append(r.segs, kcrypto.Segment{Data: tok[cfxHeaderLen+tailLen+h:]})
	segs = appendMessage(segs, msg, true)
	segs = append(segs, kcrypto.Segment{Data: tail})
	defer func() { r.segs = release(segs) }()
	if !r.seal.DecryptSegments(segs, cks) {
		return 0, messageAltered("Wrap token checksum does not verify")
	}
	if !encHeaderMatches(hdr, tail[ec:]) {
		r.seal.RestoreSegments(segs)
		return 0, messageAltered("Wrap token header differs from its encrypted copy")
	}
	return 0, m.checkSeq(hdr.seq())
}

// unwrapWhole unwraps a whole Wrap token in place and returns the
// plaintext, a sub-slice of t. pos is the index in msg at which the data
// sits among READONLY_WITH_CHECKSUM buffers. On an error other than
// SEC_E_OUT_OF_SEQUENCE the plaintext is nil and t is as it was.
func (m *msgState) unwrapWhole(t []byte, msg []secpkg.Buffer, pos int) ([]byte, uint32, error) {
	r := &m.recv
	h := m.h
	hdr, err := parseHeader(t, cfxTokWrap, r.flags)
	if err != nil {
		return nil, 0, err
	}
	ec := hdr.ec()
	body := t[cfxHeaderLen:]
	L := len(body)
	if hdr.flags()&cfxFlagSealed == 0 {
		if ec != h {
			return nil, 0, invalidToken("integrity-only Wrap token with EC %d, want the checksum length %d", ec, h)
		}
		if L < h {
			return nil, 0, invalidToken("integrity-only Wrap token of %d bytes cannot hold its %d-byte checksum", len(t), h)
		}
		rot := hdr.rrc() % L
		rotateLeft(body, rot)
		data := body[:L-h]
		r.hdr = hdr
		r.hdr.setEC(0)
		r.hdr.setRRC(0)
		segs := r.appendAround(r.segs, msg, pos, kcrypto.Segment{Data: data}, false)
		segs = append(segs, kcrypto.Segment{Data: r.hdr[:]})
		ok := r.seal.VerifyChecksumSegments(segs, body[L-h:])
		r.segs = release(segs)
		if !ok {
			rotateRight(body, rot)
			return nil, 0, messageAltered("Wrap token checksum does not verify")
		}
		return data, secpkg.QOPWrapNoEncrypt, m.checkSeq(hdr.seq())
	}
	fixed := kcrypto.ConfounderSize + ec + cfxHeaderLen + h
	if L < fixed {
		return nil, 0, invalidToken("sealed Wrap token of %d bytes cannot hold a confounder, %d bytes of filler, the encrypted header and the checksum (EC too large or token truncated)", len(t), ec)
	}
	n := L - fixed
	rot := hdr.rrc() % L
	rotateLeft(body, rot)
	data := body[kcrypto.ConfounderSize : kcrypto.ConfounderSize+n]
	tail := body[kcrypto.ConfounderSize+n : L-h]
	segs := append(r.segs, kcrypto.Segment{Data: body[:kcrypto.ConfounderSize]})
	segs = r.appendAround(segs, msg, pos, kcrypto.Segment{Data: data}, true)
	segs = append(segs, kcrypto.Segment{Data: tail})
	defer func() { r.segs = release(segs) }()
	if !r.seal.DecryptSegments(segs, body[L-h:]) {
		rotateRight(body, rot)
		return nil, 0, messageAltered("Wrap token checksum does not verify")
	}
	if !encHeaderMatches(hdr, tail[ec:]) {
		r.seal.RestoreSegments(segs)
		rotateRight(body, rot)
		return nil, 0, messageAltered("Wrap token header differs from its encrypted copy")
	}
	return data, 0, m.checkSeq(hdr.seq())
}

// appendAround appends the READONLY_WITH_CHECKSUM buffers of msg with the
// data segment at index pos, in buffer order (as MIT's
// kg_unseal_stream_iov orders SIGN_ONLY buffers around the data).
func (r *msgRecv) appendAround(segs []kcrypto.Segment, msg []secpkg.Buffer, pos int, data kcrypto.Segment, encrypt bool) []kcrypto.Segment {
	placed := false
	for i := range msg {
		if i == pos {
			segs = append(segs, data)
			placed = true
			continue
		}
		if signed, enc := cfxBufferRole(msg[i].Type); signed && !enc {
			segs = append(segs, kcrypto.Segment{Data: msg[i].Data, SignOnly: encrypt})
		}
	}
	if !placed {
		segs = append(segs, data)
	}
	return segs
}

// wrap is GSS_Wrap (RFC 2743 2.3.3), for tests and GSS-style callers:
// it returns a whole Wrap token with RRC 0, as MIT's gss_wrap does.
func (m *msgState) wrap(sealed bool, plaintext []byte) ([]byte, error) {
	s := &m.send
	h := m.h
	n := len(plaintext)
	seq := s.next()
	if !sealed {
		tok := make([]byte, cfxHeaderLen+n+h)
		hdr := wrapHeader(s.flags, h, 0, seq)
		copy(tok, hdr[:])
		copy(tok[cfxHeaderLen:], plaintext)
		s.hdr = wrapHeader(s.flags, 0, 0, seq)
		segs := append(s.segs, kcrypto.Segment{Data: tok[cfxHeaderLen : cfxHeaderLen+n]}, kcrypto.Segment{Data: s.hdr[:]})
		err := s.seal.ChecksumSegments(segs, tok[cfxHeaderLen+n:])
		s.segs = release(segs)
		if err != nil {
			return nil, secpkg.Errorf(secpkg.StatusInternalError, "kerberos: %w", err)
		}
		return tok, nil
	}
	// header | E(confounder | data | header copy) | checksum
	tok := make([]byte, cfxHeaderLen+kcrypto.ConfounderSize+n+cfxHeaderLen+h)
	hdr := wrapHeader(s.flags|cfxFlagSealed, 0, 0, seq)
	copy(tok, hdr[:])
	c := tok[cfxHeaderLen:]
	copy(c[kcrypto.ConfounderSize:], plaintext)
	tail := c[kcrypto.ConfounderSize+n : kcrypto.ConfounderSize+n+cfxHeaderLen]
	copy(tail, hdr[:])
	segs := append(s.segs, kcrypto.Segment{Data: c[:kcrypto.ConfounderSize]},
		kcrypto.Segment{Data: c[kcrypto.ConfounderSize : kcrypto.ConfounderSize+n]}, kcrypto.Segment{Data: tail})
	err := s.seal.EncryptSegments(s.rand, segs, c[len(c)-h:])
	s.segs = release(segs)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusEncryptFailure, "kerberos: %w", err)
	}
	return tok, nil
}

// unwrap is GSS_Unwrap (RFC 2743 2.3.4): it accepts a whole Wrap token
// with any RRC, leaves token unchanged, and returns the plaintext and
// whether it was sealed. As in unsealMessage, an out-of-sequence token
// returns its plaintext with a SEC_E_OUT_OF_SEQUENCE error.
func (m *msgState) unwrap(token []byte) ([]byte, bool, error) {
	t := append([]byte(nil), token...)
	plain, qop, err := m.unwrapWhole(t, nil, 0)
	return plain, plain != nil && qop == 0, err
}

// getMIC is GSS_GetMIC (RFC 2743 2.3.1).
func (m *msgState) getMIC(msg []byte) ([]byte, error) {
	bufs := []secpkg.Buffer{{Type: secpkg.BufferData, Data: msg}, {Type: secpkg.BufferToken, Data: make([]byte, cfxHeaderLen+m.h)}}
	if err := m.makeSignature(0, bufs); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// verifyMIC is GSS_VerifyMIC (RFC 2743 2.3.2).
func (m *msgState) verifyMIC(msg, mic []byte) error {
	_, err := m.verifySignature([]secpkg.Buffer{{Type: secpkg.BufferData, Data: msg}, {Type: secpkg.BufferToken, Data: mic}})
	return err
}
