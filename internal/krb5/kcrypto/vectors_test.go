package kcrypto

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// vector is one line of a testdata file: a kind and its fields.
type vector struct {
	file string
	line int
	kind string
	f    []string
}

func (v vector) String() string { return v.file + ":" + strconv.Itoa(v.line) }

func (v vector) hex(t *testing.T, i int) []byte {
	t.Helper()
	if v.f[i] == "-" {
		return []byte{}
	}
	b, err := hex.DecodeString(v.f[i])
	if err != nil {
		t.Fatalf("%v: field %d: %v", v, i, err)
	}
	return b
}

func (v vector) int(t *testing.T, i int) int {
	t.Helper()
	n, err := strconv.Atoi(v.f[i])
	if err != nil {
		t.Fatalf("%v: field %d: %v", v, i, err)
	}
	return n
}

func (v vector) etype(t *testing.T, i int) EType { return EType(v.int(t, i)) }

// readVectors reads the vectors of the given kind from testdata files.
func readVectors(t *testing.T, kind string, files ...string) []vector {
	t.Helper()
	var out []vector
	for _, name := range files {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
		for n := 1; s.Scan(); n++ {
			fields := strings.Fields(s.Text())
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || fields[0] != kind {
				continue
			}
			out = append(out, vector{file: name, line: n, kind: kind, f: fields[1:]})
		}
		f.Close()
	}
	if len(out) == 0 {
		t.Fatalf("no %q vectors in %v", kind, files)
	}
	return out
}

const (
	rfc3962 = "rfc3962-appendix-b.txt"
	rfc8009 = "rfc8009-appendix-a.txt"
	krb5T   = "krb5-crypto-tests.txt"
)

func TestNFoldVectors(t *testing.T) {
	for _, v := range readVectors(t, "nfold", krb5T) {
		if got := NFold(v.hex(t, 1), v.int(t, 0)/8); !bytes.Equal(got, v.hex(t, 2)) {
			t.Errorf("%v: n-fold = %x, want %x", v, got, v.hex(t, 2))
		}
	}
}

func TestStringToKeyRFC3962(t *testing.T) {
	for _, v := range readVectors(t, "s2k", rfc3962) {
		for i, e := range []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA196} {
			got, err := StringToKey(e, string(v.hex(t, 1)), string(v.hex(t, 2)), v.int(t, 0))
			if err != nil {
				t.Fatalf("%v: %v", v, err)
			}
			if want := v.hex(t, 3+i); !bytes.Equal(got, want) {
				t.Errorf("%v %v: key %x, want %x", v, e, got, want)
			}
		}
	}
}

func TestStringToKeyRFC8009(t *testing.T) {
	for _, v := range readVectors(t, "s2k", rfc8009) {
		got, err := StringToKey(v.etype(t, 0), string(v.hex(t, 2)), string(v.hex(t, 3)), v.int(t, 1))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if want := v.hex(t, 4); !bytes.Equal(got, want) {
			t.Errorf("%v: key %x, want %x", v, got, want)
		}
	}
}

// TestCTSRFC3962 checks the CBC-CTS engine against RFC 3962 Appendix B,
// with the input whole and cut into segments at every pair of positions,
// including segments shorter than a block.
func TestCTSRFC3962(t *testing.T) {
	for _, v := range readVectors(t, "cts", rfc3962) {
		key, in, want, nextIV := v.hex(t, 0), v.hex(t, 1), v.hex(t, 2), v.hex(t, 3)
		u := rawUsageKey(t, key)
		n := len(in)
		for a := 0; a <= n; a++ {
			for b := a; b <= n; b++ {
				buf := append([]byte(nil), in...)
				segs := []Segment{{Data: buf[:a]}, {Data: []byte("sign only"), SignOnly: true}, {Data: buf[a:b]}, {Data: buf[b:]}}
				u.ctsEncrypt(segs, n)
				if !bytes.Equal(buf, want) {
					t.Fatalf("%v cut %d,%d: encrypt %x, want %x", v, a, b, buf, want)
				}
				u.ctsDecrypt(segs, n)
				if !bytes.Equal(buf, in) {
					t.Fatalf("%v cut %d,%d: decrypt %x, want %x", v, a, b, buf, in)
				}
				if string(segs[1].Data) != "sign only" {
					t.Fatalf("sign-only segment changed")
				}
			}
		}
		// The RFC's "next IV" is the cipher state after encryption: the
		// last full CBC output (Y, which the swap puts second to last).
		if tl := tailLen(n); !bytes.Equal(want[n-tl:n-tl+blockSize], nextIV) {
			t.Errorf("%v: next IV %x is not the block before the stolen tail", v, nextIV)
		}
	}
}

// rawUsageKey makes a UsageKey whose Ke is key itself, for the CTS vectors.
func rawUsageKey(t *testing.T, key []byte) *UsageKey {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	u := &UsageKey{etype: AES128CTSHMACSHA196, p: profiles[AES128CTSHMACSHA196], block: b}
	u.enc = cipher.NewCBCEncrypter(b, u.zero[:]).(cbcMode)
	u.dec = cipher.NewCBCDecrypter(b, u.zero[:]).(cbcMode)
	return u
}

func TestDeriveVectors(t *testing.T) {
	for _, v := range append(readVectors(t, "derive", rfc8009), readVectors(t, "derive", krb5T)...) {
		kc, ke, ki, err := DeriveKeys(v.etype(t, 0), v.hex(t, 1), uint32(v.int(t, 2)))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		for i, got := range [][]byte{kc, ke, ki} {
			if want := v.hex(t, 3+i); !bytes.Equal(got, want) {
				t.Errorf("%v: %s = %x, want %x", v, []string{"Kc", "Ke", "Ki"}[i], got, want)
			}
		}
		// DK with the same constants.
		c := usageConstant(uint32(v.int(t, 2)), constKe)
		if dk, err := DK(v.etype(t, 0), v.hex(t, 1), c[:]); err != nil || !bytes.Equal(dk, ke) {
			t.Errorf("%v: DK(Ke) = %x, %v", v, dk, err)
		}
	}
}

// fixedReader returns its bytes, for known confounders.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestEncryptRFC8009(t *testing.T) {
	for _, v := range readVectors(t, "encrypt", rfc8009) {
		e, key, usage := v.etype(t, 0), v.hex(t, 1), uint32(v.int(t, 2))
		pt, conf, want := v.hex(t, 3), v.hex(t, 4), v.hex(t, 5)
		u, err := NewUsageKey(e, key, usage)
		if err != nil {
			t.Fatal(err)
		}
		got, err := u.Encrypt(&fixedReader{conf}, nil, pt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v: ciphertext %x, want %x", v, got, want)
		}
		dec, err := u.Decrypt(nil, want)
		if err != nil || !bytes.Equal(dec, pt) {
			t.Errorf("%v: decrypt = %x, %v", v, dec, err)
		}
		checkSegmentedEncrypt(t, v, u, conf, pt, want)
	}
}

// checkSegmentedEncrypt encrypts pt split into several segments (with a
// sign-only segment of length zero, which must not change anything) and
// compares with the contiguous ciphertext.
func checkSegmentedEncrypt(t *testing.T, v vector, u *UsageKey, conf, pt, want []byte) {
	t.Helper()
	h := u.ChecksumSize()
	for cut := 0; cut <= len(pt); cut++ {
		c := make([]byte, ConfounderSize)
		a := append([]byte(nil), pt[:cut]...)
		b := append([]byte(nil), pt[cut:]...)
		sum := make([]byte, h)
		segs := []Segment{{Data: c}, {Data: a}, {Data: nil, SignOnly: true}, {Data: b}}
		if err := u.EncryptSegments(&fixedReader{conf}, segs, sum); err != nil {
			t.Fatal(err)
		}
		got := append(append(append(append([]byte(nil), c...), a...), b...), sum...)
		if !bytes.Equal(got, want) {
			t.Fatalf("%v cut %d: %x, want %x", v, cut, got, want)
		}
		if !u.DecryptSegments(segs, sum) {
			t.Fatalf("%v cut %d: does not verify", v, cut)
		}
		if !bytes.Equal(append(append([]byte(nil), a...), b...), pt) {
			t.Fatalf("%v cut %d: decrypts to %x", v, cut, append(a, b...))
		}
	}
}

func TestDecryptKrb5(t *testing.T) {
	for _, v := range readVectors(t, "decrypt", krb5T) {
		e, key, usage, pt, ct := v.etype(t, 0), v.hex(t, 1), uint32(v.int(t, 2)), v.hex(t, 3), v.hex(t, 4)
		u, err := NewUsageKey(e, key, usage)
		if err != nil {
			t.Fatal(err)
		}
		got, err := u.Decrypt(nil, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%v: decrypt = %x, %v; want %x", v, got, err, pt)
		}
		// Recover the confounder and encrypt again.
		buf := append([]byte(nil), ct[:len(ct)-u.ChecksumSize()]...)
		segs := []Segment{{Data: buf}}
		u.ctsDecrypt(segs, len(buf))
		again, err := u.Encrypt(&fixedReader{buf[:ConfounderSize]}, nil, pt)
		if err != nil || !bytes.Equal(again, ct) {
			t.Fatalf("%v: encrypt again = %x, %v; want %x", v, again, err, ct)
		}
		checkSegmentedEncrypt(t, v, u, buf[:ConfounderSize], pt, ct)
	}
}

func TestChecksumVectors(t *testing.T) {
	for _, v := range append(readVectors(t, "checksum", rfc8009), readVectors(t, "checksum", krb5T)...) {
		u, err := NewUsageKey(v.etype(t, 0), v.hex(t, 1), uint32(v.int(t, 2)))
		if err != nil {
			t.Fatal(err)
		}
		msg, want := v.hex(t, 3), v.hex(t, 4)
		if got := u.Checksum(nil, msg); !bytes.Equal(got, want) {
			t.Errorf("%v: checksum %x, want %x", v, got, want)
		}
		if !u.VerifyChecksum(msg, want) {
			t.Errorf("%v: does not verify", v)
		}
		for i := range want {
			bad := append([]byte(nil), want...)
			bad[i] ^= 0x01
			if u.VerifyChecksum(msg, bad) {
				t.Fatalf("%v: checksum with byte %d flipped verifies", v, i)
			}
		}
		if u.VerifyChecksum(msg, want[:len(want)-1]) {
			t.Fatalf("%v: truncated checksum verifies", v)
		}
	}
}

func TestPRFVectors(t *testing.T) {
	for _, v := range append(readVectors(t, "prf", rfc8009), readVectors(t, "prf", krb5T)...) {
		got, err := PRF(v.etype(t, 0), v.hex(t, 1), v.hex(t, 2))
		if err != nil || !bytes.Equal(got, v.hex(t, 3)) {
			t.Errorf("%v: PRF = %x, %v; want %x", v, got, err, v.hex(t, 3))
		}
	}
}

func TestCF2Vectors(t *testing.T) {
	for _, v := range readVectors(t, "cf2", krb5T) {
		e := v.etype(t, 0)
		p1, p2 := string(v.hex(t, 1)), string(v.hex(t, 2))
		k1, err := StringToKey(e, p1, p1, 0)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := StringToKey(e, p2, p2, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CF2(e, k1, string(v.hex(t, 3)), k2, string(v.hex(t, 4)))
		if err != nil || !bytes.Equal(got, v.hex(t, 5)) {
			t.Errorf("%v: CF2 = %x, %v; want %x", v, got, err, v.hex(t, 5))
		}
	}
}
