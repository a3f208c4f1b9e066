package kerberos

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// Fuzz targets for the per-message token parsers. Each target's context is
// an acceptor with a fixed key per encryption type (etype 17 uses the key
// of krb5's t_invalid.c, so MIT's tokens are valid seeds), no acceptor
// subkey and no sequence checking. Seeds: testdata/fuzz/<target> (see
// testdata/fuzz/README.md; KERBEROS_WRITE_SEEDS=1 go test -run
// WriteFuzzSeeds rewrites them) and the f.Add calls.

var tinvalidKey, _ = hex.DecodeString("31323334353637383837363534333231")

func fuzzKey(e kcrypto.EType) []byte {
	if e == kcrypto.AES128CTSHMACSHA196 {
		return tinvalidKey
	}
	k := make([]byte, e.KeySize())
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// fuzzContexts returns an acceptor and an initiator for etype byte et, or
// nil for an unsupported one. The initiator's confounders are zero, so its
// tokens are reproducible seeds.
func fuzzContexts(et byte) (acc, ini *msgState) {
	e := kcrypto.EType(et)
	if !e.Supported() {
		return nil, nil
	}
	c := msgConfig{EType: e, Key: fuzzKey(e), Rand: zeroReader{}}
	acc, _ = newMsgState(c)
	c.Initiator = true
	ini, _ = newMsgState(c)
	return acc, ini
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// failed reports whether err is a rejection (anything but success or an
// out-of-sequence authentic token).
func failed(err error) bool {
	s := secpkg.StatusOf(err)
	return s != secpkg.StatusOK && s != secpkg.StatusOutOfSequence
}

// FuzzUnwrap feeds a whole Wrap token to UnsealMessage in a single DATA
// buffer: no panic, a rejection leaves the buffer unchanged with one of
// the statuses of tokens_rfc4121.go, and an accepted integrity-only token
// is exactly what our initiator makes for that plaintext and SND_SEQ, up
// to the RRC rotation.
func FuzzUnwrap(f *testing.F) {
	v := readTInvalid(f)
	f.Add(byte(17), v.wrapSealed)
	f.Add(byte(17), v.wrapIntegrity)
	for _, e := range allETypes {
		_, ini := fuzzContexts(byte(e))
		w, _ := ini.wrap(true, []byte("seed"))
		f.Add(byte(e), w)
	}
	f.Fuzz(func(t *testing.T, et byte, tok []byte) {
		acc, ini := fuzzContexts(et)
		if acc == nil {
			return
		}
		b := []secpkg.Buffer{{Type: secpkg.BufferData, Data: append([]byte(nil), tok...)}}
		qop, err := acc.unsealMessage(b)
		if failed(err) {
			checkRejection(t, err)
			if !bytes.Equal(b[0].Data, tok) {
				t.Fatal("rejected token changed the buffer")
			}
			return
		}
		if qop == secpkg.QOPWrapNoEncrypt {
			var h cfxHeader
			copy(h[:], tok)
			ini.send.seq = h.seq()
			again, _ := ini.wrap(false, b[0].Data)
			body := append([]byte(nil), tok[16:]...)
			rotateLeft(body, h.rrc()%len(body))
			if !bytes.Equal(again[16:], body) || !bytes.Equal(again[:6], tok[:6]) || !bytes.Equal(again[8:16], tok[8:16]) {
				t.Fatalf("accepted token %x is not ours %x", tok, again)
			}
		}
	})
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	switch secpkg.StatusOf(err) {
	case secpkg.StatusInvalidToken, secpkg.StatusMessageAltered:
	default:
		t.Fatalf("unexpected status: %v", err)
	}
}

// FuzzVerifyMIC: no panic, a statuses of the table, and an accepted MIC
// token is exactly the one our initiator makes for that message and
// SND_SEQ (no malleability).
func FuzzVerifyMIC(f *testing.F) {
	v := readTInvalid(f)
	f.Add(byte(17), v.message, v.mic)
	for _, e := range allETypes {
		_, ini := fuzzContexts(byte(e))
		mic, _ := ini.getMIC([]byte("seed"))
		f.Add(byte(e), []byte("seed"), mic)
	}
	f.Fuzz(func(t *testing.T, et byte, msg, mic []byte) {
		acc, ini := fuzzContexts(et)
		if acc == nil {
			return
		}
		err := acc.verifyMIC(msg, mic)
		if failed(err) {
			checkRejection(t, err)
			return
		}
		var h cfxHeader
		copy(h[:], mic)
		ini.send.seq = h.seq()
		if again, _ := ini.getMIC(msg); !bytes.Equal(again, mic) {
			t.Fatalf("accepted MIC %x is not ours %x", mic, again)
		}
	})
}

// FuzzUnsealSplit feeds a [TOKEN, DATA] pair: no panic, and a rejection
// leaves both buffers unchanged.
func FuzzUnsealSplit(f *testing.F) {
	for _, e := range allETypes {
		_, ini := fuzzContexts(byte(e))
		for _, qop := range []uint32{0, secpkg.QOPWrapNoEncrypt} {
			tok, data := sspiSeal(f, ini, qop, []byte("seed data"))
			f.Add(byte(e), tok, data)
		}
	}
	f.Fuzz(func(t *testing.T, et byte, tok, data []byte) {
		acc, _ := fuzzContexts(et)
		if acc == nil || len(tok) == 0 {
			return
		}
		b := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: append([]byte(nil), tok...)}, {Type: secpkg.BufferData, Data: append([]byte(nil), data...)}}
		_, err := acc.unsealMessage(b)
		if failed(err) {
			checkRejection(t, err)
			if !bytes.Equal(b[0].Data, tok) || !bytes.Equal(b[1].Data, data) {
				t.Fatal("rejected token changed the buffers")
			}
		}
	})
}

// FuzzPackedMsgState: no panic, and what parses re-packs to the input.
func FuzzPackedMsgState(f *testing.F) {
	for _, e := range allETypes {
		_, ini := fuzzContexts(byte(e))
		f.Add(ini.appendPacked(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parsePackedMsgState(b, nil)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
				t.Fatalf("status %v", err)
			}
			return
		}
		if again := m.appendPacked(nil); !bytes.Equal(again, b) {
			t.Fatalf("re-pack %x differs from %x", again, b)
		}
	})
}

// TestWriteFuzzSeeds rewrites testdata/fuzz when KERBEROS_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KERBEROS_WRITE_SEEDS") != "1" {
		t.Skip("set KERBEROS_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	v := readTInvalid(t)
	write := func(target, name string, values ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, x := range values {
			switch x := x.(type) {
			case byte:
				s += fmt.Sprintf("byte(%q)\n", x)
			case []byte:
				s += fmt.Sprintf("[]byte(%q)\n", x)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzUnwrap", "mit-t_invalid-sealed", byte(17), v.wrapSealed)
	write("FuzzUnwrap", "mit-t_invalid-integrity", byte(17), v.wrapIntegrity)
	write("FuzzVerifyMIC", "mit-t_invalid-mic", byte(17), v.message, v.mic)
	write("FuzzUnwrap", "rfc1964-token-framed", byte(17), frame([]byte("\x01\x01\x11\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")))
	write("FuzzUnwrap", "t_invalid-5-dangling-length", byte(17), []byte("\x60\x88"))
	for _, e := range allETypes {
		_, ini := fuzzContexts(byte(e))
		w, _ := ini.wrap(true, []byte("seed"))
		write("FuzzUnwrap", e.String()+"-sealed-rrc0", byte(e), w)
		tok, data := sspiSeal(t, ini, 0, []byte("seed data"))
		write("FuzzUnwrap", e.String()+"-sealed-windows-layout", byte(e), append(append([]byte(nil), tok...), data...))
		write("FuzzUnsealSplit", e.String()+"-sealed", byte(e), tok, data)
		tok, data = sspiSeal(t, ini, secpkg.QOPWrapNoEncrypt, []byte("seed data"))
		write("FuzzUnsealSplit", e.String()+"-integrity", byte(e), tok, data)
		mic, _ := ini.getMIC([]byte("seed"))
		write("FuzzVerifyMIC", e.String(), byte(e), []byte("seed"), mic)
		write("FuzzPackedMsgState", e.String()+"-initiator", ini.appendPacked(nil))
	}
}
