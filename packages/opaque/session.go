package opaque

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/opensspi/sspi/secpkg"
)

// role says which side of a context a session is.
type role uint8

// Roles, as stored in a packed context.
const (
	roleInitiator role = 1
	roleAcceptor  role = 2
)

// origin says which call produced a packed context.
type origin uint8

// Origins, as stored in a packed context.
const (
	originEstablished origin = 1 // SpInit/SpAcceptLsaModeContext (ContextData)
	originExported    origin = 2 // SpExportSecurityContext
)

// Per-message keys: each direction has its own AES-256-GCM key, expanded
// with HKDF-SHA-512 from the RFC 9807 session_key (which is an HKDF
// output of Nx = 64 bytes, a valid pseudorandom key), and the session key
// the application may query is expanded the same way:
//
//	initiator_to_acceptor = Expand(session_key, "OpenSSPI-OPAQUE-v1 initiator to acceptor", 32)
//	acceptor_to_initiator = Expand(session_key, "OpenSSPI-OPAQUE-v1 acceptor to initiator", 32)
//	exported session key  = Expand(session_key, "OpenSSPI-OPAQUE-v1 session key", 32)
const (
	infoI2A        = "OpenSSPI-OPAQUE-v1 initiator to acceptor"
	infoA2I        = "OpenSSPI-OPAQUE-v1 acceptor to initiator"
	infoSessionKey = "OpenSSPI-OPAQUE-v1 session key"
	messageKeySize = 32
)

// The trailer of a signed or sealed message: the SECBUFFER_TOKEN of
// MakeSignature and EncryptMessage.
//
//	kind(1) sequence_number(8) tag(16)
//
// kind 1 is a signature (MakeSignature, and EncryptMessage with
// SECQOP_WRAP_NO_ENCRYPT): a GMAC over the header and the covered
// buffers. Kind 2 is sealed (EncryptMessage): AES-256-GCM of the data
// buffers with the header and the read-only-with-checksum buffers as
// additional data. The nonce is four zero bytes and the sequence number;
// every message of one direction has its own number, whichever kind.
const (
	kindSignature = 1
	kindSealed    = 2
	trailerSize   = 1 + 8 + 16
	// maxStreamMessage is the cbMaximumMessage reported: no record limit
	// of its own, and a bound for stream framers.
	maxStreamMessage = 1 << 20
)

// direction is one direction's key and sequence number.
type direction struct {
	key  [messageKeySize]byte
	aead cipher.AEAD
	seq  uint64 // next to send, or next expected
}

func (d *direction) setup() error {
	block, err := aes.NewCipher(d.key[:])
	if err != nil {
		return err
	}
	d.aead, err = cipher.NewGCM(block)
	return err
}

// session is an established context: what per-message work needs and the
// names its attributes report. Both halves hold one; the packed context
// carries it from the LSA to the application. It holds only keys derived
// from the session key, never the password or a record, and redacts
// itself.
type session struct {
	role       role
	ctxFlags   secpkg.ContextFlags
	send, recv direction
	sessionKey [messageKeySize]byte // SECPKG_ATTR_SESSION_KEY
	start      time.Time
	expiry     time.Time // zero: never
	userName   string    // SECPKG_ATTR_NAMES
	clientName string    // SECPKG_ATTR_NATIVE_NAMES sClientName
	serverName string    // SECPKG_ATTR_NATIVE_NAMES sServerName

	// Reused between messages; the caller serializes calls on a context.
	scratch []byte
	nonce   [12]byte
	parts   pieces

	exported bool
	deleted  bool
	// mapped is set in the LSA-mode copy once the context is handed to
	// the application: its keys are gone.
	mapped bool
}

// newSession derives the per-message keys from the RFC 9807 session_key.
func newSession(r role, sessionKey []byte, flags secpkg.ContextFlags, now time.Time) (*session, error) {
	s := &session{role: r, ctxFlags: flags, start: now}
	i2a, err1 := hkdf.Expand(sha512.New, sessionKey, infoI2A, messageKeySize)
	a2i, err2 := hkdf.Expand(sha512.New, sessionKey, infoA2I, messageKeySize)
	sk, err3 := hkdf.Expand(sha512.New, sessionKey, infoSessionKey, messageKeySize)
	defer clear(i2a)
	defer clear(a2i)
	defer clear(sk)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: deriving message keys")
	}
	if r == roleInitiator {
		copy(s.send.key[:], i2a)
		copy(s.recv.key[:], a2i)
	} else {
		copy(s.send.key[:], a2i)
		copy(s.recv.key[:], i2a)
	}
	copy(s.sessionKey[:], sk)
	if err := s.setup(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *session) setup() error {
	if err := s.send.setup(); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "opaque: %w", err)
	}
	if err := s.recv.setup(); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "opaque: %w", err)
	}
	return nil
}

// String describes the session without its keys.
func (s *session) String() string {
	return fmt.Sprintf("opaque.session{role:%d flags:%v user:%q keys:REDACTED}", s.role, s.ctxFlags, s.userName)
}

// GoString keeps the keys out of %#v.
func (s *session) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the keys.
func (s *session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", s.userName), slog.String("flags", s.ctxFlags.String()), slog.String("keys", "REDACTED"))
}

// wipe zeroes the keys.
func (s *session) wipe() {
	clear(s.send.key[:])
	clear(s.recv.key[:])
	clear(s.sessionKey[:])
	clear(s.scratch)
	s.send.aead, s.recv.aead = nil, nil
}

// usable fails once the session was exported, deleted or (in the LSA)
// mapped into the application.
func (s *session) usable() error {
	switch {
	case s.deleted:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: context deleted")
	case s.exported:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: context was exported and may not be used here again")
	case s.mapped:
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "opaque: context is mapped into the application; its keys are there")
	}
	return nil
}

// detect reports whether replay and order are checked.
func (s *session) detect() bool {
	return s.ctxFlags&(secpkg.FlagReplayDetect|secpkg.FlagSequenceDetect) != 0
}

// pieces sorts a message's buffers: the data buffers to encrypt (plain
// SECBUFFER_DATA), those covered but left in clear
// (SECBUFFER_READONLY_WITH_CHECKSUM), and the token buffer for the
// trailer. SECBUFFER_READONLY buffers and other types are neither
// protected nor touched.
type pieces struct {
	data    []*secpkg.Buffer
	checked []*secpkg.Buffer // read-only with checksum: additional data
	token   *secpkg.Buffer
}

func (s *session) split(msg []secpkg.Buffer) (pieces, error) {
	p := pieces{data: s.parts.data[:0], checked: s.parts.checked[:0]}
	defer func() { s.parts = pieces{data: p.data[:0], checked: p.checked[:0]} }()
	for i := range msg {
		b := &msg[i]
		switch b.Type.Kind() {
		case secpkg.BufferData:
			switch {
			case b.Type&secpkg.BufferReadOnlyWithChecksum != 0:
				p.checked = append(p.checked, b)
			case b.Type&secpkg.BufferReadOnly != 0:
			default:
				p.data = append(p.data, b)
			}
		case secpkg.BufferToken:
			if p.token != nil {
				return p, secpkg.Errorf(secpkg.StatusInvalidToken, "opaque: message with two token buffers")
			}
			p.token = b
		}
	}
	if p.token == nil {
		return p, secpkg.Errorf(secpkg.StatusInvalidToken, "opaque: message without a token buffer")
	}
	return p, nil
}

// header is kind || sequence number, the start of the trailer and of
// the additional data.
func header(kind uint8, seq uint64) [9]byte {
	var h [9]byte
	h[0] = kind
	binary.BigEndian.PutUint64(h[1:], seq)
	return h
}

// nonceFor is the GCM nonce of message seq: four zero bytes and seq.
func (s *session) nonceFor(seq uint64) []byte {
	binary.BigEndian.PutUint64(s.nonce[4:], seq)
	return s.nonce[:]
}

// additionalData is the header followed by the covered buffers, each as
// an 8-byte length and its bytes.
func additionalData(dst []byte, h [9]byte, bufs ...[]*secpkg.Buffer) []byte {
	dst = append(dst, h[:]...)
	for _, list := range bufs {
		for _, b := range list {
			dst = binary.BigEndian.AppendUint64(dst, uint64(len(b.Data)))
			dst = append(dst, b.Data...)
		}
	}
	return dst
}

// nextSend returns and advances the sending sequence number.
func (s *session) nextSend() (uint64, error) {
	if s.send.seq == math.MaxUint64 {
		return 0, secpkg.Errorf(secpkg.StatusContextExpired, "opaque: sequence numbers exhausted")
	}
	seq := s.send.seq
	s.send.seq++
	return seq, nil
}

// sign writes a kind-1 trailer over the data and checked buffers.
func (s *session) sign(msg []secpkg.Buffer) error {
	p, err := s.split(msg)
	if err != nil {
		return err
	}
	if len(p.token.Data) < trailerSize {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "opaque: token buffer of %d bytes, need %d", len(p.token.Data), trailerSize)
	}
	seq, err := s.nextSend()
	if err != nil {
		return err
	}
	h := header(kindSignature, seq)
	s.scratch = additionalData(s.scratch[:0], h, p.data, p.checked)
	tag := s.send.aead.Seal(p.token.Data[9:9], s.nonceFor(seq), nil, s.scratch)
	copy(p.token.Data, h[:])
	p.token.Data = p.token.Data[:9+len(tag)]
	return nil
}

// seal encrypts the data buffers in place and writes a kind-2 trailer.
func (s *session) seal(msg []secpkg.Buffer) error {
	p, err := s.split(msg)
	if err != nil {
		return err
	}
	if len(p.token.Data) < trailerSize {
		return secpkg.Errorf(secpkg.StatusBufferTooSmall, "opaque: token buffer of %d bytes, need %d", len(p.token.Data), trailerSize)
	}
	seq, err := s.nextSend()
	if err != nil {
		return err
	}
	h := header(kindSealed, seq)
	n := 0
	for _, b := range p.data {
		n += len(b.Data)
	}
	// scratch holds the additional data, then the plaintext gathered from
	// the data buffers and sealed in place with its tag.
	s.scratch = additionalData(s.scratch[:0], h, p.checked)
	ad := len(s.scratch)
	for _, b := range p.data {
		s.scratch = append(s.scratch, b.Data...)
	}
	s.scratch = slices.Grow(s.scratch, 16)
	out := s.send.aead.Seal(s.scratch[ad:ad], s.nonceFor(seq), s.scratch[ad:ad+n], s.scratch[:ad])
	off := 0
	for _, b := range p.data {
		off += copy(b.Data, out[off:])
	}
	copy(p.token.Data, h[:])
	copy(p.token.Data[9:], out[n:])
	p.token.Data = p.token.Data[:trailerSize]
	clear(out[:n])
	return nil
}

// readTrailer parses a trailer and checks its sequence number when the
// context detects replay and reordering.
func (s *session) readTrailer(tok *secpkg.Buffer) (kind uint8, seq uint64, tag []byte, err error) {
	if len(tok.Data) != trailerSize {
		return 0, 0, nil, secpkg.Errorf(secpkg.StatusMessageAltered, "opaque: trailer of %d bytes, want %d", len(tok.Data), trailerSize)
	}
	kind, seq = tok.Data[0], binary.BigEndian.Uint64(tok.Data[1:9])
	if kind != kindSignature && kind != kindSealed {
		return 0, 0, nil, secpkg.Errorf(secpkg.StatusMessageAltered, "opaque: trailer of kind %d", kind)
	}
	if s.detect() && seq != s.recv.seq {
		return 0, 0, nil, secpkg.Errorf(secpkg.StatusOutOfSequence, "opaque: message number %d, expected %d", seq, s.recv.seq)
	}
	return kind, seq, tok.Data[9:], nil
}

// accepted advances the expected sequence number after a message
// verified.
func (s *session) accepted(seq uint64) {
	if s.detect() {
		s.recv.seq = seq + 1
	}
}

var errAltered = secpkg.Errorf(secpkg.StatusMessageAltered, "opaque: message altered or not from this context's peer")

// verify checks a kind-1 trailer.
func (s *session) verify(p pieces, seq uint64, tag []byte) error {
	s.scratch = additionalData(s.scratch[:0], header(kindSignature, seq), p.data, p.checked)
	ad := len(s.scratch)
	s.scratch = append(s.scratch, tag...)
	if _, err := s.recv.aead.Open(s.scratch[ad:ad], s.nonceFor(seq), s.scratch[ad:], s.scratch[:ad]); err != nil {
		return errAltered
	}
	s.accepted(seq)
	return nil
}

// open decrypts a kind-2 message into its data buffers.
func (s *session) open(p pieces, seq uint64, tag []byte) error {
	s.scratch = additionalData(s.scratch[:0], header(kindSealed, seq), p.checked)
	ad := len(s.scratch)
	for _, b := range p.data {
		s.scratch = append(s.scratch, b.Data...)
	}
	s.scratch = append(s.scratch, tag...)
	pt, err := s.recv.aead.Open(s.scratch[ad:ad], s.nonceFor(seq), s.scratch[ad:], s.scratch[:ad])
	if err != nil {
		return errAltered
	}
	off := 0
	for _, b := range p.data {
		off += copy(b.Data, pt[off:])
	}
	clear(pt)
	s.accepted(seq)
	return nil
}

// makeSignature is SpMakeSignature.
func (s *session) makeSignature(qop uint32, msg []secpkg.Buffer) error {
	if err := s.usable(); err != nil {
		return err
	}
	if qop != 0 {
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "opaque: quality of protection %#x", qop)
	}
	return s.sign(msg)
}

// verifySignature is SpVerifySignature: only kind-1 trailers.
func (s *session) verifySignature(msg []secpkg.Buffer) (uint32, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	p, err := s.split(msg)
	if err != nil {
		return 0, err
	}
	kind, seq, tag, err := s.readTrailer(p.token)
	if err != nil {
		return 0, err
	}
	if kind != kindSignature {
		return 0, errAltered
	}
	return 0, s.verify(p, seq, tag)
}

// sealMessage is SpSealMessage; with SECQOP_WRAP_NO_ENCRYPT it signs.
func (s *session) sealMessage(qop uint32, msg []secpkg.Buffer) error {
	if err := s.usable(); err != nil {
		return err
	}
	switch qop {
	case 0:
		return s.seal(msg)
	case secpkg.QOPWrapNoEncrypt:
		return s.sign(msg)
	}
	return secpkg.Errorf(secpkg.StatusQOPNotSupported, "opaque: quality of protection %#x", qop)
}

// unsealMessage is SpUnsealMessage: a sealed message is decrypted, a
// signed one verified and reported as SECQOP_WRAP_NO_ENCRYPT.
func (s *session) unsealMessage(msg []secpkg.Buffer) (uint32, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	p, err := s.split(msg)
	if err != nil {
		return 0, err
	}
	kind, seq, tag, err := s.readTrailer(p.token)
	if err != nil {
		return 0, err
	}
	if kind == kindSignature {
		if err := s.verify(p, seq, tag); err != nil {
			return 0, err
		}
		return secpkg.QOPWrapNoEncrypt, nil
	}
	return 0, s.open(p, seq, tag)
}

// querySessionKey answers SECPKG_ATTR_SESSION_KEY.
func (s *session) querySessionKey() ([]byte, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	return append([]byte(nil), s.sessionKey[:]...), nil
}

// sizes is SecPkgContext_Sizes.
func sizes() secpkg.Sizes {
	return secpkg.Sizes{MaxToken: maxKE1Token, MaxSignature: trailerSize, BlockSize: 0, SecurityTrailer: trailerSize}
}

// streamSizes is SecPkgContext_StreamSizes: no header, the trailer.
func streamSizes() secpkg.StreamSizes {
	return secpkg.StreamSizes{Header: 0, Trailer: trailerSize, MaximumMessage: maxStreamMessage, Buffers: 2, BlockSize: 0}
}

// Packed context, version 1 (doc/opaque.md, "Packed context"):
//
//	off size field
//	  0    4 magic "OPQC"
//	  4    1 version, 1
//	  5    1 origin: 1 SpInit/SpAcceptLsaModeContext, 2 SpExportSecurityContext
//	  6    1 role: 1 initiator, 2 acceptor
//	  7    1 zero
//	  8    4 secpkg.ContextFlags
//	 12    8 start, Unix nanoseconds
//	 20    8 expiry, Unix nanoseconds; 0 never
//	 28   32 sending key
//	 60   32 receiving key
//	 92   32 session key (SECPKG_ATTR_SESSION_KEY)
//	124    8 next sending sequence number
//	132    8 next expected sequence number
//	140      user name, client name, server name: each a 16-bit length
//	         and UTF-8, at most 1024 bytes; nothing may follow
const (
	packedMagic      = "OPQC"
	packedVersion    = 1
	packedFixedSize  = 140
	maxPackedNameLen = maxNameBytes + 1 + maxNameBytes // DOMAIN\user
)

// knownContextFlags are the ContextFlags a packed context may carry.
const knownContextFlags = secpkg.FlagMutualAuth | secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect |
	secpkg.FlagConfidentiality | secpkg.FlagIntegrity | secpkg.FlagConnection

func (s *session) pack(o origin) []byte {
	b := make([]byte, 0, packedFixedSize+6+len(s.userName)+len(s.clientName)+len(s.serverName))
	b = append(b, packedMagic...)
	b = append(b, packedVersion, byte(o), byte(s.role), 0)
	b = binary.BigEndian.AppendUint32(b, uint32(s.ctxFlags))
	b = binary.BigEndian.AppendUint64(b, unixNano(s.start))
	b = binary.BigEndian.AppendUint64(b, unixNano(s.expiry))
	b = append(b, s.send.key[:]...)
	b = append(b, s.recv.key[:]...)
	b = append(b, s.sessionKey[:]...)
	b = binary.BigEndian.AppendUint64(b, s.send.seq)
	b = binary.BigEndian.AppendUint64(b, s.recv.seq)
	for _, n := range []string{s.userName, s.clientName, s.serverName} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	return b
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNano(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v))
}

// unpackSession parses a packed context strictly.
func unpackSession(b []byte, want origin) (*session, error) {
	bad := func(why string) error {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "opaque: packed context: %s", why)
	}
	if len(b) < packedFixedSize+6 || len(b) > packedFixedSize+3*(2+maxPackedNameLen) {
		return nil, bad(fmt.Sprintf("%d bytes", len(b)))
	}
	switch {
	case string(b[:4]) != packedMagic:
		return nil, bad("bad magic")
	case b[4] != packedVersion:
		return nil, bad(fmt.Sprintf("unknown version %d", b[4]))
	case origin(b[5]) != want:
		return nil, bad(fmt.Sprintf("origin %d, want %d", b[5], want))
	case role(b[6]) != roleInitiator && role(b[6]) != roleAcceptor:
		return nil, bad(fmt.Sprintf("role %d", b[6]))
	case b[7] != 0:
		return nil, bad("reserved byte set")
	}
	flags := secpkg.ContextFlags(binary.BigEndian.Uint32(b[8:]))
	if flags&^knownContextFlags != 0 {
		return nil, bad(fmt.Sprintf("context flags %v", flags))
	}
	s := &session{
		role: role(b[6]), ctxFlags: flags,
		start: fromUnixNano(binary.BigEndian.Uint64(b[12:])), expiry: fromUnixNano(binary.BigEndian.Uint64(b[20:])),
	}
	copy(s.send.key[:], b[28:60])
	copy(s.recv.key[:], b[60:92])
	copy(s.sessionKey[:], b[92:124])
	s.send.seq = binary.BigEndian.Uint64(b[124:])
	s.recv.seq = binary.BigEndian.Uint64(b[132:])
	rest := b[packedFixedSize:]
	for _, dst := range []*string{&s.userName, &s.clientName, &s.serverName} {
		if len(rest) < 2 {
			return nil, bad("truncated names")
		}
		n := int(binary.BigEndian.Uint16(rest))
		if n > maxPackedNameLen || len(rest) < 2+n {
			return nil, bad("truncated names")
		}
		if !utf8.Valid(rest[2 : 2+n]) {
			return nil, bad("name not in UTF-8")
		}
		*dst = string(rest[2 : 2+n])
		rest = rest[2+n:]
	}
	if len(rest) != 0 {
		return nil, bad("trailing bytes")
	}
	if err := s.setup(); err != nil {
		return nil, err
	}
	return s, nil
}

// attributes answers SpQueryContextAttributes for an established context.
func (s *session) attributes(id *secpkg.Identity) *secpkg.ContextAttributes {
	return &secpkg.ContextAttributes{
		UserName:          s.userName,
		ClientName:        s.clientName,
		ServerName:        s.serverName,
		Start:             s.start,
		Expiry:            s.expiry,
		NegotiatedPackage: Name,
		NegotiationState:  secpkg.NegotiationComplete,
		Sizes:             sizes(),
		StreamSizes:       streamSizes(),
		Identity:          id,
	}
}

// userPackage is the user-mode half (SECPKG_USER_FUNCTION_TABLE).
type userPackage struct {
	fns secpkg.UserFunctions
}

var _ secpkg.UserPackage = (*userPackage)(nil)

// InstanceInit is SpInstanceInit.
func (u *userPackage) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	if version < secpkg.InterfaceVersion {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "opaque: interface version %#x too old", version)
	}
	u.fns = fns
	return nil
}

// InitUserModeContext is SpInitUserModeContext: it unpacks the
// ContextData of an established context.
func (u *userPackage) InitUserModeContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	s, err := unpackSession(packed, originEstablished)
	if err != nil {
		return nil, err
	}
	return &userContext{s: s}, nil
}

// ImportContext is SpImportSecurityContext.
func (u *userPackage) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	s, err := unpackSession(packed, originExported)
	if err != nil {
		return nil, err
	}
	return &userContext{s: s}, nil
}

// userContext is a mapped context in the application.
type userContext struct{ s *session }

var _ secpkg.UserContext = (*userContext)(nil)

// String describes the context without its keys.
func (u *userContext) String() string { return u.s.String() }

// MakeSignature is SpMakeSignature.
func (u *userContext) MakeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.makeSignature(qop, msg)
}

// VerifySignature is SpVerifySignature.
func (u *userContext) VerifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.verifySignature(msg)
}

// SealMessage is SpSealMessage.
func (u *userContext) SealMessage(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.sealMessage(qop, msg)
}

// UnsealMessage is SpUnsealMessage.
func (u *userContext) UnsealMessage(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.unsealMessage(msg)
}

// Sizes answers SECPKG_ATTR_SIZES.
func (u *userContext) Sizes() secpkg.Sizes { return sizes() }

// StreamSizes answers SECPKG_ATTR_STREAM_SIZES.
func (u *userContext) StreamSizes() secpkg.StreamSizes { return streamSizes() }

// SessionKey answers SECPKG_ATTR_SESSION_KEY.
func (u *userContext) SessionKey() ([]byte, error) { return u.s.querySessionKey() }

// ExportContext is SpExportSecurityContext: the keys and sequence
// numbers, after which this copy is unusable (two copies sending under
// one key would reuse nonces).
func (u *userContext) ExportContext() ([]byte, error) {
	if err := u.s.usable(); err != nil {
		return nil, err
	}
	out := u.s.pack(originExported)
	u.s.exported = true
	u.s.wipe()
	return out, nil
}

// DeleteUserModeContext is SpDeleteUserModeContext: it wipes the keys.
func (u *userContext) DeleteUserModeContext() error {
	u.s.wipe()
	u.s.deleted = true
	return nil
}
