package ntlm

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/opensspi/sspi/internal/wire"
	"github.com/opensspi/sspi/secpkg"
)

// origin says which call produced a packed context.
type origin uint8

// Origins, as stored in a packed context.
const (
	originEstablished origin = 1 // SpInitLsaModeContext / SpAcceptLsaModeContext (ContextData)
	originExported    origin = 2 // SpExportSecurityContext
)

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
