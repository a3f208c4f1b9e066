package ntlm

import (
	"bytes"
	stdrc4 "crypto/rc4"
	"testing"
)

// TestRC4AgainstStdlib compares our RC4 with crypto/rc4, a second
// implementation, over keys and lengths that cross the 256-byte period of
// the indices.
func TestRC4AgainstStdlib(t *testing.T) {
	for _, key := range [][]byte{{1}, []byte("Key"), bytes.Repeat([]byte{0xAB}, 16), bytes.Repeat([]byte{7}, 256)} {
		var ours rc4
		ours.init(key)
		ref, err := stdrc4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 7, 255, 256, 257, 1000} {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(i * 31)
			}
			got := make([]byte, n)
			want := make([]byte, n)
			ours.xorKeyStream(got, src)
			ref.XORKeyStream(want, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("key %x len %d: got %x want %x", key, n, got, want)
			}
		}
	}
}

// TestRC4KnownAnswer is the first test vector of RFC 6229 (40-bit key
// 0102030405), offset 0.
func TestRC4KnownAnswer(t *testing.T) {
	out := rc4k([]byte{1, 2, 3, 4, 5}, make([]byte, 16))
	want := []byte{0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27, 0xcc, 0xc3, 0x52, 0x4a, 0x0a, 0x11, 0x18, 0xa8}
	if !bytes.Equal(out, want) {
		t.Fatalf("got %x want %x", out, want)
	}
}

func TestRC4ExportRestore(t *testing.T) {
	var a, b rc4
	a.init([]byte("session key"))
	a.xorKeyStream(make([]byte, 300), make([]byte, 300))
	st := make([]byte, rc4StateSize)
	a.export(st)
	if err := b.restore(st); err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 64), make([]byte, 64)
	a.xorKeyStream(x, x)
	b.xorKeyStream(y, y)
	if !bytes.Equal(x, y) {
		t.Fatal("restored stream differs")
	}
	st[3] = st[4] // no longer a permutation
	if err := b.restore(st); err == nil {
		t.Fatal("restore accepted a non-permutation")
	}
	if err := b.restore(st[:10]); err == nil {
		t.Fatal("restore accepted a short state")
	}
}
