package httpauth

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []challenge
	}{
		{"IIS", []string{"Negotiate", "NTLM"}, []challenge{{scheme: "Negotiate"}, {scheme: "NTLM"}}},
		{"one line", []string{"Negotiate, NTLM"}, []challenge{{scheme: "Negotiate"}, {scheme: "NTLM"}}},
		{"token", []string{"Negotiate oRswGaADCgEAoxIEEAEAAABmnLlkgjEaPAAAAAA="}, []challenge{{scheme: "Negotiate", token68: "oRswGaADCgEAoxIEEAEAAABmnLlkgjEaPAAAAAA="}}},
		{"Basic first", []string{`Basic realm="intranet, west", Negotiate`},
			[]challenge{{scheme: "Basic", params: [][2]string{{"realm", "intranet, west"}}}, {scheme: "Negotiate"}}},
		{"params then token", []string{`Digest realm="x", qop="auth", nonce=abc, NTLM TlRMTVNTUAACAAAA`},
			[]challenge{{scheme: "Digest", params: [][2]string{{"realm", "x"}, {"qop", "auth"}, {"nonce", "abc"}}}, {scheme: "NTLM", token68: "TlRMTVNTUAACAAAA"}}},
		{"empty elements and spaces", []string{" , Negotiate ,, NTLM  ,"}, []challenge{{scheme: "Negotiate"}, {scheme: "NTLM"}}},
		{"BWS around =", []string{`Bearer realm = "a\"b\\c" , error=x`}, []challenge{{scheme: "Bearer", params: [][2]string{{"realm", `a"b\c`}, {"error", "x"}}}}},
		{"token68 padding only", []string{"Negotiate ="}, nil},
		{"lower case scheme", []string{"negotiate YA=="}, []challenge{{scheme: "negotiate", token68: "YA=="}}},
		{"no header", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChallenges(tt.values)
			if tt.want == nil && tt.name != "no header" {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseChallengesRejects(t *testing.T) {
	for _, v := range []string{
		`Basic realm="unterminated`,
		`Basic realm=x=`,
		`Basic realm="x"y`,
		`Negotiate abc def`,
		"Negotiate\x00",
		`Basic realm="a` + "\x01" + `"`,
		`Basic realm="a\`,
		`=abc`,
		strings.Repeat("Negotiate, ", maxChallenges+1),
		"Basic " + strings.Repeat("a=b, ", maxParams+1),
	} {
		if got, err := parseChallenges([]string{v}); err == nil {
			t.Errorf("%.60q accepted: %+v", v, got)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		v      string
		scheme string
		token  []byte
		err    error
	}{
		{"Negotiate YIIB", "Negotiate", []byte{0x60, 0x82, 0x01}, nil},
		{"NTLM  TlRMTVNTUAA= ", "NTLM", []byte("NTLMSSP\x00"), nil},
		{"Negotiate", "Negotiate", nil, errNoToken},
		{"Negotiate ", "Negotiate", nil, errNoToken},
		{"Negotiate YII*", "Negotiate", nil, errMalformed},
		{"Negotiate YIIB=", "Negotiate", nil, errBase64},
		{"Negotiate YII", "Negotiate", nil, errBase64},
		{"Negotiate a=b", "Negotiate", nil, errMalformed},
		{"Negotiate YIIB, NTLM TlRM", "Negotiate", nil, errMalformed},
		{"Negotiate " + strings.Repeat("A", 100), "Negotiate", nil, errTooLarge},
		{"", "", nil, errMalformed},
		{" YIIB", "YIIB", nil, errNoToken},
		{"0/000", "0", nil, errMalformed},
		{"Negotiate\tYIIB", "Negotiate", []byte{0x60, 0x82, 0x01}, nil},
	}
	for _, tt := range tests {
		scheme, token, err := parseCredentials(tt.v, 64)
		if scheme != tt.scheme || !bytes.Equal(token, tt.token) || !errors.Is(err, tt.err) {
			t.Errorf("%.40q: %q %x %v, want %q %x %v", tt.v, scheme, token, err, tt.scheme, tt.token, tt.err)
		}
	}
}

// TestParseCredentialsBoundsBeforeDecoding: the size check comes before
// base64 decoding, at the encoded size of the limit.
func TestParseCredentialsBoundsBeforeDecoding(t *testing.T) {
	ok := "Negotiate " + strings.Repeat("AAAA", 16) // 48 bytes
	if _, tok, err := parseCredentials(ok, 48); err != nil || len(tok) != 48 {
		t.Fatalf("48 bytes at the limit: %d %v", len(tok), err)
	}
	if _, _, err := parseCredentials(ok+"AAAA", 48); !errors.Is(err, errTooLarge) {
		t.Fatalf("51 bytes: %v", err)
	}
	// 1024 is not a multiple of 3: its encoded size, 1368 characters,
	// also holds 1026 bytes without padding.
	if _, _, err := parseCredentials("Negotiate "+strings.Repeat("A", 1368), 1024); !errors.Is(err, errTooLarge) {
		t.Fatalf("1026 bytes in the encoded size of 1024: %v", err)
	}
	if testing.Short() {
		return
	}
	huge := "Negotiate " + strings.Repeat("A", 64<<20)
	allocs := testing.AllocsPerRun(1, func() { parseCredentials(huge, DefaultMaxTokenSize) })
	if allocs > 2 {
		t.Fatalf("%v allocations for an oversized token", allocs)
	}
}
