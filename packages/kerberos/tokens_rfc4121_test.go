package kerberos

import (
	"bufio"
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opensspi/sspi/internal/gssframe"
	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// The t_invalid.c catalogue of krb5 (src/tests/gssapi/t_invalid.c, krb5
// 473b51b6) against our tokens, each with the exact status of the table in
// tokens_rfc4121.go.

// tinvalid holds testdata/t_invalid-cfx.txt.
type tinvalid struct {
	key, message, mic, wrapIntegrity, wrapSealed []byte
}

func readTInvalid(t testing.TB) tinvalid {
	t.Helper()
	v, err := loadTInvalid()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadTInvalid() (tinvalid, error) {
	f, err := os.Open("testdata/t_invalid-cfx.txt")
	if err != nil {
		return tinvalid{}, err
	}
	defer f.Close()
	v := map[string][]byte{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		b, err := hex.DecodeString(strings.Join(fields[1:], ""))
		if err != nil {
			return tinvalid{}, err
		}
		v[fields[0]] = b
	}
	return tinvalid{v["key"], v["message"], v["mic"], v["wrap-integrity"], v["wrap-sealed"]}, s.Err()
}

// tinvalidContexts returns the acceptor of t_invalid.c's fake CFX context
// (aes128-cts-hmac-sha1-96, no acceptor subkey, sequence checking off) and
// a matching initiator, and the initiator's sealing key for crafting
// tokens.
func tinvalidContexts(t *testing.T, key []byte) (acc, ini *msgState, seal, sign *kcrypto.UsageKey) {
	t.Helper()
	var err error
	c := msgConfig{EType: kcrypto.AES128CTSHMACSHA196, Key: key}
	if acc, err = newMsgState(c); err != nil {
		t.Fatal(err)
	}
	c.Initiator = true
	if ini, err = newMsgState(c); err != nil {
		t.Fatal(err)
	}
	seal, _ = kcrypto.NewUsageKey(c.EType, key, kcrypto.UsageInitiatorSeal)
	sign, _ = kcrypto.NewUsageKey(c.EType, key, kcrypto.UsageInitiatorSign)
	return acc, ini, seal, sign
}

func TestTInvalidKnownTokens(t *testing.T) {
	v := readTInvalid(t)
	acc, ini, _, _ := tinvalidContexts(t, v.key)
	if err := acc.verifyMIC(v.message, v.mic); err != nil {
		t.Fatalf("MIT's MIC token: %v", err)
	}
	for _, c := range []struct {
		tok    []byte
		sealed bool
	}{{v.wrapIntegrity, false}, {v.wrapSealed, true}} {
		plain, sealed, err := acc.unwrap(c.tok)
		if err != nil || sealed != c.sealed || !bytes.Equal(plain, v.message) {
			t.Fatalf("MIT's wrap token (sealed %v): %q %v", c.sealed, plain, err)
		}
	}
	// Our initiator makes the same bytes where nothing is random.
	if mic, _ := ini.getMIC(v.message); !bytes.Equal(mic, v.mic) {
		t.Fatalf("our MIC %x, MIT's %x", mic, v.mic)
	}
	ini.send.seq = 0
	if w, _ := ini.wrap(false, v.message); !bytes.Equal(w, v.wrapIntegrity) {
		t.Fatalf("our integrity-only wrap %x, MIT's %x", w, v.wrapIntegrity)
	}
}

// expectMIC is the status a mutated MIC token must get (table in
// tokens_rfc4121.go); orig is the valid token.
func expectMIC(orig, mut []byte, recvFlags byte) secpkg.Status {
	if bytes.Equal(orig, mut) {
		return secpkg.StatusOK
	}
	switch {
	case !bytes.Equal(mut[0:2], orig[0:2]):
		return secpkg.StatusInvalidToken
	case !bytes.Equal(mut[3:8], orig[3:8]):
		return secpkg.StatusInvalidToken
	case mut[2]&cfxFlagSealed != 0:
		return secpkg.StatusInvalidToken
	}
	return secpkg.StatusMessageAltered // flags (direction, subkey, reserved), SND_SEQ, checksum
}

// expectWrap is the status a mutated whole Wrap token must get.
func expectWrap(orig, mut []byte, recvFlags byte, h int) secpkg.Status {
	if bytes.Equal(orig, mut) {
		return secpkg.StatusOK
	}
	var o, m cfxHeader
	copy(o[:], orig)
	copy(m[:], mut)
	L := len(mut) - 16
	switch {
	case m.tokID() != o.tokID(), m[3] != o[3]:
		return secpkg.StatusInvalidToken
	case m.flags()&(cfxFlagSentByAcceptor|cfxFlagAcceptorSubkey) != recvFlags:
		return secpkg.StatusMessageAltered
	}
	if m.flags()&cfxFlagSealed == 0 {
		if m.ec() != h {
			return secpkg.StatusInvalidToken
		}
	} else if L < 16+m.ec()+16+h {
		return secpkg.StatusInvalidToken
	}
	if m.flags() == o.flags() && m.ec() == o.ec() && m.seq() == o.seq() &&
		m.rrc()%L == o.rrc()%L && bytes.Equal(mut[16:], orig[16:]) {
		return secpkg.StatusOK // the same token, its RRC written differently
	}
	return secpkg.StatusMessageAltered
}

var mutations = []func(byte) byte{
	func(b byte) byte { return b + 1 }, // t_invalid.c's p[i]++
	func(b byte) byte { return b ^ 0x80 },
	func(b byte) byte { return b ^ 0xff },
}

// TestFlipEveryByteTInvalid mutates every byte of MIT's MIC and Wrap tokens
// (and every byte of the MIC's message) three ways; whole tokens go in a
// single DATA buffer, which must be unchanged after each failure.
func TestFlipEveryByteTInvalid(t *testing.T) {
	v := readTInvalid(t)
	acc, _, _, _ := tinvalidContexts(t, v.key)
	for i := range v.mic {
		for k, f := range mutations {
			mut := append([]byte(nil), v.mic...)
			mut[i] = f(mut[i])
			want := expectMIC(v.mic, mut, acc.recv.flags)
			got := secpkg.StatusOf(acc.verifyMIC(v.message, mut))
			if got != want {
				t.Fatalf("MIC byte %d mutation %d: %v, want %v", i, k, got, want)
			}
		}
	}
	for i := range v.message {
		msg := append([]byte(nil), v.message...)
		msg[i]++
		wantStatusErr(t, acc.verifyMIC(msg, v.mic), secpkg.StatusMessageAltered)
	}
	for _, orig := range [][]byte{v.wrapIntegrity, v.wrapSealed} {
		checkWrapFlips(t, acc, orig, v.message)
	}
}

func checkWrapFlips(t *testing.T, acc *msgState, orig, plain []byte) {
	t.Helper()
	for i := range orig {
		for k, f := range mutations {
			mut := append([]byte(nil), orig...)
			mut[i] = f(mut[i])
			want := expectWrap(orig, mut, acc.recv.flags, acc.h)
			b := []secpkg.Buffer{{Type: secpkg.BufferData, Data: append([]byte(nil), mut...)}}
			_, err := acc.unsealMessage(b)
			if got := secpkg.StatusOf(err); got != want {
				t.Fatalf("wrap byte %d mutation %d (%x): %v, want %v (%v)", i, k, mut[:16], got, want, err)
			}
			if want != secpkg.StatusOK && !bytes.Equal(b[0].Data, mut) {
				t.Fatalf("wrap byte %d mutation %d: failed unseal changed the buffer", i, k)
			}
			if want == secpkg.StatusOK && !bytes.Equal(b[0].Data, plain) {
				t.Fatalf("wrap byte %d mutation %d: unsealed to %x", i, k, b[0].Data)
			}
		}
	}
}

// TestFlipEveryByteOurs does the same for our own tokens of every
// encryption type: whole tokens (wrap, RRC 0, and SealMessage's bytes
// concatenated, RRC 16+h) and the [TOKEN, DATA] layout, where the trailer
// must match the split exactly.
func TestFlipEveryByteOurs(t *testing.T) {
	for _, e := range allETypes {
		for _, sub := range []bool{false, true} {
			ini, acc := newPair(t, e, pairOpts{acceptorSubkey: sub})
			msg := payload(21)
			for _, sealed := range []bool{true, false} {
				w, _ := ini.wrap(sealed, msg)
				checkWrapFlips(t, acc, w, msg)
				qop := uint32(0)
				if !sealed {
					qop = secpkg.QOPWrapNoEncrypt
				}
				tok, data := sspiSeal(t, ini, qop, msg)
				checkWrapFlips(t, acc, append(append([]byte(nil), tok...), data...), msg)
				checkSplitFlips(t, acc, tok, data, msg)
			}
			mic, _ := ini.getMIC(msg)
			for i := range mic {
				for k, f := range mutations {
					mut := append([]byte(nil), mic...)
					mut[i] = f(mut[i])
					want := expectMIC(mic, mut, acc.recv.flags)
					if got := secpkg.StatusOf(acc.verifyMIC(msg, mut)); got != want {
						t.Fatalf("%v MIC byte %d mutation %d: %v, want %v", e, i, k, got, want)
					}
				}
			}
		}
	}
}

// checkSplitFlips mutates every byte of a [TOKEN, DATA] pair. In this
// layout EC and RRC must describe the split exactly, so changing them is
// SEC_E_INVALID_TOKEN; so is clearing Sealed (EC 0 is not the checksum
// length), or setting it on an integrity-only trailer (too short).
func checkSplitFlips(t *testing.T, acc *msgState, tok, data, plain []byte) {
	t.Helper()
	sealed := tok[2]&cfxFlagSealed != 0
	for i := range len(tok) + len(data) {
		for k, f := range mutations {
			b := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: append([]byte(nil), tok...)}, {Type: secpkg.BufferData, Data: append([]byte(nil), data...)}}
			var want secpkg.Status
			if i < len(tok) {
				b[0].Data[i] = f(b[0].Data[i])
				var m cfxHeader
				copy(m[:], b[0].Data)
				switch {
				case i < 2 || i == 3:
					want = secpkg.StatusInvalidToken
				case i == 2 && m.flags()&(cfxFlagSentByAcceptor|cfxFlagAcceptorSubkey) != acc.recv.flags:
					want = secpkg.StatusMessageAltered
				case i == 2 && (m.flags()&cfxFlagSealed != 0) != sealed:
					want = secpkg.StatusInvalidToken
				case i >= 4 && i < 8:
					want = secpkg.StatusInvalidToken
				default:
					want = secpkg.StatusMessageAltered
				}
			} else {
				j := i - len(tok)
				b[1].Data[j] = f(b[1].Data[j])
				want = secpkg.StatusMessageAltered
			}
			before := cloneBuffers(b)
			_, err := acc.unsealMessage(b)
			if got := secpkg.StatusOf(err); got != want {
				t.Fatalf("split byte %d mutation %d: %v, want %v (%v)", i, k, got, want, err)
			}
			if !sameBuffers(b, before) {
				t.Fatalf("split byte %d mutation %d: failed unseal changed the buffers", i, k)
			}
		}
	}
	b := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: tok}, {Type: secpkg.BufferData, Data: data}}
	if _, err := acc.unsealMessage(b); err != nil || !bytes.Equal(b[1].Data, plain) {
		t.Fatalf("the unmutated pair: %v", err)
	}
}

// frame wraps a token body in the GSS framing with the krb5 OID, as
// t_invalid.c's make_token does.
func frame(body []byte) []byte { return gssframe.Marshal(gssframe.Kerberos, body) }

// TestTInvalidCatalogue: the numbered cases of t_invalid.c, plus the rest
// of the token attacks on an acceptor (reflection, truncation, lengths).
func TestTInvalidCatalogue(t *testing.T) {
	v := readTInvalid(t)
	acc, _, seal, sign := tinvalidContexts(t, v.key)
	unwrapStatus := func(tok []byte) secpkg.Status {
		t.Helper()
		b := []secpkg.Buffer{{Type: secpkg.BufferData, Data: append([]byte(nil), tok...)}}
		_, err := acc.unsealMessage(b)
		if err != nil && !bytes.Equal(b[0].Data, tok) {
			t.Fatal("failed unseal changed the buffer")
		}
		return secpkg.StatusOf(err)
	}
	check := func(name string, got, want secpkg.Status) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}

	// 1. An RFC 1964 token (SEAL_ALG_NONE) on a CFX-only context.
	var v1 [24]byte
	binary.BigEndian.PutUint16(v1[0:], rfc1964TokMIC)
	binary.LittleEndian.PutUint16(v1[2:], 0x0011) // SGN_ALG_HMAC_MD5
	binary.LittleEndian.PutUint16(v1[4:], 0xffff) // SEAL_ALG_NONE
	binary.LittleEndian.PutUint16(v1[6:], 0xffff)
	check("1: RFC 1964 token, unwrap", unwrapStatus(frame(v1[:])), secpkg.StatusInvalidToken)
	check("1: RFC 1964 token, verify", secpkg.StatusOf(acc.verifyMIC(nil, frame(v1[:]))), secpkg.StatusInvalidToken)
	check("1: RFC 1964 token unframed", unwrapStatus(v1[:]), secpkg.StatusInvalidToken)
	_, err := acc.unsealMessage([]secpkg.Buffer{{Type: secpkg.BufferToken, Data: frame(v1[:])}, {Type: secpkg.BufferData, Data: []byte{1}}})
	check("1: RFC 1964 token in a TOKEN buffer", secpkg.StatusOf(err), secpkg.StatusInvalidToken)

	// 2. EC 3 in the header, EC 0 in the encrypted copy: the truncation
	// of CVE-2024-37370. Authentic under the key, so it is the copy
	// that disagrees: SEC_E_MESSAGE_ALTERED.
	hdr := wrapHeader(cfxFlagSealed, 3, 0, 0)
	inner := wrapHeader(cfxFlagSealed, 0, 0, 0)
	ct, _ := seal.Encrypt(crand.Reader, nil, append([]byte("truncate"), inner[:]...))
	check("2: altered EC", unwrapStatus(append(hdr[:], ct...)), secpkg.StatusMessageAltered)

	// 3. A sealed token whose plaintext (one byte) cannot hold the
	// 16-byte header copy.
	hdr = wrapHeader(cfxFlagSealed, 0, 0, 0)
	ct, _ = seal.Encrypt(crand.Reader, nil, []byte{0})
	check("3: plaintext shorter than 16 bytes", unwrapStatus(append(hdr[:], ct...)), secpkg.StatusInvalidToken)

	// 4. EC 5 with four bytes of plaintext before the header copy.
	hdr = wrapHeader(cfxFlagSealed, 5, 0, 0)
	ct, _ = seal.Encrypt(crand.Reader, nil, append([]byte("abcd"), hdr[:]...))
	check("4: EC larger than the plaintext", unwrapStatus(append(hdr[:], ct...)), secpkg.StatusInvalidToken)

	// 5. An ASN.1 wrapper with a dangling eight-byte length in the TOKEN
	// buffer, the DATA buffer long enough to hold it.
	_, err = acc.unsealMessage([]secpkg.Buffer{{Type: secpkg.BufferToken, Data: []byte{0x60, 0x88}}, {Type: secpkg.BufferData, Data: make([]byte, 10)}})
	check("5: ASN.1 wrapper longer than the header buffer", secpkg.StatusOf(err), secpkg.StatusInvalidToken)

	// 6. Short headers, framed (RFC 1964 style) and not, 0 to 24 bytes.
	for _, id := range []uint16{rfc1964TokWrap, rfc1964TokMIC, cfxTokWrap, cfxTokMIC} {
		full := append(binary.BigEndian.AppendUint16(nil, id), bytes.Repeat([]byte{0xff}, 30)...)
		for n := 2; n <= 24; n++ {
			check(fmt.Sprintf("6: framed %04x, %d bytes", id, n), unwrapStatus(frame(full[:n])), secpkg.StatusInvalidToken)
			check(fmt.Sprintf("6: framed %04x, %d bytes, MIC", id, n), secpkg.StatusOf(acc.verifyMIC(nil, frame(full[:n]))), secpkg.StatusInvalidToken)
		}
	}
	for n := range 16 {
		check(fmt.Sprintf("6: %d bytes of a sealed token", n), unwrapStatus(v.wrapSealed[:n]), secpkg.StatusInvalidToken)
		check(fmt.Sprintf("6: %d bytes of a MIC token", n), secpkg.StatusOf(acc.verifyMIC(v.message, v.mic[:n])), secpkg.StatusInvalidToken)
	}
	check("6: MIC with a short checksum", secpkg.StatusOf(acc.verifyMIC(v.message, v.mic[:27])), secpkg.StatusInvalidToken)
	check("6: MIC with a long checksum", secpkg.StatusOf(acc.verifyMIC(v.message, append(append([]byte(nil), v.mic...), 0))), secpkg.StatusInvalidToken)
	check("6: integrity-only wrap shorter than its checksum", unwrapStatus(v.wrapIntegrity[:16+11]), secpkg.StatusInvalidToken)

	// 9. Truncated encapsulations as per-message tokens.
	for _, s := range []string{"\x60", "\x60\x84", "\x60\x40\x06", "\x60\x40\x06\x09"} {
		check(fmt.Sprintf("9: %x", s), unwrapStatus([]byte(s)), secpkg.StatusInvalidToken)
	}
	// A CFX token inside framing is refused too.
	check("framed CFX token", unwrapStatus(frame(v.wrapSealed)), secpkg.StatusInvalidToken)

	// The Sealed flag on a MIC token, with a checksum that verifies.
	mh := micHeader(cfxFlagSealed, 0)
	sealedMIC := sign.Checksum(append([]byte(nil), mh[:]...), append(append([]byte(nil), v.message...), mh[:]...))
	check("Sealed flag on a MIC token", secpkg.StatusOf(acc.verifyMIC(v.message, sealedMIC)), secpkg.StatusInvalidToken)

	// Filler other than FF, with checksums that verify.
	for i := 3; i < 8; i++ {
		mh := micHeader(0, 0)
		mh[i] = 0
		mic := sign.Checksum(append([]byte(nil), mh[:]...), append(append([]byte(nil), v.message...), mh[:]...))
		check(fmt.Sprintf("MIC filler byte %d", i), secpkg.StatusOf(acc.verifyMIC(v.message, mic)), secpkg.StatusInvalidToken)
	}
	wh := wrapHeader(cfxFlagSealed, 0, 0, 0)
	wh[3] = 0xfe
	ct, _ = seal.Encrypt(crand.Reader, nil, append([]byte("message"), wh[:]...))
	check("Wrap filler", unwrapStatus(append(wh[:], ct...)), secpkg.StatusInvalidToken)

	// A MIC token given to UnsealMessage and a Wrap token to
	// VerifySignature.
	check("MIC to unseal", unwrapStatus(v.mic), secpkg.StatusInvalidToken)
	check("Wrap to verify", secpkg.StatusOf(acc.verifyMIC(v.message, v.wrapIntegrity)), secpkg.StatusInvalidToken)
	check("unknown TOK_ID", unwrapStatus(append([]byte{0x06, 0x04}, v.wrapSealed[2:]...)), secpkg.StatusInvalidToken)

	// No padding oracle: a bad header copy with a bad checksum, and a bad
	// header copy with a good one, get the same status.
	wh = wrapHeader(cfxFlagSealed, 0, 0, 0)
	bad := wrapHeader(cfxFlagSealed, 0, 0, 99)
	ct, _ = seal.Encrypt(crand.Reader, nil, append([]byte("message"), bad[:]...))
	good := append(wh[:], ct...)
	broken := append([]byte(nil), good...)
	broken[len(broken)-1] ^= 1
	check("bad header copy, good checksum", unwrapStatus(good), secpkg.StatusMessageAltered)
	check("bad header copy, bad checksum", unwrapStatus(broken), secpkg.StatusMessageAltered)
}

// TestAgreeWithGokrb5Tokens checks MIC tokens and integrity-only Wrap
// tokens (the kinds gokrb5 v8 implements) against gokrb5, both ways.
func TestAgreeWithGokrb5Tokens(t *testing.T) {
	for _, e := range allETypes {
		ini, acc := newPair(t, e, pairOpts{})
		checkGokrb5MIC(t, e, ini, acc)
	}
}
