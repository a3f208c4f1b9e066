package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"hash/crc32"

	"github.com/opensspi/sspi/secpkg"
)

// Session security (MS-NLMP 3.4): signing and sealing once a context is
// established. Both halves of the package use this code: the user-mode
// context on the fast path and the LSA-mode context on the slow path.

// NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9).
const (
	signatureSize    = 16 // the whole structure, SecPkgContext_Sizes.cbMaxSignature
	signatureVersion = 1  // Version, MUST be 0x00000001
)

// seqExhausted is the value a connection-oriented sequence counter takes
// once 0xFFFFFFFF has been used: the 32-bit SeqNum cannot go on without
// repeating, so the context fails closed (MS-NLMP 3.4.4 leaves wrapping
// undefined; a repeated sequence number would allow replay).
const seqExhausted = 1 << 32

// direction is the state of one direction of a session: the keys of
// MS-NLMP 3.4.5.2-3, the RC4 key state (the "Handle" of MS-NLMP 3.4.4),
// and the next sequence number.
type direction struct {
	signKey [16]byte // SIGNKEY for this direction (extended session security)
	sealKey [16]byte // SEALKEY for this direction
	// h is the RC4 handle. Without extended session security both
	// directions share one handle (MS-NLMP 3.4: half duplex), so it may
	// point into the other direction.
	h   *rc4
	own rc4
	seq uint64 // next connection-oriented SeqNum; seqExhausted when spent

	// Reused per message so that the hot path does not allocate.
	mac    hash.Hash
	sum    [16]byte
	seqBuf [4]byte
	save   rc4 // key state before a verification, restored on failure
}

// sessionSecurity is an established session's protection state.
type sessionSecurity struct {
	flags    negotiateFlags
	ess      bool // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
	keyExch  bool // NTLMSSP_NEGOTIATE_KEY_EXCH: the checksum is RC4-encrypted
	datagram bool // NTLMSSP_NEGOTIATE_DATAGRAM: per-message keys, caller's SeqNum
	// detect is set when replay or sequence detection was negotiated:
	// a wrong SeqNum is then SEC_E_OUT_OF_SEQUENCE rather than
	// SEC_E_MESSAGE_ALTERED.
	detect bool
	send   direction
	recv   direction
}

// newSessionSecurity derives the keys of both directions from the
// exported session key (MS-NLMP 3.4.5) for the side named by client.
func newSessionSecurity(flags negotiateFlags, exportedSessionKey []byte, client, detect bool) *sessionSecurity {
	ss := &sessionSecurity{
		flags:    flags,
		ess:      flags&flagExtendedSessionSecurity != 0,
		keyExch:  flags&flagKeyExch != 0,
		datagram: flags&flagDatagram != 0,
		detect:   detect,
	}
	copy(ss.send.signKey[:], signKey(flags, exportedSessionKey, client))
	copy(ss.send.sealKey[:], sealKey(flags, exportedSessionKey, client))
	copy(ss.recv.signKey[:], signKey(flags, exportedSessionKey, !client))
	copy(ss.recv.sealKey[:], sealKey(flags, exportedSessionKey, !client))
	ss.send.own.init(ss.send.sealKey[:])
	ss.recv.own.init(ss.recv.sealKey[:])
	ss.setup()
	return ss
}

// setup wires the handles and MACs after the keys and key states are set
// (by newSessionSecurity or by unpacking a context).
func (ss *sessionSecurity) setup() {
	ss.send.h, ss.recv.h = &ss.send.own, &ss.recv.own
	if !ss.ess {
		ss.recv.h = &ss.send.own
	}
	ss.send.mac, ss.recv.mac = nil, nil // made on first use (hmacState)
}

// hmacState is the direction's HMAC-MD5 under its signing key, made on first
// use: the LSA packs most contexts for the application without signing
// anything, and two HMAC states were a third of its allocations in a
// handshake.
func (d *direction) hmacState() hash.Hash {
	if d.mac == nil {
		d.mac = hmac.New(md5.New, d.signKey[:])
	}
	return d.mac
}

// wipe zeroes every key.
func (ss *sessionSecurity) wipe() {
	for _, d := range []*direction{&ss.send, &ss.recv} {
		clear(d.signKey[:])
		clear(d.sealKey[:])
		clear(d.sum[:])
		d.own.wipe()
		d.save.wipe()
		d.mac = nil
	}
}

// handle returns the RC4 handle for a message with the given SeqNum: the
// direction's long-lived handle, or in datagram mode a fresh one keyed
// with MD5(SealingKey ‖ SeqNum) (MS-NLMP 3.4).
func (ss *sessionSecurity) handle(d *direction, seq uint32) *rc4 {
	if !ss.datagram {
		return d.h
	}
	var in [20]byte
	copy(in[:16], d.sealKey[:])
	binary.LittleEndian.PutUint32(in[16:], seq)
	k := md5.Sum(in[:])
	d.own.init(k[:])
	clear(k[:])
	return &d.own
}

// nextSeq returns the SeqNum of the next message in direction d: the
// direction's counter in connection-oriented mode, the caller's number in
// datagram mode.
func (ss *sessionSecurity) nextSeq(d *direction, callerSeq uint32) (uint32, error) {
	if ss.datagram {
		return callerSeq, nil
	}
	if d.seq >= seqExhausted {
		return 0, secpkg.Errorf(secpkg.StatusContextExpired, "ntlm: sequence numbers exhausted; authenticate again")
	}
	return uint32(d.seq), nil
}

// nextSendSeq is nextSeq for sending. In datagram mode each message is
// sealed with the key MD5(SealingKey ‖ SeqNum), so a sequence number used
// twice would reuse a key stream; the caller's numbers must therefore
// increase.
func (ss *sessionSecurity) nextSendSeq(callerSeq uint32) (uint32, error) {
	d := &ss.send
	if ss.datagram && uint64(callerSeq) < d.seq {
		return 0, secpkg.Errorf(secpkg.StatusOutOfSequence, "ntlm: datagram sequence number %d reused or decreasing (next is %d)", callerSeq, d.seq)
	}
	return ss.nextSeq(d, callerSeq)
}

// bufferRole says what the protection functions do with a buffer: DATA
// buffers are signed and, when sealing, encrypted in place; READONLY data
// is neither (SECBUFFER_READONLY: not covered by the checksum);
// READONLY_WITH_CHECKSUM data is signed but left in clear.
func bufferRole(t secpkg.BufferType) (signed, encrypted bool) {
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

// tokenBuffer returns the index of the first TOKEN buffer.
func tokenBuffer(msg []secpkg.Buffer) (int, error) {
	for i := range msg {
		if msg[i].Type.Kind() == secpkg.BufferToken {
			return i, nil
		}
	}
	return 0, secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: message has no token buffer")
}

// sign computes the signature of msg into its TOKEN buffer and, when
// seal is set, encrypts its DATA buffers in place: MAC and SEAL of
// MS-NLMP 3.4.3, 3.4.4.
func (ss *sessionSecurity) sign(msg []secpkg.Buffer, callerSeq uint32, seal bool) error {
	ti, err := tokenBuffer(msg)
	if err != nil {
		return err
	}
	if len(msg[ti].Data) < signatureSize {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "ntlm: token buffer of %d bytes, need %d", len(msg[ti].Data), signatureSize)
	}
	d := &ss.send
	seq, err := ss.nextSendSeq(callerSeq)
	if err != nil {
		return err
	}
	h := ss.handle(d, seq)
	tok := msg[ti].Data[:signatureSize]
	msg[ti].Data = tok
	binary.LittleEndian.PutUint32(tok[0:], signatureVersion)
	if ss.ess {
		// MS-NLMP 3.4.4.2: HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7],
		// RC4-encrypted under key exchange, then SeqNum in clear.
		mac := d.hmacState()
		mac.Reset()
		binary.LittleEndian.PutUint32(d.seqBuf[:], seq)
		mac.Write(d.seqBuf[:])
		for i := range msg {
			signed, encrypted := bufferRole(msg[i].Type)
			if signed {
				mac.Write(msg[i].Data)
			}
			if seal && encrypted {
				h.xorKeyStream(msg[i].Data, msg[i].Data)
			}
		}
		sum := mac.Sum(d.sum[:0])
		copy(tok[4:12], sum[:8])
		if ss.keyExch {
			h.xorKeyStream(tok[4:12], tok[4:12])
		}
		binary.LittleEndian.PutUint32(tok[12:], seq)
	} else {
		// MS-NLMP 3.4.4.1: RandomPad, CRC32(Message) and SeqNum, each
		// through RC4; RandomPad is then sent as zero.
		var crc uint32
		for i := range msg {
			signed, encrypted := bufferRole(msg[i].Type)
			if signed {
				crc = crc32.Update(crc, crc32.IEEETable, msg[i].Data)
			}
			if seal && encrypted {
				h.xorKeyStream(msg[i].Data, msg[i].Data)
			}
		}
		clear(tok[4:8])
		h.xorKeyStream(tok[4:8], tok[4:8])
		clear(tok[4:8])
		binary.LittleEndian.PutUint32(tok[8:], crc)
		h.xorKeyStream(tok[8:12], tok[8:12])
		clear(tok[12:16])
		h.xorKeyStream(tok[12:16], tok[12:16])
		binary.LittleEndian.PutUint32(tok[12:], binary.LittleEndian.Uint32(tok[12:])^seq)
	}
	if ss.datagram {
		d.seq = uint64(seq) + 1
	} else {
		d.seq++
	}
	return nil
}

// verify checks the signature in msg's TOKEN buffer and, when unseal is
// set, first decrypts its DATA buffers in place. On failure the buffers
// and the key state are left as they were, so that a forged or replayed
// message does not break the session.
func (ss *sessionSecurity) verify(msg []secpkg.Buffer, callerSeq uint32, unseal bool) error {
	ti, err := tokenBuffer(msg)
	if err != nil {
		return err
	}
	tok := msg[ti].Data
	if len(tok) != signatureSize {
		return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: signature of %d bytes, want %d", len(tok), signatureSize)
	}
	if binary.LittleEndian.Uint32(tok[0:]) != signatureVersion {
		return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: signature version %d", binary.LittleEndian.Uint32(tok[0:]))
	}
	d := &ss.recv
	seq, err := ss.nextSeq(d, callerSeq)
	if err != nil {
		return err
	}
	if ss.ess && binary.LittleEndian.Uint32(tok[12:]) != seq {
		if ss.detect {
			return secpkg.Errorf(secpkg.StatusOutOfSequence, "ntlm: message has sequence number %d, want %d", binary.LittleEndian.Uint32(tok[12:]), seq)
		}
		return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: message has sequence number %d, want %d", binary.LittleEndian.Uint32(tok[12:]), seq)
	}
	h := ss.handle(d, seq)
	if !ss.datagram {
		d.save = *h
	}
	var ok bool
	if ss.ess {
		ok = ss.verifyESS(d, h, msg, tok, seq, unseal)
	} else {
		ok = ss.verifyLegacy(h, msg, tok, seq, unseal)
	}
	if !ok {
		if unseal {
			// Re-encrypt what was decrypted by replaying the same key
			// stream from the saved state.
			h = ss.rewind(d, h, seq)
			for i := range msg {
				if _, encrypted := bufferRole(msg[i].Type); encrypted {
					h.xorKeyStream(msg[i].Data, msg[i].Data)
				}
			}
		}
		ss.rewind(d, h, seq)
		return secpkg.Errorf(secpkg.StatusMessageAltered, "ntlm: message signature does not verify")
	}
	if !ss.datagram {
		d.seq++
	}
	return nil
}

// rewind puts the key state back to where it was before verify used it.
func (ss *sessionSecurity) rewind(d *direction, h *rc4, seq uint32) *rc4 {
	if ss.datagram {
		return ss.handle(d, seq)
	}
	*h = d.save
	return h
}

func (ss *sessionSecurity) verifyESS(d *direction, h *rc4, msg []secpkg.Buffer, tok []byte, seq uint32, unseal bool) bool {
	mac := d.hmacState()
	mac.Reset()
	binary.LittleEndian.PutUint32(d.seqBuf[:], seq)
	mac.Write(d.seqBuf[:])
	for i := range msg {
		signed, encrypted := bufferRole(msg[i].Type)
		if unseal && encrypted {
			h.xorKeyStream(msg[i].Data, msg[i].Data)
		}
		if signed {
			mac.Write(msg[i].Data)
		}
	}
	sum := mac.Sum(d.sum[:0])
	var got [8]byte
	copy(got[:], tok[4:12])
	if ss.keyExch {
		h.xorKeyStream(got[:], got[:])
	}
	return hmac.Equal(got[:], sum[:8])
}

func (ss *sessionSecurity) verifyLegacy(h *rc4, msg []secpkg.Buffer, tok []byte, seq uint32, unseal bool) bool {
	var crc uint32
	for i := range msg {
		signed, encrypted := bufferRole(msg[i].Type)
		if unseal && encrypted {
			h.xorKeyStream(msg[i].Data, msg[i].Data)
		}
		if signed {
			crc = crc32.Update(crc, crc32.IEEETable, msg[i].Data)
		}
	}
	var pad, got [8]byte
	h.xorKeyStream(pad[:4], pad[:4]) // RandomPad: advances the stream
	copy(got[:], tok[8:16])
	h.xorKeyStream(got[:], got[:])
	var want [8]byte
	binary.LittleEndian.PutUint32(want[0:], crc)
	binary.LittleEndian.PutUint32(want[4:], seq)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
