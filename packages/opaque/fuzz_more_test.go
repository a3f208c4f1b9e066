package opaque

import (
	"bytes"
	"testing"
)

// Fuzz targets of the two parsers the others leave out: the logon
// session's OPAQUE credential (what `sspi logon` leaves in the LSA) and
// the text form of a KSF (lsad.toml's [opaque] ksf, the CLI's --ksf).

// credentialSeeds are the corpus files of FuzzLogonCredential and
// FuzzParseKSFText (testdata/fuzz/README.md).
func credentialSeeds() map[string][]byte {
	good := packLogonCredential("alice", "EXAMPLE", []byte("alice-Passw0rd"))
	return map[string][]byte{
		"FuzzLogonCredential/alice":           good,
		"FuzzLogonCredential/empty-fields":    packLogonCredential("", "", nil),
		"FuzzLogonCredential/length-past-end": append([]byte{1, 0xff, 0xff}, "alice"...),
		"FuzzLogonCredential/trailing-byte":   append(append([]byte(nil), good...), 0),
		"FuzzParseKSFText/argon2id":           []byte("Argon2id(m=65536,t=3,p=4)"),
		"FuzzParseKSFText/spaced-and-cased":   []byte(" argon2ID( m = 1024 , t=1, p=1 ) "),
		"FuzzParseKSFText/p-overflows-a-byte": []byte("Argon2id(m=65536,t=3,p=256)"),
		"FuzzParseKSFText/trailing-text":      []byte("Argon2id(m=65536,t=3,p=4)x"),
		"FuzzParseKSFText/recommended":        []byte("recommended"),
		"FuzzParseKSFText/m-below-8p":         []byte("Argon2id(m=7,t=1,p=1)"),
	}
}

func FuzzLogonCredential(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		user, domain, password, err := unpackLogonCredential(data)
		if err != nil {
			return
		}
		if !bytes.Equal(packLogonCredential(user, domain, password), data) {
			t.Fatal("unpacked credential does not re-encode to its input")
		}
	})
}

func FuzzParseKSFText(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKSF(string(data))
		if err != nil {
			return
		}
		if k.Validate() != nil {
			t.Fatalf("ParseKSF(%q) = %v, which does not validate", data, k)
		}
		// The description parses back to the same KSF.
		if k2, err := ParseKSF(k.String()); err != nil || k2 != k.orDefault() {
			t.Fatalf("ParseKSF(%q) = %v, whose String %q parses to %v, %v", data, k, k.String(), k2, err)
		}
	})
}
