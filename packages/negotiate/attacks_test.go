package negotiate_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// pair returns a fresh Negotiate client (alice) and server on e.
func pair(t *testing.T, p *sspi.Provider) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, negotiate.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.AcquireCredentials(ctx, negotiate.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity})
	s := sspi.NewServerContext(sc, &sspi.ServerConfig{Flags: sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity})
	t.Cleanup(func() { c.Delete(); s.Delete(); cc.Free(); sc.Free() })
	return c, s
}

func provider(t *testing.T) *sspi.Provider {
	p := sspi.NewProvider(secpkgtest.Embedded(newEngine(t)).Connect(t), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

// initToken and respToken parse a token the man in the middle sees.
func initToken(t *testing.T, tok []byte) *negotiate.NegTokenInit {
	t.Helper()
	oid, inner, ok := negotiate.Unframe(tok)
	if !ok || !oid.Equal(negotiate.OIDSPNEGO) {
		t.Fatalf("leg 0 is not an SPNEGO initial token")
	}
	init, _, err := negotiate.ParseNegotiationToken(inner)
	if err != nil || init == nil {
		t.Fatalf("leg 0: %v", err)
	}
	return init
}

func respToken(t *testing.T, tok []byte) *negotiate.NegTokenResp {
	t.Helper()
	_, resp, err := negotiate.ParseNegotiationToken(tok)
	if err != nil || resp == nil {
		t.Fatalf("not a NegTokenResp: %v", err)
	}
	return resp
}

// TestHandshakeShape: over NTLM the exchange is the four tokens MIT and
// Windows send, both mechListMICs included, and each side reports NTLM.
func TestHandshakeShape(t *testing.T) {
	p := provider(t)
	c, s := pair(t, p)
	var legs [][]byte
	err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte {
		legs = append(legs, append([]byte{}, tok...))
		return tok
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(legs) != 4 {
		t.Fatalf("%d tokens, want 4 (NegTokenInit, CHALLENGE, AUTHENTICATE+MIC, accept-completed+MIC)", len(legs))
	}
	init := initToken(t, legs[0])
	if len(init.MechTypes()) != 1 || !init.MechTypes()[0].Equal(negotiate.OIDNTLM) || !bytes.HasPrefix(init.MechToken(), []byte("NTLMSSP\x00\x01")) {
		t.Fatalf("NegTokenInit offers %v", init.MechTypes())
	}
	a0, i1, a1 := respToken(t, legs[1]), respToken(t, legs[2]), respToken(t, legs[3])
	if a0.State() != 1 || !a0.SupportedMech().Equal(negotiate.OIDNTLM) || a0.MIC() != nil {
		t.Fatalf("first reply: state %d mech %v", a0.State(), a0.SupportedMech())
	}
	if i1.State() != 1 || len(i1.MIC()) != 16 || !bytes.HasPrefix(i1.ResponseToken(), []byte("NTLMSSP\x00\x03")) {
		t.Fatalf("initiator's last token: state %d, %d-byte MIC", i1.State(), len(i1.MIC()))
	}
	if a1.State() != 0 || len(a1.MIC()) != 16 || a1.ResponseToken() != nil {
		t.Fatalf("acceptor's last token: state %d, %d-byte MIC", a1.State(), len(a1.MIC()))
	}
	for _, ctx := range []*sspi.Context{&c.Context, &s.Context} {
		ni, err := ctx.NegotiationInfo(context.Background())
		if err != nil || ni.Package.Name != "NTLM" || ni.State != sspi.NegotiationComplete {
			t.Fatalf("negotiation info %+v, %v", ni, err)
		}
	}
}

// TestDowngrade plays the man in the middle against the mechanism
// negotiation; each attack must fail with the exact status.
func TestDowngrade(t *testing.T) {
	rewriteInit := func(f func(*negotiate.NegTokenInit)) func(t *testing.T, leg int, tok []byte) []byte {
		return func(t *testing.T, leg int, tok []byte) []byte {
			if leg != 0 {
				return tok
			}
			init := initToken(t, tok)
			f(init)
			return negotiate.Frame(negotiate.OIDSPNEGO, init.Marshal())
		}
	}
	rewriteResp := func(at int, f func(*negotiate.NegTokenResp)) func(t *testing.T, leg int, tok []byte) []byte {
		return func(t *testing.T, leg int, tok []byte) []byte {
			if leg != at {
				return tok
			}
			r := respToken(t, tok)
			f(r)
			return r.Marshal()
		}
	}
	flip := func(b []byte) []byte { b = append([]byte{}, b...); b[len(b)-1] ^= 1; return b }
	cases := []struct {
		name string
		mitm func(t *testing.T, leg int, tok []byte) []byte
		want sspi.Status
	}{
		// The acceptor sees a list the initiator never sent: both
		// MICs cover different bytes.
		{"mechTypes extended", rewriteInit(func(m *negotiate.NegTokenInit) {
			m.SetMechTypes(append(m.MechTypes(), negotiate.OIDKerberos))
		}), sspi.StatusDowngradeDetected},
		// The acceptor then picks NTLM as a counter-proposal
		// (request-mic, no token) for what the initiator sent as its
		// first choice: the initiator refuses the contradiction.
		{"mechTypes with an unknown mechanism first", rewriteInit(func(m *negotiate.NegTokenInit) {
			m.SetMechTypes(append([]asn1.ObjectIdentifier{negotiate.OIDNegoEx}, m.MechTypes()...))
		}), sspi.StatusInvalidToken},
		{"initiator's MIC stripped", rewriteResp(2, func(m *negotiate.NegTokenResp) { m.SetMIC(nil) }), sspi.StatusDowngradeDetected},
		{"initiator's MIC flipped", rewriteResp(2, func(m *negotiate.NegTokenResp) { m.SetMIC(flip(m.MIC())) }), sspi.StatusDowngradeDetected},
		{"initiator's MIC garbage", rewriteResp(2, func(m *negotiate.NegTokenResp) { m.SetMIC([]byte("garbage")) }), sspi.StatusDowngradeDetected},
		{"acceptor's MIC stripped", rewriteResp(3, func(m *negotiate.NegTokenResp) { m.SetMIC(nil) }), sspi.StatusDowngradeDetected},
		{"acceptor's MIC flipped", rewriteResp(3, func(m *negotiate.NegTokenResp) { m.SetMIC(flip(m.MIC())) }), sspi.StatusDowngradeDetected},
		{"acceptor says complete early", rewriteResp(1, func(m *negotiate.NegTokenResp) { m.SetState(0) }), sspi.StatusInvalidToken},
		{"initiator says complete early", rewriteResp(2, func(m *negotiate.NegTokenResp) { m.SetState(0) }), sspi.StatusInvalidToken},
		{"request-mic from the initiator", rewriteResp(2, func(m *negotiate.NegTokenResp) { m.SetState(3) }), sspi.StatusInvalidToken},
		{"negState out of range", func(t *testing.T, leg int, tok []byte) []byte {
			if leg != 1 {
				return tok
			}
			// negState is the first field: a0 03 0a 01 <state>.
			i := bytes.Index(tok, []byte{0xa0, 0x03, 0x0a, 0x01})
			tok[i+4] = 4
			return tok
		}, sspi.StatusInvalidToken},
	}
	p := provider(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s := pair(t, p)
			err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte { return tc.mitm(t, leg, tok) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("handshake: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestOptimisticTokenNotFirst: an initiator that lists another mechanism
// first but sends an NTLM token must not have that token processed: the
// acceptor picks NTLM, asks for the MIC (request-mic) and sends no
// token, so the exchange restarts (RFC 4178 Section 3.2).
func TestOptimisticTokenNotFirst(t *testing.T) {
	p := provider(t)
	c, s := pair(t, p)
	ctx := context.Background()
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	init := initToken(t, tok)
	init.SetMechTypes([]asn1.ObjectIdentifier{negotiate.OIDKerberos, negotiate.OIDNTLM})
	out, st, err := s.Accept(ctx, negotiate.Frame(negotiate.OIDSPNEGO, init.Marshal()))
	if err != nil || st != sspi.StatusContinueNeeded {
		t.Fatalf("Accept: %v %v", st, err)
	}
	r := respToken(t, out)
	if r.State() != 3 || !r.SupportedMech().Equal(negotiate.OIDNTLM) || r.ResponseToken() != nil {
		t.Fatalf("reply: state %d mech %v token %d bytes; want request-mic, NTLM, none", r.State(), r.SupportedMech(), len(r.ResponseToken()))
	}
}

// TestRawNTLM: like Windows, the acceptor takes a raw NTLM token and runs
// NTLM directly.
func TestRawNTLM(t *testing.T) {
	p := provider(t)
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	sc, err := p.AcquireCredentials(ctx, negotiate.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: sspi.ISCReqConfidentiality})
	s := sspi.NewServerContext(sc, nil)
	defer c.Delete()
	defer s.Delete()
	if err := secpkgtest.Handshake(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity()
	if err != nil || id.Package != "NTLM" || id.User != user {
		t.Fatalf("identity %+v, %v", id, err)
	}
	msg, err := c.Wrap([]byte("raw"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Unwrap(msg); err != nil || string(got) != "raw" {
		t.Fatalf("Unwrap: %q %v", got, err)
	}
}

// TestPackageList: a credential's PackageList (SEC_WINNT_AUTH_IDENTITY_EX)
// restricts what Negotiate offers; a list that leaves nothing, or names
// a package Negotiate cannot choose, is refused at AcquireCredentials.
func TestPackageList(t *testing.T) {
	p := provider(t)
	ctx := context.Background()
	id := &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}
	for _, tc := range []struct {
		list string
		want error
	}{
		{"NTLM", nil},
		{" kerberos , ntlm ", nil},
		{"!Kerberos", nil},
		{"!NTLM", sspi.StatusNoCredentials},
		{"Kerberos", sspi.StatusNoCredentials}, // not enabled in this engine
		{"NTLM,Frob", sspi.StatusPackageNotFound},
		{"!OPAQUE", sspi.StatusPackageNotFound},
	} {
		cred, err := p.AcquireCredentials(ctx, negotiate.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: id, PackageList: tc.list})
		if tc.want == nil {
			if err != nil {
				t.Errorf("%q: %v", tc.list, err)
				continue
			}
			c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target})
			tok, _, err := c.Initialize(ctx, nil)
			if err != nil {
				t.Errorf("%q: %v", tc.list, err)
			} else if init := initToken(t, tok); len(init.MechTypes()) != 1 || !init.MechTypes()[0].Equal(negotiate.OIDNTLM) {
				t.Errorf("%q: offers %v", tc.list, init.MechTypes())
			}
			c.Delete()
			cred.Free()
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.list, err, tc.want)
		}
	}
}
