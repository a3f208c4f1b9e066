package kcrypto

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecryptSegments feeds arbitrary ciphertexts, cut at an arbitrary
// point, to every encryption type: no panic, no verification of anything
// but a genuine ciphertext, and a failed decryption leaves the input
// unchanged. The seeds (testdata/fuzz/FuzzDecryptSegments and below) are
// genuine ciphertexts of the key the target uses, so that the fuzzer
// starts from inputs that verify.
func FuzzDecryptSegments(f *testing.F) {
	for _, e := range allETypes {
		u, _ := NewUsageKey(e, make([]byte, e.KeySize()), UsageAcceptorSeal)
		for _, n := range []int{0, 1, 16, 33} {
			ct, _ := u.Encrypt(&fixedReader{make([]byte, ConfounderSize)}, nil, bytes.Repeat([]byte{'m'}, n))
			f.Add(int32(e), ct, uint8(n/2))
		}
	}
	keys := map[EType]*UsageKey{}
	for _, e := range allETypes {
		keys[e], _ = NewUsageKey(e, make([]byte, e.KeySize()), UsageAcceptorSeal)
	}
	f.Fuzz(func(t *testing.T, et int32, ct []byte, cut uint8) {
		u := keys[EType(et)]
		if u == nil {
			return
		}
		h := u.ChecksumSize()
		if len(ct) < h {
			return
		}
		body := append([]byte(nil), ct[:len(ct)-h]...)
		c := min(int(cut), len(body))
		segs := []Segment{{Data: body[:c]}, {Data: body[c:]}}
		ok := u.DecryptSegments(segs, ct[len(ct)-h:])
		if !ok {
			if !bytes.Equal(body, ct[:len(ct)-h]) {
				t.Fatal("failed decryption changed the input")
			}
			return
		}
		again, err := u.Encrypt(&fixedReader{append([]byte(nil), body[:ConfounderSize]...)}, nil, body[ConfounderSize:])
		if err != nil || !bytes.Equal(again, ct) {
			t.Fatal("a verified ciphertext does not re-encrypt to itself")
		}
	})
}

// TestWriteFuzzSeeds rewrites testdata/fuzz/FuzzDecryptSegments when
// KCRYPTO_WRITE_SEEDS=1: genuine ciphertexts under the all-zero key with a
// zero confounder, described in testdata/fuzz/README.md.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KCRYPTO_WRITE_SEEDS") != "1" {
		t.Skip("set KCRYPTO_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecryptSegments")
	for _, e := range allETypes {
		u, _ := NewUsageKey(e, make([]byte, e.KeySize()), UsageAcceptorSeal)
		ct, _ := u.Encrypt(&fixedReader{make([]byte, ConfounderSize)}, nil, []byte("seventeen bytes!!"))
		body := fmt.Sprintf("go test fuzz v1\nint32(%d)\n[]byte(%q)\nbyte(%q)\n", int32(e), ct, byte(20))
		if err := os.WriteFile(filepath.Join(dir, e.String()+"-17-bytes-cut-20"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
