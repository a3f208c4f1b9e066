package kerberos

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

var allETypes = []kcrypto.EType{
	kcrypto.AES128CTSHMACSHA196, kcrypto.AES256CTSHMACSHA196,
	kcrypto.AES128CTSHMACSHA256128, kcrypto.AES256CTSHMACSHA384192,
}

// pairOpts describes a test context.
type pairOpts struct {
	acceptorSubkey   bool
	replay, sequence bool
}

// newPair returns the initiator's and the acceptor's msgState of one
// context with a random key and random initial sequence numbers.
func newPair(t testing.TB, e kcrypto.EType, o pairOpts) (ini, acc *msgState) {
	t.Helper()
	key := make([]byte, e.KeySize())
	crand.Read(key)
	var seqs [16]byte
	crand.Read(seqs[:])
	iseq := uint64(binary.BigEndian.Uint32(seqs[0:])) // Kerberos seq-numbers are 32-bit (RFC 4120 5.5.1)
	aseq := uint64(binary.BigEndian.Uint32(seqs[4:]))
	c := msgConfig{EType: e, Key: key, AcceptorSubkey: o.acceptorSubkey, Replay: o.replay, Sequence: o.sequence}
	ci, ca := c, c
	ci.Initiator, ci.SendSeq, ci.RecvSeq = true, iseq, aseq
	ca.SendSeq, ca.RecvSeq = aseq, iseq
	var err error
	if ini, err = newMsgState(ci); err != nil {
		t.Fatal(err)
	}
	if acc, err = newMsgState(ca); err != nil {
		t.Fatal(err)
	}
	return ini, acc
}

func wantStatusErr(t testing.TB, err error, want secpkg.Status) {
	t.Helper()
	if got := secpkg.StatusOf(err); got != want {
		t.Fatalf("status %v (%v), want %v", got, err, want)
	}
	if want != secpkg.StatusOK && !strings.HasPrefix(err.Error(), "kerberos: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	return b
}

// sspiSeal seals msg with SealMessage into [TOKEN, DATA] and returns the
// two buffers.
func sspiSeal(t testing.TB, m *msgState, qop uint32, msg []byte) (tok, data []byte) {
	t.Helper()
	bufs := []secpkg.Buffer{
		{Type: secpkg.BufferToken, Data: make([]byte, m.sizes().SecurityTrailer)},
		{Type: secpkg.BufferData, Data: append([]byte(nil), msg...)},
	}
	if err := m.sealMessage(qop, bufs); err != nil {
		t.Fatal(err)
	}
	return bufs[0].Data, bufs[1].Data
}

var testSizes = []int{0, 1, 15, 16, 17, 31, 32, 33, 1024, 65536}

// TestRoundTrips seals and unseals in every layout, both directions, for
// every encryption type, with and without the acceptor subkey.
func TestRoundTrips(t *testing.T) {
	for _, e := range allETypes {
		for _, sub := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/subkey=%v", e, sub), func(t *testing.T) {
				ini, acc := newPair(t, e, pairOpts{acceptorSubkey: sub, replay: true, sequence: true})
				for _, dir := range []struct {
					name     string
					from, to *msgState
				}{{"i2a", ini, acc}, {"a2i", acc, ini}} {
					for _, n := range testSizes {
						msg := payload(n)
						for _, qop := range []uint32{0, secpkg.QOPWrapNoEncrypt} {
							roundTripAllLayouts(t, dir.from, dir.to, qop, msg)
						}
						mic, err := dir.from.getMIC(msg)
						if err != nil {
							t.Fatal(err)
						}
						if len(mic) != 16+e.ChecksumSize() {
							t.Fatalf("MIC of %d bytes", len(mic))
						}
						if err := dir.to.verifyMIC(msg, mic); err != nil {
							t.Fatalf("%s/%d: verifyMIC: %v", dir.name, n, err)
						}
					}
				}
			})
		}
	}
}

func roundTripAllLayouts(t *testing.T, from, to *msgState, qop uint32, msg []byte) {
	t.Helper()
	h := from.h
	sealed := qop == 0
	wantQOP := qop

	// [TOKEN, DATA] both ways, Windows' layout.
	tok, data := sspiSeal(t, from, qop, msg)
	wantLen, wantRRC := 16+h, h
	if sealed {
		wantLen, wantRRC = 16+16+h+16, 16+h
		// A short ciphertext equals its plaintext by chance (one byte:
		// once in 256 seals, so once in 16 runs of this test): only a
		// message of 8 bytes or more shows that sealing did nothing.
		if len(msg) >= 8 && bytes.Equal(data, msg) {
			t.Fatal("sealed data left in clear")
		}
	} else if !bytes.Equal(data, msg) {
		t.Fatal("integrity-only data changed")
	}
	if len(tok) != wantLen || int(binary.BigEndian.Uint16(tok[6:8])) != wantRRC {
		t.Fatalf("trailer of %d bytes with RRC %d, want %d and %d", len(tok), binary.BigEndian.Uint16(tok[6:8]), wantLen, wantRRC)
	}
	whole := append(append([]byte(nil), tok...), data...)
	bufs := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: tok}, {Type: secpkg.BufferData, Data: data}}
	gotQOP, err := to.unsealMessage(bufs)
	if err != nil || gotQOP != wantQOP || !bytes.Equal(bufs[1].Data, msg) {
		t.Fatalf("unseal [TOKEN, DATA] (qop %#x, %d bytes): %v, qop %#x", qop, len(msg), err, gotQOP)
	}

	// The same bytes as one token: TOKEN || DATA is a valid Wrap token.
	tok2, data2 := sspiSeal(t, from, qop, msg)
	whole = append(append(whole[:0], tok2...), data2...)
	stream := []secpkg.Buffer{{Type: secpkg.BufferStream, Data: whole}, {Type: secpkg.BufferData}}
	if gotQOP, err = to.unsealMessage(stream); err != nil || gotQOP != wantQOP || !bytes.Equal(stream[1].Data, msg) {
		t.Fatalf("unseal STREAM of TOKEN||DATA: %v", err)
	}

	// wrap (RRC 0, MIT's layout) into a single DATA buffer.
	w, err := from.wrap(sealed, msg)
	if err != nil {
		t.Fatal(err)
	}
	single := []secpkg.Buffer{{Type: secpkg.BufferData, Data: w}}
	if gotQOP, err = to.unsealMessage(single); err != nil || gotQOP != wantQOP || !bytes.Equal(single[0].Data, msg) {
		t.Fatalf("unseal single DATA of a wrap token: %v", err)
	}

	// SealMessage's bytes through the byte-slice unwrap.
	tok3, data3 := sspiSeal(t, from, qop, msg)
	plain, conf, err := to.unwrap(append(append([]byte(nil), tok3...), data3...))
	if err != nil || conf != sealed || !bytes.Equal(plain, msg) {
		t.Fatalf("unwrap of TOKEN||DATA: %v", err)
	}
}

// TestAnyRRC re-rotates whole tokens by every RRC up to past their length
// and by 65535: unwrap must accept them all.
func TestAnyRRC(t *testing.T) {
	for _, e := range allETypes {
		for _, sealed := range []bool{true, false} {
			ini, acc := newPair(t, e, pairOpts{})
			msg := payload(37)
			w, err := ini.wrap(sealed, msg)
			if err != nil {
				t.Fatal(err)
			}
			L := len(w) - 16
			rrcs := []int{65535, 65535 - 1, L, L + 1, 2*L + 3}
			for r := 0; r < L+2; r++ {
				rrcs = append(rrcs, r)
			}
			for _, rrc := range rrcs {
				tok := append([]byte(nil), w...)
				rotateRight(tok[16:], rrc)
				binary.BigEndian.PutUint16(tok[6:8], uint16(rrc))
				plain, conf, err := acc.unwrap(tok)
				if err != nil || conf != sealed || !bytes.Equal(plain, msg) {
					t.Fatalf("%v sealed=%v RRC %d: %v", e, sealed, rrc, err)
				}
				// The RRC field alone changed, without rotating: altered
				// unless it is the same rotation.
				bad := append([]byte(nil), w...)
				binary.BigEndian.PutUint16(bad[6:8], uint16(rrc))
				_, _, err = acc.unwrap(bad)
				if rrc%L == 0 {
					wantStatusErr(t, err, secpkg.StatusOK)
				} else {
					wantStatusErr(t, err, secpkg.StatusMessageAltered)
				}
			}
		}
	}
}

func TestRotate(t *testing.T) {
	for _, n := range []int{1, 2, 7, 255, 256, 257, 600, 1000} {
		b := payload(n)
		for _, r := range []int{0, 1, 5, 255, 256, 257, 300, n - 1, n, n + 3} {
			c := append([]byte(nil), b...)
			rotateLeft(c, r)
			rr := ((r % n) + n) % n
			if !bytes.Equal(c, append(append([]byte(nil), b[rr:]...), b[:rr]...)) {
				t.Fatalf("rotateLeft(%d, %d) wrong", n, r)
			}
			rotateRight(c, r)
			if !bytes.Equal(c, b) {
				t.Fatalf("rotateRight(%d, %d) does not undo", n, r)
			}
		}
	}
	rotateLeft(nil, 3)
	rotateRight(nil, 3)
}

// TestSignOnlyBuffers covers READONLY_WITH_CHECKSUM (signed, not
// encrypted) and READONLY (neither) buffers in every call.
func TestSignOnlyBuffers(t *testing.T) {
	for _, e := range allETypes {
		ini, acc := newPair(t, e, pairOpts{acceptorSubkey: true})
		hdr := []byte("DCE header, signed in clear")
		ro := []byte("read-only, not covered")
		msg := payload(100)
		mk := func(tokLen int, data []byte) []secpkg.Buffer {
			return []secpkg.Buffer{
				{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: append([]byte(nil), hdr...)},
				{Type: secpkg.BufferData, Data: append([]byte(nil), data...)},
				{Type: secpkg.BufferData | secpkg.BufferReadOnly, Data: append([]byte(nil), ro...)},
				{Type: secpkg.BufferToken, Data: make([]byte, tokLen)},
			}
		}
		for _, qop := range []uint32{0, secpkg.QOPWrapNoEncrypt} {
			b := mk(200, msg)
			if err := ini.sealMessage(qop, b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[0].Data, hdr) || !bytes.Equal(b[2].Data, ro) {
				t.Fatal("sealing changed a read-only buffer")
			}
			// Changing the READONLY buffer does not matter.
			ok := cloneBuffers(b)
			ok[2].Data[0] ^= 1
			if _, err := acc.unsealMessage(ok); err != nil || !bytes.Equal(ok[1].Data, msg) {
				t.Fatalf("%v qop %#x: %v", e, qop, err)
			}
			// Changing the signed header does.
			ini2, acc2 := newPair(t, e, pairOpts{})
			b = mk(200, msg)
			ini2.sealMessage(qop, b)
			b[0].Data[3] ^= 1
			before := cloneBuffers(b)
			_, err := acc2.unsealMessage(b)
			wantStatusErr(t, err, secpkg.StatusMessageAltered)
			if !sameBuffers(b, before) {
				t.Fatal("failed unseal changed the buffers")
			}
		}
		// MIC over the same buffers.
		b := mk(64, msg)
		if err := ini.makeSignature(0, b); err != nil {
			t.Fatal(err)
		}
		if _, err := acc.verifySignature(b); err != nil {
			t.Fatal(err)
		}
		b[0].Data[0] ^= 1
		_, err := acc.verifySignature(b)
		wantStatusErr(t, err, secpkg.StatusMessageAltered)
	}
}

func cloneBuffers(b []secpkg.Buffer) []secpkg.Buffer {
	out := make([]secpkg.Buffer, len(b))
	for i := range b {
		out[i] = secpkg.Buffer{Type: b[i].Type, Data: append([]byte(nil), b[i].Data...)}
	}
	return out
}

func sameBuffers(a, b []secpkg.Buffer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// TestReflection feeds each side its own tokens: SentByAcceptor says the
// token came from us, so it must fail, and the buffers stay as they were.
func TestReflection(t *testing.T) {
	for _, e := range allETypes {
		ini, acc := newPair(t, e, pairOpts{acceptorSubkey: true})
		for _, m := range []*msgState{ini, acc} {
			for _, qop := range []uint32{0, secpkg.QOPWrapNoEncrypt} {
				tok, data := sspiSeal(t, m, qop, payload(40))
				b := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: tok}, {Type: secpkg.BufferData, Data: data}}
				before := cloneBuffers(b)
				_, err := m.unsealMessage(b)
				wantStatusErr(t, err, secpkg.StatusMessageAltered)
				if !sameBuffers(b, before) {
					t.Fatal("reflected token changed the buffers")
				}
			}
			mic, _ := m.getMIC([]byte("x"))
			wantStatusErr(t, m.verifyMIC([]byte("x"), mic), secpkg.StatusMessageAltered)
		}
	}
}

// TestAcceptorSubkeyFlag: a token whose AcceptorSubkey flag does not match
// the key in use fails, whichever way it differs.
func TestAcceptorSubkeyFlag(t *testing.T) {
	for _, e := range allETypes {
		key := make([]byte, e.KeySize())
		crand.Read(key)
		with, _ := newMsgState(msgConfig{EType: e, Key: key, Initiator: true, AcceptorSubkey: true})
		without, _ := newMsgState(msgConfig{EType: e, Key: key, Initiator: true})
		accWith, _ := newMsgState(msgConfig{EType: e, Key: key, AcceptorSubkey: true})
		accWithout, _ := newMsgState(msgConfig{EType: e, Key: key})
		for _, c := range []struct{ from, to *msgState }{{with, accWithout}, {without, accWith}} {
			w, _ := c.from.wrap(true, []byte("hi"))
			_, _, err := c.to.unwrap(w)
			wantStatusErr(t, err, secpkg.StatusMessageAltered)
			mic, _ := c.from.getMIC([]byte("hi"))
			wantStatusErr(t, c.to.verifyMIC([]byte("hi"), mic), secpkg.StatusMessageAltered)
		}
	}
}

// TestSequenceIntegration: replays, reordering and gaps of authentic
// tokens give SEC_E_OUT_OF_SEQUENCE with the plaintext in place, following
// seqstate.go; with detection off they pass.
func TestSequenceIntegration(t *testing.T) {
	for _, o := range []pairOpts{{replay: true, sequence: true}, {replay: true}, {sequence: true}, {}} {
		ini, acc := newPair(t, kcrypto.AES256CTSHMACSHA196, o)
		var toks [][]byte
		for i := range 4 {
			w, err := ini.wrap(true, []byte{byte(i)})
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, w)
		}
		unwrapStatus := func(tok []byte, want byte) secpkg.Status {
			plain, _, err := acc.unwrap(tok)
			if len(plain) != 1 || plain[0] != want {
				t.Fatalf("%+v: plaintext %x, want %02x (%v)", o, plain, want, err)
			}
			return secpkg.StatusOf(err)
		}
		expect := func(cond bool) secpkg.Status {
			if cond {
				return secpkg.StatusOutOfSequence
			}
			return secpkg.StatusOK
		}
		steps := []struct {
			tok  int
			want secpkg.Status
		}{
			{0, secpkg.StatusOK},
			{0, expect(o.replay || o.sequence)}, // replay: duplicate, or unsequenced
			{2, expect(o.sequence)},             // gap
			{1, expect(o.sequence)},             // late, unseen
			{1, expect(o.replay || o.sequence)}, // replay again
			{3, secpkg.StatusOK},
		}
		for i, s := range steps {
			if got := unwrapStatus(toks[s.tok], byte(s.tok)); got != s.want {
				t.Fatalf("%+v step %d: %v, want %v", o, i, got, s.want)
			}
		}
		// MIC replay.
		mic, _ := acc.getMIC([]byte("m"))
		if err := ini.verifyMIC([]byte("m"), mic); err != nil {
			t.Fatal(err)
		}
		if got := secpkg.StatusOf(ini.verifyMIC([]byte("m"), mic)); got != expect(o.replay || o.sequence) {
			t.Fatalf("%+v: MIC replay %v", o, got)
		}
	}
}

func TestSealArguments(t *testing.T) {
	ini, _ := newPair(t, kcrypto.AES256CTSHMACSHA196, pairOpts{})
	data := secpkg.Buffer{Type: secpkg.BufferData, Data: []byte("x")}
	wantStatusErr(t, ini.sealMessage(7, []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 76)}}), secpkg.StatusQOPNotSupported)
	wantStatusErr(t, ini.makeSignature(1, []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 76)}}), secpkg.StatusQOPNotSupported)
	wantStatusErr(t, ini.sealMessage(0, []secpkg.Buffer{data}), secpkg.StatusInvalidToken)
	wantStatusErr(t, ini.makeSignature(0, []secpkg.Buffer{data}), secpkg.StatusInvalidToken)
	wantStatusErr(t, ini.sealMessage(0, []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 59)}}), secpkg.StatusBufferTooSmall)
	wantStatusErr(t, ini.sealMessage(secpkg.QOPWrapNoEncrypt, []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 27)}}), secpkg.StatusBufferTooSmall)
	wantStatusErr(t, ini.makeSignature(0, []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 27)}}), secpkg.StatusBufferTooSmall)
	_, err := ini.verifySignature([]secpkg.Buffer{data})
	wantStatusErr(t, err, secpkg.StatusInvalidToken)
	_, err = ini.unsealMessage([]secpkg.Buffer{{Type: secpkg.BufferToken}})
	wantStatusErr(t, err, secpkg.StatusInvalidToken)
	_, err = ini.unsealMessage([]secpkg.Buffer{data, data})
	wantStatusErr(t, err, secpkg.StatusInvalidToken)
	// A PADDING buffer is emptied.
	b := []secpkg.Buffer{data, {Type: secpkg.BufferToken, Data: make([]byte, 76)}, {Type: secpkg.BufferPadding, Data: make([]byte, 16)}}
	if err := ini.sealMessage(0, b); err != nil || len(b[2].Data) != 0 || len(b[1].Data) != 60 {
		t.Fatalf("padding %d, token %d: %v", len(b[2].Data), len(b[1].Data), err)
	}
	if _, err := newMsgState(msgConfig{EType: 23, Key: make([]byte, 16)}); secpkg.StatusOf(err) != secpkg.StatusStrongCryptoNotSupported {
		t.Fatalf("rc4-hmac: %v", err)
	}
	if _, err := newMsgState(msgConfig{EType: kcrypto.AES128CTSHMACSHA196, Key: make([]byte, 32)}); err == nil {
		t.Fatal("key of the wrong size accepted")
	}
}

func TestSizes(t *testing.T) {
	for _, c := range []struct {
		e                  kcrypto.EType
		sig, trailer, real int
	}{
		// AES with HMAC-SHA1: a 28-byte MIC; cbSecurityTrailer 76 as
		// Windows reports it (observed by FreeRDP, PR 8307), 60 written.
		{kcrypto.AES128CTSHMACSHA196, 28, 76, 60},
		{kcrypto.AES256CTSHMACSHA196, 28, 76, 60},
		{kcrypto.AES128CTSHMACSHA256128, 32, 80, 64},
		{kcrypto.AES256CTSHMACSHA384192, 40, 88, 72},
	} {
		ini, _ := newPair(t, c.e, pairOpts{})
		s := ini.sizes()
		if s.MaxToken != 48000 || s.MaxSignature != uint32(c.sig) || s.SecurityTrailer != uint32(c.trailer) || s.BlockSize != 1 {
			t.Errorf("%v: %+v", c.e, s)
		}
		if ss := ini.streamSizes(); ss.Trailer != uint32(c.trailer) || ss.Header != 0 || ss.BlockSize != 1 {
			t.Errorf("%v: %+v", c.e, ss)
		}
		if tok, _ := sspiSeal(t, ini, 0, []byte("x")); len(tok) != c.real {
			t.Errorf("%v: trailer of %d bytes", c.e, len(tok))
		}
		mic, _ := ini.getMIC(nil)
		if len(mic) != c.sig {
			t.Errorf("%v: MIC of %d bytes", c.e, len(mic))
		}
	}
}

func TestRedaction(t *testing.T) {
	ini, _ := newPair(t, kcrypto.AES256CTSHMACSHA196, pairOpts{})
	for _, s := range []string{ini.String(), ini.GoString(), fmt.Sprintf("%v %+v %#v", ini, ini, ini), ini.LogValue().String()} {
		if !strings.Contains(s, "REDACTED") || strings.Contains(s, fmt.Sprintf("%x", ini.key[:4])) {
			t.Fatalf("not redacted: %s", s)
		}
	}
	ini.wipe()
	if ini.key != nil || ini.send.seal != nil {
		t.Fatal("wipe left keys")
	}
}

// TestNoAllocations: steady-state SealMessage/UnsealMessage and
// MakeSignature/VerifySignature do not allocate.
func TestNoAllocations(t *testing.T) {
	for _, e := range allETypes {
		ini, acc := newPair(t, e, pairOpts{replay: true, sequence: true})
		msg := payload(1024)
		tokBuf := make([]byte, 76+16)
		data := make([]byte, 1024)
		bufs := make([]secpkg.Buffer, 2)
		allocs := testing.AllocsPerRun(100, func() {
			copy(data, msg)
			bufs[0] = secpkg.Buffer{Type: secpkg.BufferToken, Data: tokBuf}
			bufs[1] = secpkg.Buffer{Type: secpkg.BufferData, Data: data}
			for _, qop := range []uint32{0, secpkg.QOPWrapNoEncrypt} {
				bufs[0].Data = tokBuf
				if err := ini.sealMessage(qop, bufs); err != nil {
					t.Fatal(err)
				}
				if _, err := acc.unsealMessage(bufs); err != nil {
					t.Fatal(err)
				}
			}
			bufs[0].Data = tokBuf
			if err := acc.makeSignature(0, bufs); err != nil {
				t.Fatal(err)
			}
			if _, err := ini.verifySignature(bufs); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per round", e, allocs)
		}
	}
}

// TestConcurrentSealUnseal runs one sender and one receiver on each side at
// once, as SSPI permits (one thread encrypting, another decrypting); -race
// checks that the directions share no state.
func TestConcurrentSealUnseal(t *testing.T) {
	ini, acc := newPair(t, kcrypto.AES128CTSHMACSHA196, pairOpts{replay: true, sequence: true})
	const n = 200
	i2a, a2i := make(chan []byte, n), make(chan []byte, n)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(m *msgState, out chan<- []byte) {
		defer wg.Done()
		for i := range n {
			w, err := m.wrap(true, []byte{byte(i)})
			if err != nil {
				errs <- err
				return
			}
			out <- w
		}
	}
	recv := func(m *msgState, in <-chan []byte) {
		defer wg.Done()
		for i := range n {
			plain, _, err := m.unwrap(<-in)
			if err != nil || len(plain) != 1 || plain[0] != byte(i) {
				errs <- fmt.Errorf("message %d: %v", i, err)
				return
			}
		}
	}
	wg.Add(4)
	go send(ini, i2a)
	go send(acc, a2i)
	go recv(acc, i2a)
	go recv(ini, a2i)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPackRoundTrip(t *testing.T) {
	for _, e := range allETypes {
		ini, acc := newPair(t, e, pairOpts{acceptorSubkey: true, replay: true, sequence: true})
		var toks [][]byte
		for i := range 5 {
			w, _ := ini.wrap(true, []byte{byte(i)})
			toks = append(toks, w)
		}
		for _, i := range []int{0, 2, 1} {
			if _, _, err := acc.unwrap(toks[i]); secpkg.StatusOf(err) == secpkg.StatusMessageAltered {
				t.Fatal(err)
			}
		}
		packed := acc.appendPacked(nil)
		acc2, err := parsePackedMsgState(packed, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(acc2.appendPacked(nil), packed) {
			t.Fatal("re-packing differs")
		}
		// The restored state knows what was seen.
		_, _, err = acc2.unwrap(toks[1])
		wantStatusErr(t, err, secpkg.StatusOutOfSequence)
		if _, _, err = acc2.unwrap(toks[3]); err != nil {
			t.Fatal(err)
		}
		// And the sender continues its numbering.
		ini2, err := parsePackedMsgState(ini.appendPacked(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := ini2.wrap(true, []byte("next"))
		if _, _, err := acc2.unwrap(w); !errors.Is(err, secpkg.StatusOutOfSequence) {
			t.Fatalf("token 5 after 3 should be a gap: %v", err)
		}
	}
}

func TestPackRejects(t *testing.T) {
	ini, _ := newPair(t, kcrypto.AES256CTSHMACSHA196, pairOpts{})
	good := ini.appendPacked(nil)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     mut(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":   mut(func(b []byte) []byte { b[4] = 2; return b }),
		"flags":     mut(func(b []byte) []byte { b[5] |= 0x80; return b }),
		"etype":     mut(func(b []byte) []byte { b[7] = 23; return b }),
		"keylen":    mut(func(b []byte) []byte { b[8] = 16; return b }),
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0),
	} {
		if _, err := parsePackedMsgState(b, nil); secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
			t.Errorf("%s: %v", name, err)
		}
	}
}
