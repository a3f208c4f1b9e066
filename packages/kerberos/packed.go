package kerberos

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// The packed context: what the LSA hands the application's user-mode
// half when a context is mapped (the ContextData of SpInitUserModeContext),
// and what a mapped context exports. It holds the context key, the
// sequence state and the expiry: nothing long-term. doc/packed-context.md
// places it inside the LSA's envelope. Version 1, integers big-endian:
//
//	off  size  field
//	  0     4  magic "KRBC"
//	  4     1  version, 1
//	  5     1  flags: 0x01 exported (by ExportContext); other bits zero
//	  6     8  expiry: Unix seconds when the ticket ends (0: never)
//	 14     2  length n of the message state
//	 16     n  the message state (msgstate_pack.go, "KMSG" version 1)
//	16+n       end: nothing may follow
const (
	packMagic    = "KRBC"
	packVersion  = 1
	packHeader   = 16
	packExported = 0x01
)

// pack returns the packed context of an established context whose keys
// the LSA holds. c.mu is held.
func (c *lsaContext) pack() []byte {
	return packContext(c.shell(), c.expiry, false)
}

func packContext(m *msgState, expiry time.Time, exported bool) []byte {
	b := make([]byte, packHeader, packHeader+msgPackFixed+32)
	copy(b, packMagic)
	b[4] = packVersion
	if exported {
		b[5] = packExported
	}
	if !expiry.IsZero() {
		binary.BigEndian.PutUint64(b[6:], uint64(expiry.Unix()))
	}
	b = m.appendPacked(b)
	binary.BigEndian.PutUint16(b[14:], uint16(len(b)-packHeader))
	return b
}

// unpackContext parses a packed context; exported says which kind is
// expected (a mapped context's, or an export's).
func unpackContext(b []byte, exported bool, rnd io.Reader) (*msgState, time.Time, error) {
	bad := func(what string) (*msgState, time.Time, error) {
		return nil, time.Time{}, secpkg.Errorf(secpkg.StatusInvalidToken, "kerberos: packed context: %s", what)
	}
	if len(b) < packHeader || string(b[:4]) != packMagic {
		return bad("bad magic")
	}
	if b[4] != packVersion {
		return bad("unknown version")
	}
	want := byte(0)
	if exported {
		want = packExported
	}
	if b[5] != want {
		return bad("wrong kind or unknown flags")
	}
	var expiry time.Time
	if s := binary.BigEndian.Uint64(b[6:]); s != 0 {
		if s > 1<<40 {
			return bad("expiry out of range")
		}
		expiry = time.Unix(int64(s), 0)
	}
	n := int(binary.BigEndian.Uint16(b[14:]))
	if len(b) != packHeader+n {
		return bad("wrong length")
	}
	m, err := parsePackedMsgState(b[packHeader:], rnd)
	if err != nil {
		return nil, time.Time{}, err
	}
	return m, expiry, nil
}
