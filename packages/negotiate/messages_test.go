package negotiate

import (
	"bufio"
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// transcript reads a file of "NAME HEX" lines (# starts a comment).
func transcript(t testing.TB, name string) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string][]byte)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(v)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = b
	}
	return out
}

// TestMITTokens parses what MIT's SPNEGO sent over NTLM and checks that
// each token re-encodes to the same bytes (DER has one encoding).
func TestMITTokens(t *testing.T) {
	tr := transcript(t, "mit-spnego-ntlm.txt")
	// I0 is framed: 60 len 06 06 <SPNEGO OID> <NegotiationToken>.
	i0 := tr["I0"]
	if !bytes.HasPrefix(i0[2:], []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}) {
		t.Fatalf("I0 is not an SPNEGO initial token: % x", i0[:12])
	}
	init, resp, err := parseNegotiationToken(i0[10:])
	if err != nil || resp != nil {
		t.Fatalf("I0: %v", err)
	}
	if len(init.mechTypes) != 1 || !init.mechTypes[0].Equal(oidNTLM) || !bytes.HasPrefix(init.mechToken, []byte("NTLMSSP\x00\x01")) {
		t.Fatalf("I0: mechs %v token % x", init.mechTypes, init.mechToken[:12])
	}
	if !bytes.Equal(init.marshal(), i0[10:]) {
		t.Errorf("I0 re-encodes differently")
	}
	if !bytes.Equal(init.mechTypesDER, marshalMechTypes(init.mechTypes)) {
		t.Errorf("mechTypesDER differs from the list's encoding")
	}
	for _, k := range []string{"A0", "I1", "A1"} {
		_, r, err := parseNegotiationToken(tr[k])
		if err != nil || r == nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !bytes.Equal(r.marshal(), tr[k]) {
			t.Errorf("%s re-encodes differently", k)
		}
		switch k {
		case "A0":
			if r.state != stateAcceptIncomplete || !r.supportedMech.Equal(oidNTLM) || !bytes.HasPrefix(r.responseToken, []byte("NTLMSSP\x00\x02")) {
				t.Errorf("A0: %v %v", r.state, r.supportedMech)
			}
		case "I1":
			if r.state != stateAcceptIncomplete || len(r.mechListMIC) != 16 || !bytes.HasPrefix(r.responseToken, []byte("NTLMSSP\x00\x03")) {
				t.Errorf("I1: %v mic %d", r.state, len(r.mechListMIC))
			}
		case "A1":
			if r.state != stateAcceptCompleted || len(r.mechListMIC) != 16 || r.responseToken != nil {
				t.Errorf("A1: %v mic %d", r.state, len(r.mechListMIC))
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	init := &negTokenInit{mechTypes: []asn1.ObjectIdentifier{oidMSKerberos, oidKerberos, oidNTLM}, mechToken: []byte("tok")}
	got, _, err := parseNegotiationToken(init.marshal())
	if err != nil || len(got.mechTypes) != 3 || !got.mechTypes[0].Equal(oidMSKerberos) || string(got.mechToken) != "tok" || got.hints {
		t.Fatalf("NegTokenInit: %+v %v", got, err)
	}
	hints := &negTokenInit{mechTypes: []asn1.ObjectIdentifier{oidKerberos, oidNTLM}, hints: true, hintName: "not_defined_in_RFC4178@please_ignore"}
	got, _, err = parseNegotiationToken(hints.marshal())
	if err != nil || !got.hints || got.hintName != hints.hintName || len(got.mechTypes) != 2 {
		t.Fatalf("NegTokenInit2: %+v %v", got, err)
	}
	for _, r := range []*negTokenResp{
		{state: stateAcceptIncomplete, supportedMech: oidNTLM, responseToken: []byte{1}},
		{state: stateAcceptCompleted, mechListMIC: make([]byte, 16)},
		{state: stateRequestMIC, supportedMech: oidKerberos, responseToken: []byte{}},
		{state: stateAbsent, responseToken: []byte{2}},
		{state: stateReject},
	} {
		_, g, err := parseNegotiationToken(r.marshal())
		if err != nil || g.state != r.state || !g.supportedMech.Equal(r.supportedMech) || !bytes.Equal(g.responseToken, r.responseToken) || !bytes.Equal(g.mechListMIC, r.mechListMIC) {
			t.Fatalf("NegTokenResp %+v: %+v %v", r, g, err)
		}
	}
}

// TestMalformed lists tokens a strict parser must refuse.
func TestMalformed(t *testing.T) {
	good := (&negTokenResp{state: stateAcceptIncomplete, supportedMech: oidNTLM, responseToken: []byte("x")}).marshal()
	manyMechs := make([]asn1.ObjectIdentifier, maxMechTypes+1)
	for i := range manyMechs {
		manyMechs[i] = oidNTLM
	}
	cases := map[string][]byte{
		"empty":               {},
		"trailing byte":       append(append([]byte{}, good...), 0),
		"truncated":           good[:len(good)-1],
		"choice [2]":          {0xa2, 0x02, 0x30, 0x00},
		"not a SEQUENCE":      {0xa1, 0x02, 0x31, 0x00},
		"negState 4":          {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x04},
		"negState -1":         {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0xff},
		"negState INTEGER":    {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x00},
		"fields out of order": {0xa1, 0x0e, 0x30, 0x0c, 0xa2, 0x03, 0x04, 0x01, 0x41, 0xa0, 0x03, 0x0a, 0x01, 0x01},
		"field twice":         {0xa1, 0x0e, 0x30, 0x0c, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa0, 0x03, 0x0a, 0x01, 0x01},
		"unknown field [4]":   {0xa1, 0x07, 0x30, 0x05, 0xa4, 0x03, 0x04, 0x01, 0x41},
		"long-form length":    {0xa1, 0x81, 0x02, 0x30, 0x00},
		"indefinite length":   {0xa1, 0x80, 0x30, 0x00, 0x00, 0x00},
		"init without mechs":  {0xa0, 0x02, 0x30, 0x00},
		"empty mech list":     {0xa0, 0x06, 0x30, 0x04, 0xa0, 0x02, 0x30, 0x00},
		"too many mechs":      (&negTokenInit{mechTypes: manyMechs}).marshal(),
		"mech not an OID":     {0xa0, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x30, 0x02, 0x04, 0x00},
		"two mechListMICs":    {0xa0, 0x15, 0x30, 0x13, 0xa0, 0x07, 0x30, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04, 0xa3, 0x03, 0x04, 0x01, 0x41, 0xa4, 0x03, 0x04, 0x01, 0x42},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseNegotiationToken(b); !errors.Is(err, errMalformed) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

// FuzzNegotiationToken: no panic, and whatever parses re-encodes to the
// same bytes (no malleability: two encodings of one token would let a
// peer change bytes a mechListMIC does not cover).
func FuzzNegotiationToken(f *testing.F) {
	tr := transcript(f, "mit-spnego-ntlm.txt")
	f.Add(tr["I0"][10:])
	for _, k := range []string{"A0", "I1", "A1"} {
		f.Add(tr[k])
	}
	f.Add((&negTokenInit{mechTypes: []asn1.ObjectIdentifier{oidKerberos, oidNTLM}, hints: true, hintName: "x", hintAddress: []byte{1}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		init, resp, err := parseNegotiationToken(b)
		if err != nil {
			return
		}
		var again []byte
		if init != nil {
			// A NegTokenInit2 without hints re-encodes its MIC under [3]:
			// only hints-bearing or MIC-less inits must round-trip.
			if !init.hints || init.hintName != "" || init.hintAddress != nil || init.mechListMIC == nil {
				again = init.marshal()
			}
		} else {
			again = resp.marshal()
		}
		if again != nil && !bytes.Equal(again, b) {
			t.Fatalf("% x re-encodes as % x", b, again)
		}
	})
}
