package ntlm

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// sampleMessages returns a real NEGOTIATE, CHALLENGE and AUTHENTICATE
// from a handshake between the package's two halves.
func sampleMessages(t testing.TB) (neg, chal, auth []byte) {
	t.Helper()
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	if r.err() != nil {
		t.Fatal(r.err())
	}
	return r.neg, r.chal, r.auth
}

func putU32(b []byte, off int, v uint32) []byte {
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestParseRejects(t *testing.T) {
	neg, chal, auth := sampleMessages(t)
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	type tc struct {
		name string
		msg  []byte
		want string // part of the error
	}
	negTests := []tc{
		{"empty", nil, "shorter than its header"},
		{"signature only", neg[:8], "shorter than its header"},
		{"bad signature", edit(neg, func(b []byte) []byte { b[0] = 'X'; return b }), "signature"},
		{"wrong type", edit(neg, func(b []byte) []byte { return putU32(b, 8, 2) }), "got CHALLENGE_MESSAGE"},
		{"truncated header", neg[:31], "shorter than its header"},
		{"truncated version", neg[:35], "VERSION"},
		{"too large", append(append([]byte(nil), neg...), make([]byte, maxMessageSize)...), "exceeds"},
		{"field into header", edit(neg, func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[16:], 4)
			return putU32(b, 20, 8)
		}), "outside the payload"},
		{"offset+len wraps", edit(neg, func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[16:], 47)
			return putU32(b, 20, 0xFFFFFFFF)
		}), "outside the payload"},
	}
	for _, tt := range negTests {
		t.Run("negotiate/"+tt.name, func(t *testing.T) {
			var m negotiateMsg
			err := m.unmarshal(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}

	var cm challengeMsg
	if err := cm.unmarshal(chal); err != nil {
		t.Fatal(err)
	}
	rebuildChal := func(targetInfo []byte, targetName []byte) []byte {
		m := cm
		m.targetInfo = targetInfo
		if targetName != nil {
			m.targetName = targetName
		}
		out, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	eol := []byte{0, 0, 0, 0}
	chalTests := []tc{
		{"truncated", chal[:47], "shorter than its header"},
		{"target info past end", edit(chal, func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[40:], uint16(len(b)))
			return b
		}), "outside the payload"},
		{"odd target name", rebuildChal(cm.targetInfo, []byte{'A', 0, 'B'}), "odd-length"},
		{"lone surrogate", rebuildChal(cm.targetInfo, []byte{0x00, 0xD8, 'A', 0}), "surrogate"},
		{"lone low surrogate", rebuildChal(cm.targetInfo, []byte{0x00, 0xDC}), "surrogate"},
		{"NUL in name", rebuildChal(cm.targetInfo, []byte{'A', 0, 0, 0}), "NUL"},
		{"no EOL", rebuildChal(cm.targetInfo[:len(cm.targetInfo)-4], nil), "no MsvAvEOL"},
		{"data after EOL", rebuildChal(append(append([]byte(nil), cm.targetInfo...), 0), nil), "after MsvAvEOL"},
		{"zero after EOL", rebuildChal(append(append([]byte(nil), cm.targetInfo...), 0, 0, 0, 0), nil), "after MsvAvEOL"},
		{"EOL with length", rebuildChal([]byte{0, 0, 1, 0, 0}, nil), "MsvAvEOL with AvLen"},
		{"pair past end", rebuildChal([]byte{1, 0, 0x10, 0, 'A', 0}, nil), "past the end"},
		{"duplicate", rebuildChal([]byte{1, 0, 2, 0, 'A', 0, 1, 0, 2, 0, 'A', 0, 0, 0, 0, 0}, nil), "duplicate"},
		{"timestamp 7 bytes", rebuildChal(append([]byte{7, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7}, eol...), nil), "MsvAvTimestamp with AvLen 7"},
		{"bindings 15 bytes", rebuildChal(append(append([]byte{10, 0, 15, 0}, make([]byte, 15)...), eol...), nil), "MsvAvChannelBindings with AvLen 15"},
		{"flags 2 bytes", rebuildChal(append([]byte{6, 0, 2, 0, 1, 2}, eol...), nil), "MsvAvFlags with AvLen 2"},
		{"too many pairs", rebuildChal(manyPairs(maxAVPairs+1), nil), "longer than"},
	}
	for _, tt := range chalTests {
		t.Run("challenge/"+tt.name, func(t *testing.T) {
			var m challengeMsg
			err := m.unmarshal(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}

	var am authenticateMsg
	if err := am.unmarshal(auth); err != nil {
		t.Fatal(err)
	}
	authTests := []tc{
		{"truncated", auth[:63], "shorter than its header"},
		{"odd user", edit(auth, func(b []byte) []byte {
			m := am
			m.user = []byte{'a', 0, 'b'}
			out, _ := m.marshal()
			return out
		}), "odd-length"},
		{"overlapping fields", edit(auth, func(b []byte) []byte {
			// Point the user name at the domain name.
			copy(b[36+2:], b[28+2:28+8])
			binary.LittleEndian.PutUint16(b[36:], binary.LittleEndian.Uint16(b[28:]))
			return b
		}), "overlapping"},
		{"field into VERSION", edit(auth, func(b []byte) []byte { return putU32(b, 32, 70) }), "outside the payload"},
	}
	for _, tt := range authTests {
		t.Run("authenticate/"+tt.name, func(t *testing.T) {
			var m authenticateMsg
			err := m.unmarshal(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}

	blobTests := []tc{
		{"short", make([]byte, 27), "shorter than its header"},
		{"type 2", append([]byte{2, 1}, make([]byte, 30)...), "of type 2.1"},
		{"no EOL", append([]byte{1, 1}, make([]byte, 26)...), "no MsvAvEOL"},
	}
	for _, tt := range blobTests {
		t.Run("client-challenge/"+tt.name, func(t *testing.T) {
			var c ntlmv2ClientChallenge
			err := c.unmarshal(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Zero padding after EOL is allowed in the client's blob only.
	var c ntlmv2ClientChallenge
	if err := c.unmarshal(append(append([]byte{1, 1}, make([]byte, 26)...), 0, 0, 0, 0, 0, 0, 0, 0)); err != nil {
		t.Fatalf("Z(4) after EOL refused: %v", err)
	}
}

func manyPairs(n int) []byte {
	var l avPairs
	for i := range n {
		l = append(l, avPair{avID(0x100 + i), nil})
	}
	return l.marshal()
}

// TestMessagesRoundTrip: parse(marshal(m)) == m for every message type.
func TestMessagesRoundTrip(t *testing.T) {
	neg, chal, auth := sampleMessages(t)
	var n, n2 negotiateMsg
	var c, c2 challengeMsg
	var a, a2 authenticateMsg
	if n.unmarshal(neg) != nil || c.unmarshal(chal) != nil || a.unmarshal(auth) != nil {
		t.Fatal("sample does not parse")
	}
	for _, tt := range []struct {
		raw  []byte
		f    func() ([]byte, error)
		back func([]byte) error
	}{
		{neg, n.marshal, n2.unmarshal},
		{chal, c.marshal, c2.unmarshal},
		{auth, a.marshal, a2.unmarshal},
	} {
		out, err := tt.f()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, tt.raw) {
			t.Fatalf("re-marshal differs:\n%x\n%x", out, tt.raw)
		}
		if err := tt.back(out); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(n, n2) || !reflect.DeepEqual(c.avPairs, c2.avPairs) || !bytes.Equal(a.mic, a2.mic) {
		t.Fatal("re-parsed messages differ")
	}
	if n.flags.String() == "" || !strings.Contains(n.flags.String(), "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY") {
		t.Fatalf("flags String %q", n.flags.String())
	}
	if s := negotiateFlags(0x00000008).String(); s != "0x00000008" {
		t.Fatalf("reserved bit String %q", s)
	}
	if avID(0x0A).String() != "MsvAvChannelBindings" || avID(0x42).String() != "AvId(0x0042)" {
		t.Fatal("avID String")
	}
}

// TestAuthenticateVersionFlagWithoutVersion: curl 7.88's own NTLM copies
// NEGOTIATE_VERSION from the CHALLENGE into its AUTHENTICATE_MESSAGE but
// starts the payload right after the 64-byte header, with no VERSION.
// Windows accepts it, and so must we; a field pointing inside where a
// VERSION would be is still refused (TestParseRejects).
func TestAuthenticateVersionFlagWithoutVersion(t *testing.T) {
	// curl --ntlm -u 'EXAMPLE\alice:alice-Passw0rd', captured.
	const curl = "TlRMTVNTUAADAAAAGAAYAEAAAACkAKQAWAAAAAcABwD8AAAABQAFAAMBAAALAAsACAEAAAAAAAAAAAAABoKKAvy7iDmA5Syf49/mB98kfPQ950Vu2doSVYvjBhkRzaepLezGOwASEWcBAQAAAAAAAAAI3Y/wg90BPedFbtnaElUAAAAAAgAOAEUAWABBAE0AUABMAEUAAQAMAFMARQBSAFYARQBSAAQAFgBlAHgAYQBtAHAAbABlAC4AYwBvAG0AAwAkAHMAZQByAHYAZQByAC4AZQB4AGEAbQBwAGwAZQAuAGMAbwBtAAcACABrT0GQ8IPdAQAAAAAAAAAARVhBTVBMRWFsaWNlV09SS1NUQVRJT04="
	raw, err := base64.StdEncoding.DecodeString(curl)
	if err != nil {
		t.Fatal(err)
	}
	var m authenticateMsg
	if err := m.unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if m.flags&flagVersion == 0 || m.version != nil || m.mic != nil {
		t.Fatalf("flags %#x version %x mic %x", uint32(m.flags), m.version, m.mic)
	}
	user, dom, ws, err := m.names()
	if err != nil || user != "alice" || dom != "EXAMPLE" || ws != "WORKSTATION" {
		t.Fatalf("names %q %q %q %v", user, dom, ws, err)
	}
}
