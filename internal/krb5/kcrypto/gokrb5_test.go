package kcrypto

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"testing"

	gocrypto "github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
)

// Agreement with a second implementation, gokrb5 v8 (test-only
// dependency): key derivation, string-to-key, encryption and decryption in
// both directions, and checksums, for every supported encryption type,
// over random keys, usages and message lengths.

var allETypes = []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA196, AES128CTSHMACSHA256128, AES256CTSHMACSHA384192}

func gokrb5EType(t *testing.T, e EType) etype.EType {
	t.Helper()
	g, err := gocrypto.GetEtype(int32(e))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func usageBytes(usage uint32, kind byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, usage)
	return append(b, kind)
}

func TestAgreeWithGokrb5Derive(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, e := range allETypes {
		g := gokrb5EType(t, e)
		for range 20 {
			key := make([]byte, e.KeySize())
			crand.Read(key)
			usage := uint32(rng.IntN(1 << 16))
			kc, ke, ki, err := DeriveKeys(e, key, usage)
			if err != nil {
				t.Fatal(err)
			}
			for i, kind := range []byte{constKc, constKe, constKi} {
				want, err := g.DeriveKey(key, usageBytes(usage, kind))
				if err != nil {
					t.Fatal(err)
				}
				got := [][]byte{kc, ke, ki}[i]
				// gokrb5 derives Kc and Ki of the SHA-2 types at the
				// full key length; RFC 8009 takes 192 bits of them for
				// etype 20. The prefixes must agree.
				if !bytes.Equal(got, want[:len(got)]) {
					t.Fatalf("%v usage %d kind %#x: %x, gokrb5 %x", e, usage, kind, got, want)
				}
			}
		}
	}
}

func TestAgreeWithGokrb5StringToKey(t *testing.T) {
	for _, e := range allETypes {
		g := gokrb5EType(t, e)
		for _, c := range []struct{ pw, salt string }{{"password", "EXAMPLE.COMalice"}, {"", "x"}, {"ünïcødé", ""}} {
			got, err := StringToKey(e, c.pw, c.salt, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, err := g.StringToKey(c.pw, c.salt, g.GetDefaultStringToKeyParams())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%v %q/%q: %x, gokrb5 %x", e, c.pw, c.salt, got, want)
			}
		}
	}
}

func TestAgreeWithGokrb5Encryption(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, e := range allETypes {
		g := gokrb5EType(t, e)
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1024, 4097} {
			key := make([]byte, e.KeySize())
			crand.Read(key)
			usage := 1 + uint32(rng.IntN(100)) // gokrb5 derives no Ke for usage 0
			u, err := NewUsageKey(e, key, usage)
			if err != nil {
				t.Fatal(err)
			}
			msg := make([]byte, n)
			crand.Read(msg)

			ct, err := u.Encrypt(crand.Reader, nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := g.DecryptMessage(key, ct, usage)
			if err != nil {
				t.Fatalf("%v/%d: gokrb5 cannot decrypt ours: %v", e, n, err)
			}
			if !bytes.Equal(pt, msg) { // gokrb5 strips the confounder
				t.Fatalf("%v/%d: gokrb5 decrypts ours to something else", e, n)
			}

			_, theirs, err := g.EncryptMessage(key, msg, usage)
			if err != nil {
				t.Fatal(err)
			}
			got, err := u.Decrypt(nil, theirs)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%v/%d: cannot decrypt gokrb5's: %v", e, n, err)
			}
			// A flipped byte anywhere fails.
			bad := append([]byte(nil), theirs...)
			bad[rng.IntN(len(bad))] ^= 0x40
			if _, err := u.Decrypt(nil, bad); err != ErrIntegrity {
				t.Fatalf("%v/%d: altered ciphertext: %v", e, n, err)
			}

			sum := u.Checksum(nil, msg)
			want, err := g.GetChecksumHash(key, msg, usage)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sum, want[:len(sum)]) {
				t.Fatalf("%v/%d: checksum %x, gokrb5 %x", e, n, sum, want)
			}
		}
	}
}
