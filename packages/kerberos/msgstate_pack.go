// Serialized form of a msgState, for packed and exported contexts.

package kerberos

import (
	"encoding/binary"
	"io"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// Packed msgState, version 1. Integers are big-endian.
//
//	off  size  field
//	  0     4  magic "KMSG"
//	  4     1  version, 1
//	  5     1  flags: 0x01 initiator, 0x02 acceptor subkey, 0x04 replay
//	           detection, 0x08 sequence detection; other bits zero
//	  6     2  encryption type (17, 18, 19 or 20)
//	  8     1  key length k (the encryption type's key size)
//	  9     k  key
//	9+k     8  SND_SEQ of our next token
//	17+k    8  first sequence number expected from the peer (base)
//	25+k    8  next expected, relative to base
//	33+k    8  bitmap of the 64 numbers before it
//	41+k       end: nothing may follow
//
// The packed form holds the context key: it travels only from the LSA to
// the application that owns the context, like the rest of a packed
// context, and is wiped by the caller after use.
const (
	msgPackMagic   = "KMSG"
	msgPackVersion = 1
	msgPackFixed   = 41

	msgPackInitiator      = 0x01
	msgPackAcceptorSubkey = 0x02
	msgPackReplay         = 0x04
	msgPackSequence       = 0x08
)

// appendPacked appends the packed state to b.
func (m *msgState) appendPacked(b []byte) []byte {
	var flags byte
	if m.initiator {
		flags |= msgPackInitiator
	}
	if m.acceptorSubkey {
		flags |= msgPackAcceptorSubkey
	}
	if m.recv.seq.replay {
		flags |= msgPackReplay
	}
	if m.recv.seq.sequence {
		flags |= msgPackSequence
	}
	b = append(b, msgPackMagic...)
	b = append(b, msgPackVersion, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(m.etype))
	b = append(b, byte(len(m.key)))
	b = append(b, m.key...)
	b = binary.BigEndian.AppendUint64(b, m.send.seq)
	b = binary.BigEndian.AppendUint64(b, m.recv.seq.base)
	b = binary.BigEndian.AppendUint64(b, m.recv.seq.next)
	return binary.BigEndian.AppendUint64(b, m.recv.seq.recvmap)
}

// parsePackedMsgState rebuilds a msgState from appendPacked's output,
// checking every field; rnd is the confounder source (nil: crypto/rand).
func parsePackedMsgState(b []byte, rnd io.Reader) (*msgState, error) {
	bad := func(what string) error {
		return secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: packed message state: %s", what)
	}
	if len(b) < 9 || string(b[:4]) != msgPackMagic {
		return nil, bad("bad magic")
	}
	if b[4] != msgPackVersion {
		return nil, bad("unknown version")
	}
	flags := b[5]
	if flags&^(msgPackInitiator|msgPackAcceptorSubkey|msgPackReplay|msgPackSequence) != 0 {
		return nil, bad("unknown flags")
	}
	e := kcrypto.EType(binary.BigEndian.Uint16(b[6:8]))
	k := int(b[8])
	if !e.Supported() || k != e.KeySize() {
		return nil, bad("unsupported encryption type or key length")
	}
	if len(b) != msgPackFixed+k {
		return nil, bad("wrong length")
	}
	key := b[9 : 9+k]
	rest := b[9+k:]
	c := msgConfig{
		EType:          e,
		Key:            key,
		Initiator:      flags&msgPackInitiator != 0,
		AcceptorSubkey: flags&msgPackAcceptorSubkey != 0,
		SendSeq:        binary.BigEndian.Uint64(rest[0:]),
		RecvSeq:        binary.BigEndian.Uint64(rest[8:]),
		Replay:         flags&msgPackReplay != 0,
		Sequence:       flags&msgPackSequence != 0,
	}
	if rnd != nil {
		c.Rand = rnd
	}
	m, err := newMsgState(c)
	if err != nil {
		return nil, err
	}
	m.recv.seq.next = binary.BigEndian.Uint64(rest[16:])
	m.recv.seq.recvmap = binary.BigEndian.Uint64(rest[24:])
	return m, nil
}
