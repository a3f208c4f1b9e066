package kcrypto

import (
	"bytes"
	"crypto/hmac"
	crand "crypto/rand"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto/etype"
)

// randomSegments cuts the n-byte stream into random pieces (some empty,
// some shorter than a block) after the confounder and interleaves
// sign-only segments.
func randomSegments(rng *mrand.Rand, stream []byte) []Segment {
	segs := []Segment{{Data: stream[:ConfounderSize]}}
	rest := stream[ConfounderSize:]
	for len(rest) > 0 || rng.IntN(3) == 0 {
		if rng.IntN(4) == 0 {
			ad := make([]byte, rng.IntN(40))
			crand.Read(ad)
			segs = append(segs, Segment{Data: ad, SignOnly: true})
		}
		if len(rest) == 0 {
			break
		}
		k := rng.IntN(min(len(rest), 70) + 1)
		segs = append(segs, Segment{Data: rest[:k:k]})
		rest = rest[k:]
	}
	return segs
}

func cloneSegments(segs []Segment) []Segment {
	out := make([]Segment, len(segs))
	for i, s := range segs {
		out[i] = Segment{Data: append([]byte(nil), s.Data...), SignOnly: s.SignOnly}
	}
	return out
}

func sameSegments(a, b []Segment) bool {
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// reference computes the ciphertext stream and checksum of segs the slow
// way: gokrb5's CTS over the concatenated encrypted bytes, and the
// standard library's HMAC over the message in order.
func reference(t *testing.T, e EType, g etype.EType, key []byte, usage uint32, segs []Segment) (ct, sum []byte) {
	t.Helper()
	_, ke, ki, err := DeriveKeys(e, key, usage)
	if err != nil {
		t.Fatal(err)
	}
	var pt []byte
	for _, s := range segs {
		if !s.SignOnly {
			pt = append(pt, s.Data...)
		}
	}
	_, ct, err = g.EncryptData(ke, pt)
	if err != nil {
		t.Fatal(err)
	}
	p := profiles[e]
	mac := hmac.New(p.newHash, ki)
	if p.etm {
		mac.Write(make([]byte, blockSize))
	}
	k := 0
	for _, s := range segs {
		switch {
		case s.SignOnly:
			mac.Write(s.Data)
		case p.etm:
			mac.Write(ct[k : k+len(s.Data)])
		default:
			mac.Write(s.Data)
		}
		if !s.SignOnly {
			k += len(s.Data)
		}
	}
	return ct, mac.Sum(nil)[:p.hashSize]
}

func TestSegmentsAgainstReference(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, e := range allETypes {
		g := gokrb5EType(t, e)
		key := make([]byte, e.KeySize())
		crand.Read(key)
		u, err := NewUsageKey(e, key, UsageInitiatorSeal)
		if err != nil {
			t.Fatal(err)
		}
		for iter := range 300 {
			n := rng.IntN(200)
			stream := make([]byte, ConfounderSize+n)
			crand.Read(stream)
			segs := randomSegments(rng, stream)
			conf := make([]byte, ConfounderSize)
			crand.Read(conf)
			copy(segs[0].Data, conf)
			plain := cloneSegments(segs)
			wantCT, wantSum := reference(t, e, g, key, UsageInitiatorSeal, plain)

			sum := make([]byte, u.ChecksumSize())
			if err := u.EncryptSegments(&fixedReader{conf}, segs, sum); err != nil {
				t.Fatal(err)
			}
			var gotCT []byte
			for _, s := range segs {
				if !s.SignOnly {
					gotCT = append(gotCT, s.Data...)
				}
			}
			if !bytes.Equal(gotCT, wantCT) || !bytes.Equal(sum, wantSum) {
				t.Fatalf("%v iter %d: segmented encryption differs from the reference", e, iter)
			}
			cipherSegs := cloneSegments(segs)

			// Altering any byte, or the checksum, fails and leaves every
			// segment as it was.
			victim := rng.IntN(len(segs) + 1)
			bad := cloneSegments(segs)
			badSum := append([]byte(nil), sum...)
			if victim == len(segs) || len(bad[victim].Data) == 0 {
				badSum[rng.IntN(len(badSum))] ^= 1 << rng.IntN(8)
			} else {
				bad[victim].Data[rng.IntN(len(bad[victim].Data))] ^= 1 << rng.IntN(8)
			}
			before := cloneSegments(bad)
			if u.DecryptSegments(bad, badSum) {
				t.Fatalf("%v iter %d: altered message verifies", e, iter)
			}
			if !sameSegments(bad, before) {
				t.Fatalf("%v iter %d: failed decryption left the buffers changed", e, iter)
			}

			if !u.DecryptSegments(segs, sum) {
				t.Fatalf("%v iter %d: does not verify", e, iter)
			}
			if !sameSegments(segs, plain) {
				t.Fatalf("%v iter %d: does not decrypt to the plaintext", e, iter)
			}
			u.RestoreSegments(segs)
			if !sameSegments(segs, cipherSegs) {
				t.Fatalf("%v iter %d: RestoreSegments does not give back the ciphertext", e, iter)
			}
		}
	}
}

func TestChecksumSegments(t *testing.T) {
	for _, e := range allETypes {
		key := make([]byte, e.KeySize())
		crand.Read(key)
		u, _ := NewUsageKey(e, key, UsageAcceptorSign)
		msg := []byte("a message in three pieces")
		want := u.Checksum(nil, msg)
		segs := []Segment{{Data: msg[:3]}, {Data: msg[3:10], SignOnly: true}, {Data: msg[10:]}}
		got := make([]byte, e.ChecksumSize())
		if err := u.ChecksumSegments(segs, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || !u.VerifyChecksumSegments(segs, want) {
			t.Fatalf("%v: segmented checksum differs", e)
		}
		if err := u.ChecksumSegments(segs, got[:1]); err == nil {
			t.Fatal("short checksum buffer accepted")
		}
	}
}

func TestEncryptSegmentsRejects(t *testing.T) {
	u, _ := NewUsageKey(AES256CTSHMACSHA196, make([]byte, 32), UsageInitiatorSeal)
	sum := make([]byte, 12)
	for _, segs := range [][]Segment{
		nil,
		{{Data: make([]byte, 15)}},
		{{Data: make([]byte, 16), SignOnly: true}},
	} {
		if err := u.EncryptSegments(crand.Reader, segs, sum); err == nil {
			t.Errorf("%v accepted", segs)
		}
	}
	if err := u.EncryptSegments(crand.Reader, []Segment{{Data: make([]byte, 16)}}, sum[:11]); err == nil {
		t.Error("short checksum accepted")
	}
	if err := u.EncryptSegments(&fixedReader{}, []Segment{{Data: make([]byte, 16)}}, sum); err == nil {
		t.Error("exhausted rand accepted")
	}
	if u.DecryptSegments([]Segment{{Data: make([]byte, 15)}}, sum) {
		t.Error("short ciphertext verifies")
	}
	if _, err := u.Decrypt(nil, make([]byte, 27)); err == nil {
		t.Error("short ciphertext decrypts")
	}
	if _, err := NewUsageKey(AES256CTSHMACSHA196, make([]byte, 16), 1); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewUsageKey(EType(23), make([]byte, 16), 1); err == nil {
		t.Error("rc4-hmac accepted")
	}
	if s := u.String(); !strings.Contains(s, "REDACTED") || u.GoString() != s {
		t.Errorf("String() = %q", s)
	}
}

func TestNoAllocations(t *testing.T) {
	for _, e := range allETypes {
		u, _ := NewUsageKey(e, make([]byte, e.KeySize()), UsageInitiatorSeal)
		tok := make([]byte, 16+1024+16)
		data := tok[16 : 16+1024]
		segs := []Segment{{Data: tok[:16]}, {Data: data[:500]}, {Data: data[500:]}, {Data: tok[16+1024:]}}
		sum := make([]byte, e.ChecksumSize())
		allocs := testing.AllocsPerRun(50, func() {
			if err := u.EncryptSegments(crand.Reader, segs, sum); err != nil {
				t.Fatal(err)
			}
			if !u.DecryptSegments(segs, sum) {
				t.Fatal("does not verify")
			}
			if err := u.ChecksumSegments(segs, sum); err != nil {
				t.Fatal(err)
			}
			if !u.VerifyChecksumSegments(segs, sum) {
				t.Fatal("does not verify")
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per message", e, allocs)
		}
	}
}

func TestDerivationErrors(t *testing.T) {
	if _, err := DR(AES128CTSHMACSHA256128, make([]byte, 16), []byte("x")); err == nil {
		t.Error("DR for an RFC 8009 type")
	}
	if _, err := DR(AES128CTSHMACSHA196, make([]byte, 15), []byte("x")); err == nil {
		t.Error("DR with a short key")
	}
	if _, err := KDFHMACSHA2(AES128CTSHMACSHA196, make([]byte, 16), nil, nil, 128); err == nil {
		t.Error("KDF-HMAC-SHA2 for an RFC 3962 type")
	}
	if _, err := KDFHMACSHA2(AES128CTSHMACSHA256128, make([]byte, 16), nil, nil, 257*8); err == nil {
		t.Error("KDF-HMAC-SHA2 longer than the hash")
	}
	if _, err := PRFPlus(AES128CTSHMACSHA196, make([]byte, 16), nil, 16*256); err == nil {
		t.Error("PRF+ beyond 255 blocks")
	}
	if _, err := StringToKey(EType(1), "p", "s", 0); err == nil {
		t.Error("string-to-key for DES")
	}
	if got := NFold(nil, 4); len(got) != 4 {
		t.Error("n-fold of nothing")
	}
	if EType(99).String() != "EType(99)" || EType(99).KeySize() != 0 || EType(99).Supported() {
		t.Error("unknown etype")
	}
	if AES256CTSHMACSHA384192.String() != "aes256-cts-hmac-sha384-192" || AES256CTSHMACSHA384192.CiphertextLen(10) != 50 {
		t.Error("etype 20 attributes")
	}
}
