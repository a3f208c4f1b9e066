package krb5

// The authenticator checksum of the Kerberos GSS mechanism (RFC 4121
// 4.1.1): checksum type 0x8003, whose "checksum" is not a checksum but a
// little-endian structure carrying the channel-bindings hash, the context
// flags and, when delegating, a KRB-CRED.

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// GSSFlags are the context-establishment flags of RFC 4121 4.1.1.1
// (RFC 2744's GSS_C_*_FLAG values).
type GSSFlags uint32

// Context flags.
const (
	GSSDeleg         GSSFlags = 1      // GSS_C_DELEG_FLAG
	GSSMutual        GSSFlags = 2      // GSS_C_MUTUAL_FLAG
	GSSReplay        GSSFlags = 4      // GSS_C_REPLAY_FLAG
	GSSSequence      GSSFlags = 8      // GSS_C_SEQUENCE_FLAG
	GSSConf          GSSFlags = 16     // GSS_C_CONF_FLAG
	GSSInteg         GSSFlags = 32     // GSS_C_INTEG_FLAG
	GSSDCEStyle      GSSFlags = 0x1000 // GSS_C_DCE_STYLE (RFC 4757 7.1)
	GSSIdentify      GSSFlags = 0x2000 // GSS_C_IDENTIFY_FLAG
	GSSExtendedError GSSFlags = 0x4000 // GSS_C_EXTENDED_ERROR_FLAG
)

// String lists the flags' names, such as "mutual|integ".
func (f GSSFlags) String() string {
	var parts []string
	for _, n := range []struct {
		f    GSSFlags
		name string
	}{
		{GSSDeleg, "deleg"}, {GSSMutual, "mutual"}, {GSSReplay, "replay"}, {GSSSequence, "sequence"},
		{GSSConf, "conf"}, {GSSInteg, "integ"}, {GSSDCEStyle, "dce-style"}, {GSSIdentify, "identify"},
		{GSSExtendedError, "extended-error"},
	} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(f)))
	}
	return strings.Join(parts, "|")
}

// gssChecksum is the value of a 0x8003 checksum.
type gssChecksum struct {
	Bnd   [16]byte
	Flags GSSFlags
	Deleg []byte // KRB-CRED, present iff the delegation option was sent
	Exts  []gssExtension
}

// gssExtension is one extension after the delegation field (MIT's
// KRB5_GSS_EXTS_*): a 32-bit big-endian type and length, then the data.
type gssExtension struct {
	Type uint32
	Data []byte
}

const (
	gssBndLength    = 16
	gssDelegOption  = 1 // KRB5_GSS_FOR_CREDS_OPTION
	maxGSSChecksum  = 64 << 10
	maxGSSExtension = 16
)

// bindingsHash returns Bnd for the flat encoding of channel bindings
// (RFC 4121 4.1.1.2: MD5 of the RFC 2744 structure), all zero for none.
func bindingsHash(flat []byte) [16]byte {
	if flat == nil {
		return [16]byte{}
	}
	return md5.Sum(flat)
}

func (c *gssChecksum) marshal() []byte {
	b := make([]byte, 0, 28+len(c.Deleg))
	b = binary.LittleEndian.AppendUint32(b, gssBndLength)
	b = append(b, c.Bnd[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.Flags))
	if c.Deleg != nil {
		b = binary.LittleEndian.AppendUint16(b, gssDelegOption)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(c.Deleg)))
		b = append(b, c.Deleg...)
	}
	for _, e := range c.Exts {
		b = binary.BigEndian.AppendUint32(b, e.Type)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// parseGSSChecksum parses a 0x8003 checksum strictly: at least 24 bytes,
// Lgth 16, the delegation option only with GSS_C_DELEG_FLAG and then of
// option 1 and within bounds, extensions well formed to the last byte.
// A DELEG flag without delegation bytes is cleared, as MIT does.
func parseGSSChecksum(b []byte) (*gssChecksum, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("krb5: GSS checksum of %d bytes (at least 24)", len(b))
	}
	if len(b) > maxGSSChecksum {
		return nil, errors.New("krb5: GSS checksum too large")
	}
	if n := binary.LittleEndian.Uint32(b); n != gssBndLength {
		return nil, fmt.Errorf("krb5: GSS checksum Lgth %d (want 16)", n)
	}
	c := &gssChecksum{Flags: GSSFlags(binary.LittleEndian.Uint32(b[20:]))}
	copy(c.Bnd[:], b[4:20])
	rest := b[24:]
	if c.Flags&GSSDeleg != 0 {
		if len(rest) < 4 {
			c.Flags &^= GSSDeleg
		} else {
			opt := binary.LittleEndian.Uint16(rest)
			n := int(binary.LittleEndian.Uint16(rest[2:]))
			if opt != gssDelegOption {
				return nil, fmt.Errorf("krb5: GSS checksum delegation option %d (want 1)", opt)
			}
			if n > len(rest)-4 {
				return nil, errors.New("krb5: GSS checksum delegation field past the end")
			}
			c.Deleg = append([]byte{}, rest[4:4+n]...)
			rest = rest[4+n:]
			if n == 0 {
				c.Flags &^= GSSDeleg
				c.Deleg = nil
			}
		}
	}
	for len(rest) > 0 {
		if len(c.Exts) == maxGSSExtension || len(rest) < 8 {
			return nil, errors.New("krb5: malformed GSS checksum extension")
		}
		t := binary.BigEndian.Uint32(rest)
		n := binary.BigEndian.Uint32(rest[4:])
		if uint64(n) > uint64(len(rest)-8) {
			return nil, errors.New("krb5: GSS checksum extension past the end")
		}
		c.Exts = append(c.Exts, gssExtension{Type: t, Data: append([]byte{}, rest[8:8+n]...)})
		rest = rest[8+n:]
	}
	return c, nil
}

// BindingsResult says how an acceptor treated channel bindings (RFC
// 4121 4.1.1.2).
type BindingsResult int

const (
	// BindingsNone: neither side had channel bindings.
	BindingsNone BindingsResult = iota
	// BindingsMatched: both had them and they are the same.
	BindingsMatched
	// BindingsNotChecked: the initiator sent bindings, the acceptor had
	// none to compare them with (accepted, as MIT and Windows do).
	BindingsNotChecked
	// BindingsAbsent: the acceptor had bindings, the initiator sent none
	// (all-zero Bnd); accepted unless the acceptor requires bindings or
	// the initiator announced that it supports them.
	BindingsAbsent
)

// String names the result, such as "matched".
func (r BindingsResult) String() string {
	switch r {
	case BindingsNone:
		return "none"
	case BindingsMatched:
		return "matched"
	case BindingsNotChecked:
		return "not checked"
	case BindingsAbsent:
		return "absent"
	}
	return fmt.Sprintf("BindingsResult(%d)", int(r))
}

// ErrBadBindings is the cause of a channel-bindings failure
// (SEC_E_BAD_BINDINGS, GSS_S_BAD_BINDINGS).
var ErrBadBindings = errors.New("krb5: channel bindings do not match")

// checkBindings applies the acceptor's policy to the Bnd an initiator
// sent. clientCBT is the initiator's KERB_AP_OPTIONS_CBT announcement
// (MS-KILE 3.2.5.8), after which MIT refuses an all-zero Bnd from it.
func checkBindings(bnd [16]byte, expected []byte, require, clientCBT bool) (BindingsResult, error) {
	zero := bnd == [16]byte{}
	switch {
	case expected == nil && zero:
		if require {
			return 0, ErrBadBindings
		}
		return BindingsNone, nil
	case expected == nil:
		if require {
			return 0, ErrBadBindings
		}
		return BindingsNotChecked, nil
	case zero:
		if require || clientCBT {
			return 0, ErrBadBindings
		}
		return BindingsAbsent, nil
	}
	want := bindingsHash(expected)
	if subtle.ConstantTimeCompare(bnd[:], want[:]) != 1 {
		return 0, ErrBadBindings
	}
	return BindingsMatched, nil
}
