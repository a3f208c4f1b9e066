package krb5

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestBuilderMatchesCryptobyte: the messages' DER builder writes the
// bytes cryptobyte.Builder writes, for elements on both sides of every
// length form (short, one, two and three length bytes), nested, and for
// INTEGERs at every width boundary.
func TestBuilderMatchesCryptobyte(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 127, 128, 129, 255, 256, 257, 1000, 65535, 65536, 70000}
	for _, n := range sizes {
		for _, depth := range []int{1, 2, 4} {
			v := make([]byte, n)
			for i := range v {
				v[i] = byte(rng.Uint32())
			}
			var want cryptobyte.Builder
			var nestC func(b *cryptobyte.Builder, d int)
			nestC = func(b *cryptobyte.Builder, d int) {
				if d == 0 {
					b.AddASN1OctetString(v)
					return
				}
				b.AddASN1(ctxTag(uint8(d)), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(n))
					nestC(b, d-1)
				})
			}
			nestC(&want, depth)
			got := newBuilder(0)
			var nestB func(b *builder, d int)
			nestB = func(b *builder, d int) {
				if d == 0 {
					b.AddASN1OctetString(v)
					return
				}
				b.AddASN1(ctxTag(uint8(d)), func(b *builder) {
					b.AddASN1Int64(int64(n))
					nestB(b, d-1)
				})
			}
			nestB(got, depth)
			if w := want.BytesOrPanic(); !bytes.Equal(got.BytesOrPanic(), w) {
				t.Fatalf("%d bytes, depth %d: the encodings differ", n, depth)
			}
		}
	}
	ints := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		1<<23 - 1, 1 << 23, 1<<31 - 1, 1 << 31, -1 << 31, 1<<32 - 1, 1 << 32, math.MaxInt64, math.MinInt64}
	for range 1000 {
		ints = append(ints, int64(rng.Uint64())>>rng.IntN(64))
	}
	for _, v := range ints {
		var want cryptobyte.Builder
		want.AddASN1Int64(v)
		got := newBuilder(0)
		got.AddASN1Int64(v)
		if !bytes.Equal(got.BytesOrPanic(), want.BytesOrPanic()) {
			t.Fatalf("INTEGER %d: % x, want % x", v, got.BytesOrPanic(), want.BytesOrPanic())
		}
	}
}

// TestKerberosTimeFormat: appendKerberosTime is Format("20060102150405Z")
// of the UTC time.
func TestKerberosTimeFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2037, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -5*3600))}
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(time.FixedZone("y", rng.IntN(50000)-25000)))
	}
	for _, tm := range times {
		if got, want := string(appendKerberosTime(nil, tm)), tm.UTC().Format("20060102150405Z"); got != want {
			t.Fatalf("%v: %q, want %q", tm, got, want)
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(times[4].UTC().Format("20060102150405Z"))) })
	got := newBuilder(0)
	addTime(got, times[4])
	if !bytes.Equal(got.BytesOrPanic(), b.BytesOrPanic()) {
		t.Fatal("addTime differs from cryptobyte")
	}
}

// TestParseKerberosTime: parseKerberosTime accepts and refuses what
// time.Parse("20060102150405Z", ·) does, with the same result, on
// fifteen-byte strings of digits and a final Z.
func TestParseKerberosTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	in := []string{"20240229000000Z", "20230229000000Z", "19000229000000Z", "20000229000000Z", "00000101000000Z",
		"99991231235959Z", "20241231235960Z", "20241231240000Z", "20241231236000Z", "20241300000000Z", "20240000000000Z",
		"20240100000000Z", "20240131000000Z", "20240132000000Z", "20240431000000Z", "2024013100000Z0", "20240131000000z"}
	for range 20000 {
		b := []byte("00000000000000Z")
		for i := range 14 {
			b[i] = byte('0' + rng.IntN(10))
		}
		// Mostly plausible dates, so that the range checks are reached.
		if rng.IntN(2) == 0 {
			copy(b[4:], []byte{byte('0' + rng.IntN(2)), byte('0' + rng.IntN(3)), byte('0' + rng.IntN(4)), byte('0' + rng.IntN(10)),
				byte('0' + rng.IntN(3)), byte('0' + rng.IntN(10)), byte('0' + rng.IntN(7)), byte('0' + rng.IntN(10)), byte('0' + rng.IntN(7)), byte('0' + rng.IntN(10))})
		}
		in = append(in, string(b))
	}
	for _, v := range in {
		want, werr := time.Parse("20060102150405Z", v)
		got, ok := parseKerberosTime([]byte(v))
		if ok != (werr == nil) || ok && !got.Equal(want) || ok && got.Location() != time.UTC {
			t.Fatalf("%q: %v %v, want %v %v", v, got, ok, want, werr)
		}
	}
}
