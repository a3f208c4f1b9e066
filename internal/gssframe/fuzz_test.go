package gssframe

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts
// re-marshals to exactly the input (no malleability: one token, one
// encoding), and that it agrees with golang.org/x/crypto/cryptobyte on
// which inputs are well-formed DER. Seeds: testdata/fuzz/FuzzParse (see
// testdata/fuzz/README.md) and the cases below.
func FuzzParse(f *testing.F) {
	krb := "\x06\x09" + string(Kerberos)
	for _, s := range []string{
		// krb5 t_invalid.c case 9: truncated encapsulation.
		"\x60", "\x60\x84", "\x60\x40\x06", "\x60\x40\x06\x09",
		// CVE-2022-3437-style length overflow.
		"\x60\x84\xff\xff\xff\xf5" + krb + "\x01\x00",
		string(Marshal(Kerberos, []byte{0x01, 0x00, 0x6e, 0x00})),
		string(Marshal(SPNEGO, []byte{0xa0, 0x00})),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		mech, inner, err := Parse(tok)
		agreeWithCryptobyte(t, tok, mech, inner, err == nil)
		if err != nil {
			return
		}
		if again := Marshal(mech, inner); !bytes.Equal(again, tok) {
			t.Fatalf("re-marshal differs:\n in %x\nout %x", tok, again)
		}
		if in2, err := ParseFor(tok, mech); err != nil || !bytes.Equal(in2, inner) {
			t.Fatalf("ParseFor disagrees: %v", err)
		}
	})
}
