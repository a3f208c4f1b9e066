package httpauth

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

// FuzzChallenges: WWW-Authenticate and Proxy-Authenticate parsing. Lines
// of the input are header field lines. No panic; no more challenges or
// parameters than the limits; each parsed challenge, formatted and parsed
// again, is itself (the canonical form is a fixed point); and the token68
// of a Negotiate or NTLM challenge is what parseCredentials reads from
// the same text. Seeds: testdata/fuzz/README.md.
func FuzzChallenges(f *testing.F) {
	for _, s := range []string{
		"Negotiate\nNTLM",
		"Negotiate oRswGaADCgEAoxIEEAEAAABmnLlkgjEaPAAAAAA=",
		`Basic realm="intranet, west", Negotiate, NTLM TlRMTVNTUAACAAAA`,
		`Digest realm="x", qop="auth,auth-int", nonce="a\"b"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		chs, err := parseChallenges(strings.Split(in, "\n"))
		if err != nil {
			return
		}
		if len(chs) > maxChallenges {
			t.Fatalf("%d challenges", len(chs))
		}
		for _, ch := range chs {
			if len(ch.params) > maxParams {
				t.Fatalf("%d parameters", len(ch.params))
			}
			if ch.scheme == "" || (ch.token68 != "" && len(ch.params) > 0) {
				t.Fatalf("bad challenge %+v", ch)
			}
			s := formatChallenge(ch)
			again, err := parseChallenges([]string{s})
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], ch) {
				t.Fatalf("%+v formats as %q, which parses as %+v (%v)", ch, s, again, err)
			}
			if ch.token68 != "" {
				if _, tok, err := parseCredentials(ch.scheme+" "+ch.token68, DefaultMaxTokenSize); err == nil {
					if want, _ := base64.StdEncoding.DecodeString(ch.token68); !bytes.Equal(tok, want) {
						t.Fatalf("token %x, want %x", tok, want)
					}
				}
			}
		}
	})
}

// FuzzCredentials: Authorization and Proxy-Authorization parsing. No
// panic; a token is never empty nor over the limit; and re-encoding the
// scheme and token gives a value that parses to the same, and is the
// input up to spaces around it. Seeds: testdata/fuzz/README.md.
func FuzzCredentials(f *testing.F) {
	for _, s := range []string{
		"Negotiate YIIB",
		"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
		"Negotiate",
		"Basic YWxpY2U6cHc=",
	} {
		f.Add(s)
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, in string) {
		scheme, tok, err := parseCredentials(in, limit)
		if err != nil {
			if tok != nil {
				t.Fatalf("a token with an error: %v", err)
			}
			return
		}
		if len(tok) == 0 || len(tok) > limit || scheme == "" {
			t.Fatalf("scheme %q, %d-byte token", scheme, len(tok))
		}
		v := encodeToken(scheme, tok)
		s2, tok2, err := parseCredentials(v, limit)
		if err != nil || s2 != scheme || !bytes.Equal(tok2, tok) {
			t.Fatalf("%q re-encodes as %q: %q %x %v", in, v, s2, tok2, err)
		}
		fields := strings.Fields(in)
		if len(fields) != 2 || fields[0] != scheme || fields[1] != base64.StdEncoding.EncodeToString(tok) {
			t.Fatalf("%q parsed as %q %x", in, scheme, tok)
		}
	})
}
