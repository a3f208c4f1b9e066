package kcrypto

import (
	crand "crypto/rand"
	"fmt"
	"testing"
)

// BenchmarkSealOpen encrypts and decrypts a message laid out as a wrap
// token is (confounder | data | 16-byte header), in place.
func BenchmarkSealOpen(b *testing.B) {
	for _, e := range allETypes {
		for _, n := range []int{1024, 65536} {
			b.Run(fmt.Sprintf("%v/%d", e, n), func(b *testing.B) {
				u, _ := NewUsageKey(e, make([]byte, e.KeySize()), UsageInitiatorSeal)
				tok := make([]byte, 16+n+16)
				segs := []Segment{{Data: tok[:16]}, {Data: tok[16 : 16+n]}, {Data: tok[16+n:]}}
				sum := make([]byte, e.ChecksumSize())
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := u.EncryptSegments(crand.Reader, segs, sum); err != nil {
						b.Fatal(err)
					}
					if !u.DecryptSegments(segs, sum) {
						b.Fatal("does not verify")
					}
				}
			})
		}
	}
}
