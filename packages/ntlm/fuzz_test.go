package ntlm

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// Native fuzz targets, one per parser. Each checks: no panic; a message
// that parses re-marshals to a message that parses to the same fields,
// and re-marshalling that gives the same bytes (the encoding we produce
// is a fixed point); and where the format has a single encoding (AV pair
// lists, packed contexts), re-marshalling gives back the input exactly.
// Seeds live in testdata/fuzz/FuzzXxx/ (see testdata/fuzz/README.md) and
// are added here from the MS-NLMP 4.2 examples.

func vectorMessages(f *testing.F, name string) [][]byte {
	v := loadVectors(f)
	var out [][]byte
	for _, s := range []vectorSection{v.V1, v.V1ESS, v.V2} {
		b, _ := hex.DecodeString(s.Messages[name].Hex)
		out = append(out, b)
	}
	return out
}

func FuzzNegotiate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var m negotiateMsg
		if m.unmarshal(data) != nil {
			return
		}
		out, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var m2 negotiateMsg
		if err := m2.unmarshal(out); err != nil {
			t.Fatalf("re-marshalled message does not parse: %v", err)
		}
		if m.flags != m2.flags || !bytes.Equal(m.domain, m2.domain) || !bytes.Equal(m.workstation, m2.workstation) || !reflect.DeepEqual(m.version, m2.version) {
			t.Fatal("fields changed")
		}
		out2, _ := m2.marshal()
		if !bytes.Equal(out, out2) {
			t.Fatal("marshal is not a fixed point")
		}
	})
}

func FuzzChallenge(f *testing.F) {
	for _, m := range vectorMessages(f, "CHALLENGE_MESSAGE") {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m challengeMsg
		if m.unmarshal(data) != nil {
			return
		}
		out, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var m2 challengeMsg
		if err := m2.unmarshal(out); err != nil {
			t.Fatalf("re-marshalled message does not parse: %v", err)
		}
		if m.flags != m2.flags || m.serverChallenge != m2.serverChallenge || !bytes.Equal(m.targetName, m2.targetName) ||
			!bytes.Equal(m.targetInfo, m2.targetInfo) || !reflect.DeepEqual(m.version, m2.version) {
			t.Fatal("fields changed")
		}
		if len(m.targetInfo) > 0 && !bytes.Equal(m.avPairs.marshal(), m.targetInfo) {
			t.Fatal("TargetInfo is not canonical")
		}
		out2, _ := m2.marshal()
		if !bytes.Equal(out, out2) {
			t.Fatal("marshal is not a fixed point")
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	for _, m := range vectorMessages(f, "AUTHENTICATE_MESSAGE") {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m authenticateMsg
		if m.unmarshal(data) != nil {
			return
		}
		m.names()
		m.rawWithZeroMIC()
		out, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var m2 authenticateMsg
		if err := m2.unmarshal(out); err != nil {
			t.Fatalf("re-marshalled message does not parse: %v", err)
		}
		for i, p := range [][2][]byte{{m.lmResponse, m2.lmResponse}, {m.ntResponse, m2.ntResponse}, {m.domain, m2.domain},
			{m.user, m2.user}, {m.workstation, m2.workstation}, {m.encryptedKey, m2.encryptedKey}, {m.mic, m2.mic}} {
			if !bytes.Equal(p[0], p[1]) {
				t.Fatalf("field %d changed", i)
			}
		}
		if m.flags != m2.flags {
			t.Fatal("flags changed")
		}
		out2, _ := m2.marshal()
		if !bytes.Equal(out, out2) {
			t.Fatal("marshal is not a fixed point")
		}
		if len(m.ntResponse) > ntProofStrSize {
			var c ntlmv2ClientChallenge
			if c.unmarshal(m.ntResponse[ntProofStrSize:]) == nil {
				var c2 ntlmv2ClientChallenge
				if err := c2.unmarshal(c.marshal()); err != nil || !reflect.DeepEqual(c, c2) {
					t.Fatalf("NTLMv2_CLIENT_CHALLENGE does not round-trip: %v", err)
				}
			}
		}
	})
}

func FuzzAVPairs(f *testing.F) {
	v := loadVectors(f)
	ti, _ := hex.DecodeString(v.V2.AVPairs["TargetInfo"].Hex)
	f.Add(ti, false)
	f.Add(append(append([]byte(nil), ti...), 0, 0, 0, 0), true)
	f.Fuzz(func(t *testing.T, data []byte, trailingZeros bool) {
		l, err := parseAVPairs(data, trailingZeros)
		if err != nil {
			return
		}
		out := l.marshal()
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("AV pairs do not re-marshal to the input:\n%x\n%x", out, data)
		}
		for _, c := range data[len(out):] {
			if c != 0 || !trailingZeros {
				t.Fatal("accepted non-zero data after MsvAvEOL")
			}
		}
		l.flags()
		l.timestamp()
	})
}

func FuzzPackedContext(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, exported bool) {
		o := originEstablished
		if exported {
			o = originExported
		}
		s, err := unpackSession(data, o)
		if err != nil {
			if secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
				t.Fatalf("status %v", secpkg.StatusOf(err))
			}
			return
		}
		if out := s.pack(o); !bytes.Equal(out, data) {
			t.Fatalf("packed context does not re-pack to the input")
		}
		// A context that parses must be safe to use.
		buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("x")}}
		u := &userContext{s: s}
		u.SealMessage(0, buf, 0)
		u.UnsealMessage(buf, 0)
		u.MakeSignature(0, buf, 0)
		u.VerifySignature(buf, 0)
	})
}

// FuzzAcceptor drives the acceptor with two fuzzed tokens, as a hostile
// client would (multi-leg harness). It must fail cleanly, never panic,
// and never establish a context.
func FuzzAcceptor(f *testing.F) {
	f.Fuzz(func(t *testing.T, neg, auth []byte) {
		e := newEnv(t, nil)
		e.srvLSA.rand.seed, e.srvLSA.rand.buf = "fuzz", nil // challenges no recorded answer matches
		ctx := context.Background()
		sc, _ := e.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})
		res, err := e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: neg})
		if err != nil {
			return
		}
		if _, err := e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: res.Context, Token: auth}); err == nil {
			t.Fatal("a fuzzed AUTHENTICATE_MESSAGE established a context")
		}
		e.srv.DeleteContext(ctx, res.Context)
	})
}

// TestWriteFuzzSeeds regenerates the seed corpus files from a real
// handshake and the MS-NLMP examples: NTLM_WRITE_SEEDS=1 go test -run
// WriteFuzzSeeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NTLM_WRITE_SEEDS") == "" {
		t.Skip("set NTLM_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	if r.err() != nil {
		t.Fatal(r.err())
	}
	v := loadVectors(t)
	vec := func(s vectorSection, name string) []byte { b, _ := hex.DecodeString(s.Messages[name].Hex); return b }
	ti, _ := hex.DecodeString(v.V2.AVPairs["TargetInfo"].Hex)
	var am authenticateMsg
	am.unmarshal(r.auth)
	exported, _ := r.cliUser.ExportContext()
	write := func(target, name string, vals ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		s := "go test fuzz v1\n"
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				s += fmt.Sprintf("[]byte(%q)\n", v)
			case bool:
				s += fmt.Sprintf("bool(%v)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzNegotiate", "ours-sign-seal", r.neg)
	write("FuzzNegotiate", "minimal-no-version", []byte("NTLMSSP\x00\x01\x00\x00\x00\x01\x02\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	write("FuzzNegotiate", "domain-offset-wraps", []byte("NTLMSSP\x00\x01\x00\x00\x00\x01\x00\x00\x00/\x00/\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"))
	write("FuzzChallenge", "ours-with-timestamp", r.chal)
	write("FuzzChallenge", "ms-nlmp-4.2.4.3", vec(v.V2, "CHALLENGE_MESSAGE"))
	write("FuzzChallenge", "ms-nlmp-4.2.2.3-empty-target-info", vec(v.V1, "CHALLENGE_MESSAGE"))
	write("FuzzAuthenticate", "ours-ntlmv2-with-mic", r.auth)
	write("FuzzAuthenticate", "ms-nlmp-4.2.4.3-no-mic", vec(v.V2, "AUTHENTICATE_MESSAGE"))
	write("FuzzAuthenticate", "ms-nlmp-4.2.2.3-ntlmv1", vec(v.V1, "AUTHENTICATE_MESSAGE"))
	write("FuzzAuthenticate", "ms-nlmp-4.2.3.3-ntlmv1-ess", vec(v.V1ESS, "AUTHENTICATE_MESSAGE"))
	write("FuzzAVPairs", "ms-nlmp-4.2.4-target-info", ti, false)
	write("FuzzAVPairs", "ours-client-blob-pairs-z4", am.ntResponse[ntProofStrSize+clientChallengeFixedSize:], true)
	write("FuzzAVPairs", "timestamp-avlen-7", []byte("\x07\x00\x07\x00\x01\x02\x03\x04\x05\x06\x07\x00\x00\x00\x00"), false)
	write("FuzzAVPairs", "duplicate-pair", []byte("\x01\x00\x02\x00A\x00\x01\x00\x02\x00A\x00\x00\x00\x00\x00"), false)
	write("FuzzPackedContext", "ours-initiator", r.cliRes.ContextData, false)
	write("FuzzPackedContext", "ours-acceptor", r.srvRes.ContextData, false)
	write("FuzzPackedContext", "ours-exported", exported, true)
	write("FuzzAcceptor", "ours-negotiate-and-authenticate", r.neg, r.auth)
	write("FuzzAcceptor", "ms-nlmp-4.2.4.3-authenticate", r.neg, vec(v.V2, "AUTHENTICATE_MESSAGE"))

	// An OEM client (python ntlm-auth's flags) and its exchange.
	oemNeg := oemNegotiate(t, 0xe288b032)
	o := e.handshake(hsOpts{editNeg: func([]byte) []byte { return oemNeg }, forge: forger(t, forgeOpts{oem: true})})
	if o.err() != nil {
		t.Fatal(o.err())
	}
	write("FuzzNegotiate", "python-ntlm-auth-oem", oemNeg)
	write("FuzzChallenge", "ours-oem", o.chal)
	write("FuzzAuthenticate", "oem-names", o.auth)
	write("FuzzAcceptor", "oem-negotiate-and-authenticate", oemNeg, o.auth)
	write("FuzzOEMName", "cp437-high", []byte("J\x81rgen \x9c\xe1\xff"))
	write("FuzzOEMName", "nul", []byte("ali\x00ce"))
}

// FuzzOEMName: decodeOEM accepts exactly the names without NUL up to
// maxNameBytes, and code page 437 is a bijection: encoding what it
// decoded gives the input back.
func FuzzOEMName(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeOEM(b)
		if err != nil {
			if !bytes.Contains(b, []byte{0}) && len(b) <= maxNameBytes {
				t.Fatalf("decodeOEM(%q): %v", b, err)
			}
			return
		}
		if out := encodeOEM(s); !bytes.Equal(out, b) {
			t.Fatalf("encodeOEM(decodeOEM(%q)) = %q", b, out)
		}
	})
}
