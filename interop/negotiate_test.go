package interop

import (
	"context"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
)

func init() { secpkg.Register(negotiate.Name, negotiate.New(nil)) }

// oidNTLM is what python-gssapi reports as the negotiated mechanism.
const oidNTLM = "1.3.6.1.4.1.311.2.2.10"

// negotiateClient returns our Negotiate client context as alice.
func negotiateClient(t *testing.T, p *sspi.Provider, pw string) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(pw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: spn, Flags: clientFlags})
	t.Cleanup(func() { c.Delete() })
	return c
}

// runClient drives our client c against a peer acceptor until both are
// established; it returns the peer's DONE line.
func runClient(t *testing.T, c *sspi.ClientContext, p *peer) peerDone {
	t.Helper()
	ctx := context.Background()
	out, st, err := c.Initialize(ctx, nil)
	for {
		if err != nil {
			t.Fatalf("Initialize: %v", err)
		}
		if len(out) > 0 {
			p.send("TOK", out)
		}
		if st == sspi.StatusOK {
			return p.done()
		}
		out, st, err = c.Initialize(ctx, p.token())
	}
}

// runServer drives our server s against a peer initiator until both are
// established; it returns the peer's DONE line.
func runServer(t *testing.T, s *sspi.ServerContext, p *peer) peerDone {
	t.Helper()
	ctx := context.Background()
	for {
		out, st, err := s.Accept(ctx, p.token())
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		if len(out) > 0 {
			p.send("TOK", out)
		}
		if st == sspi.StatusOK {
			return p.done()
		}
	}
}

// checkNegotiated checks that Negotiate chose NTLM on our side and the
// peer's.
func checkNegotiated(t *testing.T, c *sspi.Context, d peerDone) {
	t.Helper()
	ni, err := c.NegotiationInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ni.Package.Name != ntlm.Name || ni.State != sspi.NegotiationComplete {
		t.Fatalf("we negotiated %q (%v)", ni.Package.Name, ni.State)
	}
	if d.Mech != oidNTLM {
		t.Fatalf("MIT's SPNEGO negotiated %q", d.Mech)
	}
	if !c.Mapped() {
		t.Fatal("our context was not mapped to the application process")
	}
}

// TestNegotiateOurClientMITAcceptor: our Negotiate initiator, MIT's SPNEGO
// acceptor with gss-ntlmssp (no Kerberos credentials, so NTLM): the
// handshake with both mechListMICs, the session key, then protected
// messages both ways.
func TestNegotiateOurClientMITAcceptor(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startPeer(t, "acceptor", nil, "--mech", "spnego")
		c := negotiateClient(t, p, password)
		d := runClient(t, c, peer)
		if d.Peer != domain+`\`+user {
			t.Fatalf("MIT's SPNEGO authenticated %q", d.Peer)
		}
		checkNegotiated(t, &c.Context, d)
		checkSessionKey(t, &c.Context, d)
		exchangeMessages(t, &c.Context, peer)
	})
}

// TestNegotiateMITInitiatorOurAcceptor: MIT's SPNEGO initiator over
// gss-ntlmssp, our Negotiate acceptor.
func TestNegotiateMITInitiatorOurAcceptor(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=" + password},
			"--mech", "spnego", "--user", domain+`\`+user, "--target", peerTarget, "--password-env", "GSS_PEER_PASSWORD")
		s := ourServer(t, p, negotiate.Name, nil)
		d := runServer(t, s, peer)
		id, err := s.Identity()
		if err != nil {
			t.Fatal(err)
		}
		if id.User != user || id.Domain != domain || id.Package != ntlm.Name {
			t.Fatalf("identity %+v", id)
		}
		checkNegotiated(t, &s.Context, d)
		checkSessionKey(t, &s.Context, d)
		exchangeMessages(t, &s.Context, peer)
	})
}

// TestNegotiateWrongPassword: MIT's SPNEGO initiator with a wrong
// password is refused with SEC_E_LOGON_DENIED.
func TestNegotiateWrongPassword(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=wrong-" + password},
			"--mech", "spnego", "--user", domain+`\`+user, "--target", peerTarget, "--password-env", "GSS_PEER_PASSWORD")
		s := ourServer(t, p, negotiate.Name, nil)
		ctx := context.Background()
		var err error
		for err == nil {
			var out []byte
			var st sspi.Status
			out, st, err = s.Accept(ctx, peer.token())
			if err == nil && st == sspi.StatusOK {
				t.Fatal("a wrong password was accepted")
			}
			if len(out) > 0 {
				peer.send("TOK", out)
			}
		}
		wantStatus(t, "wrong password", err, sspi.StatusLogonDenied)
	})
}
