package lsa

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

func TestPackedMapped(t *testing.T) {
	p := &Packed{PackageID: 3, Package: "NTLM", Flags: secpkg.FlagConfidentiality, Expiry: time.Unix(1900000000, 0), Data: []byte("session material")}
	b := p.MarshalMapped()
	got, err := ParsePacked(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != PackedMapped || got.Package != "NTLM" || got.PackageID != 3 || got.Flags != secpkg.FlagConfidentiality ||
		!got.Expiry.Equal(p.Expiry) || !bytes.Equal(got.Data, p.Data) {
		t.Fatalf("round trip = %+v", got)
	}
	// Every flipped byte is caught.
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		if _, err := ParsePacked(bad); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := ParsePacked(b[:n]); err == nil {
			t.Fatalf("truncated to %d: accepted", n)
		}
	}
	v2 := append([]byte(nil), b...)
	v2[4] = 2
	if _, err := ParsePacked(v2); !errors.Is(err, secpkg.StatusUnsupportedFunction) {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestPackedExport(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	p := &Packed{PackageID: 1, Package: "Kerberos", Flags: secpkg.FlagIntegrity}
	rand.Read(p.ExportID[:])
	rand.Read(p.Nonce[:])
	b := p.SealExport(key, []byte("keys and sequence numbers"))
	if bytes.Contains(b, []byte("sequence numbers")) {
		t.Fatal("export payload in clear")
	}
	got, err := ParsePacked(b)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := got.OpenExport(key)
	if err != nil || string(pt) != "keys and sequence numbers" || got.ExportID != p.ExportID {
		t.Fatalf("open = %q, %v", pt, err)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 1
		q, err := ParsePacked(bad)
		if err == nil {
			_, err = q.OpenExport(key)
		}
		if err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	other := make([]byte, 32)
	if _, err := got.OpenExport(other); !errors.Is(err, secpkg.StatusInvalidToken) {
		t.Fatalf("wrong key: %v", err)
	}
}

func FuzzParsePacked(f *testing.F) {
	// A mapped envelope.
	f.Add((&Packed{PackageID: 1, Package: "NTLM", Data: []byte{1, 2, 3}}).MarshalMapped())
	// An export envelope.
	key := make([]byte, 32)
	f.Add((&Packed{PackageID: 2, Package: "Fake"}).SealExport(key, []byte("x")))
	// Magic only, and a huge declared length.
	f.Add([]byte("OSPC"))
	f.Add(append([]byte("OSPC\x01\x01\x00\x00\x00\x00\x00\x01\x01A"), bytes.Repeat([]byte{0xff}, 24)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacked(b)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusInvalidToken && secpkg.StatusOf(err) != secpkg.StatusUnsupportedFunction {
				t.Fatalf("error without the right status: %v", err)
			}
			return
		}
		if p.Kind == PackedMapped {
			// Canonical: what parses re-marshals to the input.
			if again := p.MarshalMapped(); !bytes.Equal(again, b) {
				t.Fatalf("re-marshal differs")
			}
		}
		p.OpenExport(key)
	})
}
