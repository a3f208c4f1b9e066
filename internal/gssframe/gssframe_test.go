package gssframe

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestOIDConstants(t *testing.T) {
	for _, c := range []struct {
		oid    OID
		dotted string
	}{
		{Kerberos, "1.2.840.113554.1.2.2"},
		{KerberosMicrosoft, "1.2.840.48018.1.2.2"},
		{KerberosUser2User, "1.2.840.113554.1.2.2.3"},
		{SPNEGO, "1.3.6.1.5.5.2"},
		{NTLM, "1.3.6.1.4.1.311.2.2.10"},
	} {
		if got := c.oid.String(); got != c.dotted {
			t.Errorf("String() = %q, want %q", got, c.dotted)
		}
		parsed, err := ParseOID(c.dotted)
		if err != nil || parsed != c.oid {
			t.Errorf("ParseOID(%q) = %x, %v; want %x", c.dotted, parsed, err, string(c.oid))
		}
		if !c.oid.Valid() {
			t.Errorf("%s not valid", c.dotted)
		}
	}
}

func TestParseOIDRejects(t *testing.T) {
	for _, s := range []string{"", "1", "1.", ".1", "3.1", "1.40", "1.2.03", "1.2.x", "1.2.18446744073709551616"} {
		if _, err := ParseOID(s); err == nil {
			t.Errorf("ParseOID(%q) succeeded", s)
		}
	}
	if o, err := ParseOID("2.999.3"); err != nil || o.String() != "2.999.3" {
		t.Errorf("ParseOID(2.999.3) = %q, %v", o.String(), err)
	}
}

func TestOIDValid(t *testing.T) {
	for _, c := range []struct {
		oid  OID
		want bool
	}{
		{"", false},
		{"\x2a", true},
		{"\x2a\x80\x01", false}, // non-minimal subidentifier
		{"\x2a\x86", false},     // ends inside a subidentifier
		{"\x2a\x81\x00", true},  // 128
		{OID(strings.Repeat("\x01", 127)), true},
		{OID(strings.Repeat("\x01", 128)), false},
		{"\x2a" + OID(strings.Repeat("\xff", 9)) + "\x7f", false},    // > 64 bits
		{"\x2a\x81" + OID(strings.Repeat("\xff", 8)) + "\x7f", true}, // exactly 64 bits
	} {
		if got := c.oid.Valid(); got != c.want {
			t.Errorf("Valid(%x) = %v, want %v", string(c.oid), got, c.want)
		}
	}
	if s := OID("\x2a\x86").String(); !strings.HasPrefix(s, "invalid OID") {
		t.Errorf("String of an invalid OID = %q", s)
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	for _, mech := range []OID{Kerberos, KerberosMicrosoft, KerberosUser2User, SPNEGO, NTLM} {
		for _, n := range []int{0, 1, 2, 116, 117, 118, 127, 128, 255, 256, 65535, 65536, 70000} {
			inner := bytes.Repeat([]byte{0xa5}, n)
			tok := Marshal(mech, inner)
			if len(tok) != Len(mech, n) {
				t.Fatalf("len %d, Len says %d", len(tok), Len(mech, n))
			}
			gotMech, gotInner, err := Parse(tok)
			if err != nil {
				t.Fatalf("%s/%d: %v", mech, n, err)
			}
			if gotMech != mech || !bytes.Equal(gotInner, inner) {
				t.Fatalf("%s/%d: round trip differs", mech, n)
			}
			agreeWithCryptobyte(t, tok, gotMech, gotInner, true)
		}
	}
}

// A krb5 AP-REQ framing as MIT emits it (RFC 1964 1.1: TOK_ID 01 00 then
// the AP-REQ); only the first bytes matter here.
func TestParseKnownPrefix(t *testing.T) {
	tok, _ := hex.DecodeString("6012" + "0609" + "2a864886f712010202" + "01006e03020105")
	mech, inner, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if mech != Kerberos || hex.EncodeToString(inner) != "01006e03020105" {
		t.Fatalf("got %s %x", mech, inner)
	}
	if in, err := ParseFor(tok, Kerberos); err != nil || !bytes.Equal(in, inner) {
		t.Fatalf("ParseFor: %x %v", in, err)
	}
	if _, err := ParseFor(tok, SPNEGO); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseFor another mech: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	krb := "\x06\x09" + string(Kerberos)
	cases := []struct{ name, tok string }{
		{"empty", ""},
		// krb5 t_invalid.c case 9 (truncated encapsulation).
		{"t_invalid-9a-tag-only", "\x60"},
		{"t_invalid-9b-length-octets-missing", "\x60\x84"},
		{"t_invalid-9c-oid-tag-no-length", "\x60\x40\x06"},
		{"t_invalid-9d-oid-no-contents", "\x60\x40\x06\x09"},
		// krb5 t_invalid.c case 5 (ASN.1 wrapper longer than the buffer).
		{"t_invalid-5-dangling-length", "\x60\x88"},
		// CVE-2022-3437 (Heimdal _gsskrb5_get_mech): a length near 2^32
		// that wraps when added to the header size.
		{"cve-2022-3437-length-overflow", "\x60\x84\xff\xff\xff\xf5" + krb + "\x01\x00"},
		{"length-2^32-1", "\x60\x84\xff\xff\xff\xff" + krb},
		{"five-length-octets", "\x60\x85\x00\x00\x00\x00\x0b" + krb},
		{"indefinite-length", "\x60\x80" + krb + "\x00\x00"},
		{"non-minimal-81", "\x60\x81\x0b" + krb},
		{"non-minimal-leading-zero", "\x60\x82\x00\x0b" + krb},
		{"wrong-tag", "\x30\x0b" + krb},
		{"trailing-byte", "\x60\x0b" + krb + "\x00"},
		{"length-short-by-one", "\x60\x0a" + krb},
		{"no-oid", "\x60\x00"},
		{"not-an-oid", "\x60\x02\x04\x00"},
		{"oid-long-form", "\x60\x0c\x06\x81\x09" + string(Kerberos)},
		{"oid-past-end", "\x60\x0b\x06\x0a" + string(Kerberos)},
		{"empty-oid", "\x60\x02\x06\x00"},
		{"oid-bad-subidentifier", "\x60\x05\x06\x03\x2a\x80\x01"},
		{"oid-truncated-subidentifier", "\x60\x04\x06\x02\x2a\x86"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.tok))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			if !strings.HasPrefix(err.Error(), "gssframe: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			agreeWithCryptobyte(t, []byte(c.tok), "", nil, false)
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	tok := Marshal(Kerberos, make([]byte, 100))
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := Parse(tok); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFor(tok, Kerberos); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Parse of a known mechanism", allocs)
	}
}

func TestAppendPanicsOnBadOID(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Append(nil, "", nil)
}

// agreeWithCryptobyte checks Parse against a second DER reader,
// golang.org/x/crypto/cryptobyte.
func agreeWithCryptobyte(t *testing.T, tok []byte, mech OID, inner []byte, ok bool) {
	t.Helper()
	s := cryptobyte.String(tok)
	var body cryptobyte.String
	var oid cryptobyte.String
	cbOK := s.ReadASN1(&body, cbasn1.Tag(0x60)) && s.Empty() &&
		body.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) && len(oid) <= MaxOIDLen && OID(oid).Valid()
	if cbOK != ok {
		t.Fatalf("cryptobyte says ok=%v, Parse says ok=%v for %x", cbOK, ok, tok)
	}
	if ok && (OID(oid) != mech || !bytes.Equal(body, inner)) {
		t.Fatalf("cryptobyte reads %x/%x, Parse %x/%x", []byte(oid), []byte(body), string(mech), inner)
	}
}
