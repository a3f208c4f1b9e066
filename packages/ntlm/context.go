package ntlm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/opensspi/sspi/internal/wire"
	"github.com/opensspi/sspi/secpkg"
)

// role says which side of the exchange a context is.
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
	originEstablished origin = 1 // SpInitLsaModeContext / SpAcceptLsaModeContext (ContextData)
	originExported    origin = 2 // SpExportSecurityContext
)

// session is an established context: what per-message work needs and the
// names its attributes report. Both halves hold one; the packed context
// carries it from the LSA to the application. It holds session keys only,
// never a password or NT hash, and redacts itself.
type session struct {
	role        role
	flags       negotiateFlags      // the negotiated NegotiateFlags (MS-NLMP 3.1.1 NegFlg)
	ctxFlags    secpkg.ContextFlags // services the context provides
	hasKeys     bool                // false for anonymous: no session security
	exportedKey [16]byte            // ExportedSessionKey (MS-NLMP 3.1.5.1.2)
	sec         *sessionSecurity    // nil when !hasKeys
	start       time.Time
	expiry      time.Time // zero: never
	userName    string    // SECPKG_ATTR_NAMES
	clientName  string    // SECPKG_ATTR_NATIVE_NAMES sClientName
	serverName  string    // SECPKG_ATTR_NATIVE_NAMES sServerName

	exported bool // ExportContext was called: this copy must not be used again
	deleted  bool
	// mapped is set in the LSA-mode copy once the LSA has handed the
	// context to the application (ContextMapped): its keys are gone, and
	// per-message work happens in the application only.
	mapped bool
}

// String describes the session without its keys.
func (s *session) String() string {
	return fmt.Sprintf("ntlm.session{role:%d flags:%v user:%q keys:REDACTED}", s.role, s.flags, s.userName)
}

// GoString keeps the keys out of %#v.
func (s *session) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the keys.
func (s *session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", s.userName), slog.String("flags", s.flags.String()), slog.String("keys", "REDACTED"))
}

// newSession builds the established state once the handshake is done.
func newSession(r role, flags negotiateFlags, ctxFlags secpkg.ContextFlags, exportedKey []byte, now time.Time) *session {
	s := &session{role: r, flags: flags, ctxFlags: ctxFlags, start: now}
	if exportedKey != nil {
		s.hasKeys = true
		copy(s.exportedKey[:], exportedKey)
		s.sec = newSessionSecurity(flags, exportedKey, r == roleInitiator, ctxFlags&(secpkg.FlagReplayDetect|secpkg.FlagSequenceDetect) != 0)
	}
	return s
}

// wipe zeroes the keys.
func (s *session) wipe() {
	clear(s.exportedKey[:])
	if s.sec != nil {
		s.sec.wipe()
		s.sec = nil
	}
	s.hasKeys = false
}

// usable fails once the session was exported, deleted or (in the LSA)
// mapped into the application.
func (s *session) usable() error {
	switch {
	case s.deleted:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context deleted")
	case s.exported:
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context was exported and may not be used here again")
	case s.mapped:
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: context is mapped into the application; its keys are there")
	}
	return nil
}

// canSign checks that signing was negotiated.
func (s *session) canSign() error {
	if err := s.usable(); err != nil {
		return err
	}
	if !s.hasKeys || s.flags&(flagSign|flagSeal) == 0 {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: signing was not negotiated")
	}
	return nil
}

// makeSignature is SpMakeSignature (MS-NLMP 3.4.4).
func (s *session) makeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	if err := s.canSign(); err != nil {
		return err
	}
	if qop != 0 {
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "ntlm: quality of protection %#x", qop)
	}
	return s.sec.sign(msg, seq, false)
}

// verifySignature is SpVerifySignature.
func (s *session) verifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := s.canSign(); err != nil {
		return 0, err
	}
	return 0, s.sec.verify(msg, seq, false)
}

// seal is SpSealMessage (MS-NLMP 3.4.3). With QOPWrapNoEncrypt it only
// signs; NTLM signatures do not say whether data was sealed, so the
// receiver may call VerifySignature or UnsealMessage, which then reports
// SECQOP_WRAP_NO_ENCRYPT.
func (s *session) seal(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	switch qop {
	case secpkg.QOPWrapNoEncrypt:
		return s.makeSignature(0, msg, seq)
	case 0:
	default:
		return secpkg.Errorf(secpkg.StatusQOPNotSupported, "ntlm: quality of protection %#x", qop)
	}
	if err := s.usable(); err != nil {
		return err
	}
	if !s.hasKeys || s.flags&flagSeal == 0 {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: sealing was not negotiated")
	}
	return s.sec.sign(msg, seq, true)
}

// unseal is SpUnsealMessage.
func (s *session) unseal(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	if !s.hasKeys {
		return 0, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: anonymous context has no session security")
	}
	if s.flags&flagSeal == 0 {
		// Without sealing, the peer can only have sent a message with
		// SECQOP_WRAP_NO_ENCRYPT: a signature.
		if err := s.sec.verify(msg, seq, false); err != nil {
			return 0, err
		}
		return secpkg.QOPWrapNoEncrypt, nil
	}
	err := s.sec.verify(msg, seq, true)
	if secpkg.StatusOf(err) != secpkg.StatusMessageAltered {
		return 0, err
	}
	// An NTLM signature does not say whether the data was sealed. A
	// failed check leaves buffers and key state untouched, so the message
	// can be checked again as one sent with SECQOP_WRAP_NO_ENCRYPT; each
	// reading is checked by the MAC over the plaintext, so neither can be
	// passed off as the other.
	if s.sec.verify(msg, seq, false) == nil {
		return secpkg.QOPWrapNoEncrypt, nil
	}
	return 0, err
}

// sessionKey answers SECPKG_ATTR_SESSION_KEY.
func (s *session) sessionKey() ([]byte, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if !s.hasKeys {
		return nil, secpkg.Errorf(secpkg.StatusNoContext, "ntlm: anonymous context has no session key")
	}
	return append([]byte(nil), s.exportedKey[:]...), nil
}

// sizes is SecPkgContext_Sizes for NTLM.
func sizes() secpkg.Sizes {
	return secpkg.Sizes{MaxToken: maxToken, MaxSignature: signatureSize, BlockSize: 0, SecurityTrailer: signatureSize}
}

// maxStreamMessage is the cbMaximumMessage NTLM reports: it has no record
// limit of its own, and a bounded value keeps stream framers from
// allocating without limit.
const maxStreamMessage = 1 << 20

// streamSizes is SecPkgContext_StreamSizes for NTLM: no header, the
// 16-byte signature as trailer.
func streamSizes() secpkg.StreamSizes {
	return secpkg.StreamSizes{Header: 0, Trailer: signatureSize, MaximumMessage: maxStreamMessage, Buffers: 2, BlockSize: 0}
}

// Packed context, version 1. All integers are little-endian; the layout is
// also described in doc.go.
//
//	off  size  field
//	  0     4  magic "NTPC"
//	  4     1  version, 1
//	  5     1  origin: 1 SpInit/SpAcceptLsaModeContext, 2 SpExportSecurityContext
//	  6     1  role: 1 initiator, 2 acceptor
//	  7     1  keys: 0 none (anonymous), 1 session security follows
//	  8     4  NegotiateFlags as negotiated (MS-NLMP 2.2.2.5)
//	 12     4  secpkg.ContextFlags
//	 16     8  start, Unix nanoseconds
//	 24     8  expiry, Unix nanoseconds; 0 never
//	 32    16  ExportedSessionKey
//	 48    16  sending SigningKey       64  16  sending SealingKey
//	 80    16  receiving SigningKey     96  16  receiving SealingKey
//	112     8  next sending SeqNum      120  8  next receiving SeqNum (2^32: spent)
//	128   258  sending RC4 state: S[0..255], i, j
//	386   258  receiving RC4 state (the sending one again without extended
//	           session security, where one handle serves both directions)
//	644        user name, client name, server name: each a 16-bit length and
//	           UTF-8, at most 1024 bytes; nothing may follow
//
// Without keys every byte from 32 to 643 is zero.
const (
	packedMagic      = "NTPC"
	packedVersion    = 1
	packedFixedSize  = 644
	maxPackedNameLen = 1024
)

// pack returns the packed context.
func (s *session) pack(o origin) []byte {
	b := wire.NewBuilder(make([]byte, 0, packedFixedSize+len(s.userName)+len(s.clientName)+len(s.serverName)+6))
	b.AddBytes([]byte(packedMagic))
	b.AddUint8(packedVersion)
	b.AddUint8(uint8(o))
	b.AddUint8(uint8(s.role))
	if s.hasKeys {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
	b.AddUint32(uint32(s.flags))
	b.AddUint32(uint32(s.ctxFlags))
	b.AddUint64(unixNano(s.start))
	b.AddUint64(unixNano(s.expiry))
	if s.hasKeys {
		ss := s.sec
		b.AddBytes(s.exportedKey[:])
		b.AddBytes(ss.send.signKey[:])
		b.AddBytes(ss.send.sealKey[:])
		b.AddBytes(ss.recv.signKey[:])
		b.AddBytes(ss.recv.sealKey[:])
		b.AddUint64(ss.send.seq)
		b.AddUint64(ss.recv.seq)
		var st [rc4StateSize]byte
		ss.send.h.export(st[:])
		b.AddBytes(st[:])
		ss.recv.h.export(st[:])
		b.AddBytes(st[:])
		clear(st[:])
	} else {
		b.AddZeros(packedFixedSize - 32)
	}
	for _, n := range []string{s.userName, s.clientName, s.serverName} {
		b.AddUint16(uint16(len(n)))
		b.AddBytes([]byte(n))
	}
	out, _ := b.Bytes() // a plain builder cannot fail
	return out
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

// knownContextFlags are the ContextFlags a packed context may carry.
const knownContextFlags = secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect | secpkg.FlagConfidentiality |
	secpkg.FlagIntegrity | secpkg.FlagIdentify | secpkg.FlagNullSession | secpkg.FlagDatagram | secpkg.FlagConnection

// unpackSession parses a packed context strictly: the magic, version and
// expected origin, known roles and flags, sequence numbers in range, RC4
// states that are permutations, names in UTF-8, and nothing after them.
func unpackSession(b []byte, want origin) (*session, error) {
	bad := func(why string) error {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "ntlm: packed context: %s", why)
	}
	if len(b) < packedFixedSize || len(b) > packedFixedSize+3*(2+maxPackedNameLen) {
		return nil, bad(fmt.Sprintf("%d bytes", len(b)))
	}
	str := wire.String(b)
	var magic []byte
	var ver, orig, r, keys uint8
	var flags, ctxFlags uint32
	var start, expiry uint64
	str.ReadBytes(&magic, 4)
	str.ReadUint8(&ver)
	str.ReadUint8(&orig)
	str.ReadUint8(&r)
	str.ReadUint8(&keys)
	str.ReadUint32(&flags)
	str.ReadUint32(&ctxFlags)
	str.ReadUint64(&start)
	str.ReadUint64(&expiry)
	switch {
	case string(magic) != packedMagic:
		return nil, bad("bad magic")
	case ver != packedVersion:
		return nil, bad(fmt.Sprintf("unknown version %d", ver))
	case origin(orig) != want:
		return nil, bad(fmt.Sprintf("origin %d, want %d", orig, want))
	case role(r) != roleInitiator && role(r) != roleAcceptor:
		return nil, bad(fmt.Sprintf("role %d", r))
	case keys > 1:
		return nil, bad(fmt.Sprintf("key flag %d", keys))
	case secpkg.ContextFlags(ctxFlags)&^knownContextFlags != 0:
		return nil, bad(fmt.Sprintf("context flags %v", secpkg.ContextFlags(ctxFlags)))
	}
	s := &session{
		role: role(r), flags: negotiateFlags(flags), ctxFlags: secpkg.ContextFlags(ctxFlags),
		hasKeys: keys == 1, start: fromUnixNano(start), expiry: fromUnixNano(expiry),
	}
	var keyArea []byte
	str.ReadBytes(&keyArea, packedFixedSize-32)
	if s.hasKeys {
		if err := s.unpackKeys(keyArea); err != nil {
			return nil, bad(err.Error())
		}
	} else {
		for _, c := range keyArea {
			if c != 0 {
				return nil, bad("key material without keys")
			}
		}
	}
	for _, dst := range []*string{&s.userName, &s.clientName, &s.serverName} {
		var n uint16
		var v []byte
		if !str.ReadUint16(&n) || n > maxPackedNameLen || !str.ReadBytes(&v, int(n)) {
			return nil, bad("truncated names")
		}
		if !utf8.Valid(v) {
			return nil, bad("name not in UTF-8")
		}
		*dst = string(v)
	}
	if !str.Empty() {
		return nil, bad("trailing bytes")
	}
	return s, nil
}

// unpackKeys loads the session security state from the key area of a
// packed context (offsets 32 to 643).
func (s *session) unpackKeys(a []byte) error {
	ss := &sessionSecurity{
		flags:    s.flags,
		ess:      s.flags&flagExtendedSessionSecurity != 0,
		keyExch:  s.flags&flagKeyExch != 0,
		datagram: s.flags&flagDatagram != 0,
		detect:   s.ctxFlags&(secpkg.FlagReplayDetect|secpkg.FlagSequenceDetect) != 0,
	}
	str := wire.String(a)
	str.CopyBytes(s.exportedKey[:])
	str.CopyBytes(ss.send.signKey[:])
	str.CopyBytes(ss.send.sealKey[:])
	str.CopyBytes(ss.recv.signKey[:])
	str.CopyBytes(ss.recv.sealKey[:])
	str.ReadUint64(&ss.send.seq)
	str.ReadUint64(&ss.recv.seq)
	if ss.send.seq > seqExhausted || ss.recv.seq > seqExhausted {
		return fmt.Errorf("sequence number out of range")
	}
	var st []byte
	str.ReadBytes(&st, rc4StateSize)
	if err := ss.send.own.restore(st); err != nil {
		return err
	}
	sendState := st
	str.ReadBytes(&st, rc4StateSize)
	if err := ss.recv.own.restore(st); err != nil {
		return err
	}
	if !ss.ess && !bytes.Equal(st, sendState) {
		// One handle serves both directions (MS-NLMP 3.4).
		return fmt.Errorf("shared RC4 states differ")
	}
	ss.setup()
	s.sec = ss
	return nil
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

// contextFlagsFor maps negotiated NegotiateFlags and the caller's request
// to the services the context provides. Signed NTLM messages always carry
// a sequence number under the checksum; the initiator reports replay and
// sequence detection as its caller asked, and the acceptor, which cannot
// know what the client's caller asked, always provides them with signing.
func contextFlagsFor(f negotiateFlags, requested secpkg.ContextFlags, anonymous, acceptor bool) secpkg.ContextFlags {
	var c secpkg.ContextFlags
	if f&(flagSign|flagSeal) != 0 && !anonymous {
		c |= secpkg.FlagIntegrity
		c |= requested & (secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect)
		if acceptor {
			c |= secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect
		}
	}
	if f&flagSeal != 0 && !anonymous {
		c |= secpkg.FlagConfidentiality
	}
	if f&flagIdentify != 0 {
		c |= secpkg.FlagIdentify
	}
	if f&flagDatagram != 0 {
		c |= secpkg.FlagDatagram
	} else {
		c |= secpkg.FlagConnection
	}
	if anonymous {
		c |= secpkg.FlagNullSession
	}
	return c
}

// missingServices returns what the caller asked for that the context
// does not provide.
func missingServices(requested, got secpkg.ContextFlags) secpkg.ContextFlags {
	const services = secpkg.FlagIntegrity | secpkg.FlagConfidentiality | secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect
	return requested & services &^ got
}

// lsaContext is a context in the LSA-mode half: a handshake in progress
// (client or server state) or an established session, or a failure that
// sticks until DeleteContext.
type lsaContext struct {
	mu     sync.Mutex
	client *clientState
	server *serverState
	err    error
	sess   *session
	id     *secpkg.Identity // server side: the authenticated client
}

// resume returns context h, locked, for its next leg: unless its last leg
// failed (the sticky error) or it is not awaiting one in this role, which
// fails it.
func (p *lsaPackage) resume(h secpkg.Handle, awaiting func(*lsaContext) bool, role string) (*lsaContext, error) {
	c, ok := p.ctxs.get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	if c.err == nil && !awaiting(c) {
		c.err = secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context is not %s", role)
	}
	if err := c.err; err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c, nil
}

func (c *lsaContext) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		c.client.wipe()
		c.client = nil
	}
	if c.server != nil {
		c.server.wipe()
		c.server = nil
	}
	if c.sess != nil {
		c.sess.wipe()
		c.sess.deleted = true
	}
}

// DeleteContext is SpDeleteContext; it works in any state.
func (p *lsaPackage) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.ctxs.remove(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	if c.server != nil && c.server.challengeSent {
		p.forgetIssued(c.server.challenge.serverChallenge)
	}
	c.mu.Unlock()
	c.wipe()
	return nil
}

// ContextMapped implements secpkg.ContextMapper. The LSA has handed the
// context to the application, whose user-mode half signs and seals from
// now on, so the LSA-mode copy drops its session key, signing and sealing
// keys and RC4 states (about 2 KiB a context) and keeps only the names
// and the identity that SpQueryContextAttributes reports. A context the
// LSA keeps unmapped is never told, and keeps its keys for the slow path.
func (p *lsaPackage) ContextMapped(ctx context.Context, h secpkg.Handle) {
	c, ok := p.ctxs.get(h)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		c.sess.wipe()
		c.sess.mapped = true
	}
}

// established returns the session of an established context.
func (p *lsaPackage) established(h secpkg.Handle) (*lsaContext, error) {
	c, ok := p.ctxs.get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		if c.err != nil {
			return nil, c.err
		}
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context not established")
	}
	return c, nil
}

// QueryContextAttributes is SpQueryContextAttributes.
func (p *lsaPackage) QueryContextAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.ContextAttributes, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.attributes(c.id), nil
}

// QuerySessionKey answers SECPKG_ATTR_SESSION_KEY in the LSA.
func (p *lsaPackage) QuerySessionKey(ctx context.Context, h secpkg.Handle) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.sessionKey()
}

// MakeSignature is the unmapped slow path of SpMakeSignature.
func (p *lsaPackage) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.makeSignature(qop, msg, seq)
}

// VerifySignature is the unmapped slow path of SpVerifySignature.
func (p *lsaPackage) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.verifySignature(msg, seq)
}

// SealMessage is the unmapped slow path of SpSealMessage.
func (p *lsaPackage) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.seal(qop, msg, seq)
}

// UnsealMessage is the unmapped slow path of SpUnsealMessage.
func (p *lsaPackage) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.unseal(msg, seq)
}

// userPackage is the user-mode half (SECPKG_USER_FUNCTION_TABLE).
type userPackage struct {
	fns secpkg.UserFunctions
}

var _ secpkg.UserPackage = (*userPackage)(nil)

// InstanceInit is SpInstanceInit.
func (u *userPackage) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	if version < secpkg.InterfaceVersion {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: interface version %#x too old", version)
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

// ImportContext is SpImportSecurityContext: it unpacks what ExportContext
// produced in another process.
func (u *userPackage) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	s, err := unpackSession(packed, originExported)
	if err != nil {
		return nil, err
	}
	return &userContext{s: s}, nil
}

// userContext is a mapped context in the application. The provider
// serializes calls on one context.
type userContext struct{ s *session }

var _ secpkg.UserContext = (*userContext)(nil)

// String describes the context without its keys.
func (u *userContext) String() string { return u.s.String() }

func (u *userContext) MakeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.makeSignature(qop, msg, seq)
}

func (u *userContext) VerifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.verifySignature(msg, seq)
}

func (u *userContext) SealMessage(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.seal(qop, msg, seq)
}

func (u *userContext) UnsealMessage(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.unseal(msg, seq)
}

func (u *userContext) Sizes() secpkg.Sizes { return sizes() }

func (u *userContext) StreamSizes() secpkg.StreamSizes { return streamSizes() }

func (u *userContext) SessionKey() ([]byte, error) { return u.s.sessionKey() }

// ExportContext is SpExportSecurityContext. The export captures the live
// RC4 states and sequence numbers; this context is then unusable, since
// two copies sealing with one key stream would reuse it.
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
