package interop

// Negotiate choosing Kerberos when it was not the initiator's first
// choice: the SPNEGO mechListMIC (RFC 4178 5) is then mandatory, and it is
// a Kerberos GSS_GetMIC over the initiator's mechTypes with the context's
// sequence numbers (secpkg.MechListMICer). Our initiator offers NTLM
// first; the acceptor (ours, or MIT's SPNEGO with only Kerberos keys)
// chooses Kerberos.

import (
	"context"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// forEachNegKrbMode runs f with an LSA holding Kerberos (the realm's
// configuration and keytab), NTLM and Negotiate, in each provider mode.
func forEachNegKrbMode(t *testing.T, r *krbRealm, f func(t *testing.T, p *sspi.Provider)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			e, err := engine.New(&engine.Config{
				Packages: []string{kerberos.Name, "NTLM", negotiate.Name},
				Configured: map[string]secpkg.Package{kerberos.Name: kerberos.New(&kerberos.Config{
					ConfigFiles: []string{r.Config}, Keytabs: []string{r.Keytab}})},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			p := sspi.NewProvider(mode.Harness(t, e).Connect(t), nil)
			t.Cleanup(func() { p.Close() })
			f(t, p)
		})
	}
}

// negKrbClient is our Negotiate client as the realm's user, offering
// NTLM before Kerberos.
func negKrbClient(t *testing.T, p *sspi.Provider, r *krbRealm, flags sspi.ISCFlags) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity:    &sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)},
		PackageList: "NTLM,Kerberos",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: r.ServiceSPN, Flags: flags})
	t.Cleanup(func() { c.Delete() })
	return c
}

// negKrbServer is our Negotiate server accepting with Kerberos only.
func negKrbServer(t *testing.T, p *sspi.Provider, r *krbRealm) *sspi.ServerContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialInbound,
		&sspi.CredentialsOptions{Principal: r.ServiceSPN, PackageList: "Kerberos"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	s := sspi.NewServerContext(cred, nil)
	t.Cleanup(func() { s.Delete() })
	return s
}

// negHandshake runs c against s; tamper, if not nil, may change each
// token in flight (from the client when toServer). It returns the error
// of the side that failed, if one did.
func negHandshake(t *testing.T, c *sspi.ClientContext, s *sspi.ServerContext, tamper func(leg int, toServer bool, tok []byte)) error {
	t.Helper()
	ctx := context.Background()
	var in []byte
	for leg := 0; leg < 8; leg++ {
		out, cst, err := c.Initialize(ctx, in)
		if err != nil {
			return err
		}
		if len(out) == 0 && cst == sspi.StatusOK && s.Established() {
			return nil
		}
		if tamper != nil {
			tamper(leg, true, out)
		}
		back, sst, err := s.Accept(ctx, out)
		if err != nil {
			return err
		}
		if len(back) == 0 && sst == sspi.StatusOK && cst == sspi.StatusOK {
			return nil
		}
		if tamper != nil {
			tamper(leg, false, back)
		}
		in = back
	}
	t.Fatal("handshake did not end in 8 legs")
	return nil
}

// TestKerberosNegotiateNotFirst: our Negotiate initiator offers NTLM
// first, our acceptor takes Kerberos only, so both sides must send and
// check a mechListMIC; with one of its bytes changed, on either side, the
// handshake fails; after it, messages flow (the MICs took sequence
// numbers on both sides alike).
func TestKerberosNegotiateNotFirst(t *testing.T) {
	r := requireRealm(t)
	forEachNegKrbMode(t, r, func(t *testing.T, p *sspi.Provider) {
		for _, mutual := range []bool{true, false} {
			flags := krbFlags
			if !mutual {
				flags &^= sspi.ISCReqMutualAuth
			}
			c, s := negKrbClient(t, p, r, flags), negKrbServer(t, p, r)
			var legs int
			if err := negHandshake(t, c, s, func(leg int, _ bool, _ []byte) { legs = leg + 1 }); err != nil {
				t.Fatalf("mutual %v: %v", mutual, err)
			}
			id, err := s.Identity()
			if err != nil || id.Package != kerberos.Name || id.User != r.User {
				t.Fatalf("mutual %v: identity %+v, %v", mutual, id, err)
			}
			// NTLM's optimistic token refused, then Kerberos: one leg
			// more than Kerberos first would take.
			if legs < 2 {
				t.Fatalf("mutual %v: %d legs", mutual, legs)
			}
			for i := 0; i < 3; i++ {
				tok, err := c.Wrap([]byte("after the mechListMIC"), true)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.Unwrap(tok); err != nil {
					t.Fatalf("mutual %v: client to server after the handshake: %v", mutual, err)
				}
				sig, err := s.Sign([]byte("back"))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Verify([]byte("back"), sig); err != nil {
					t.Fatalf("mutual %v: server to client after the handshake: %v", mutual, err)
				}
			}
		}
		// Flip the last byte of each token that carries a mechListMIC
		// (the MIC is the last field of a NegTokenResp, its checksum the
		// last bytes): the receiver refuses it.
		for _, toServer := range []bool{true, false} {
			for _, mutual := range []bool{true, false} {
				flags := krbFlags
				if !mutual {
					flags &^= sspi.ISCReqMutualAuth
				}
				c, s := negKrbClient(t, p, r, flags), negKrbServer(t, p, r)
				changed := false
				err := negHandshake(t, c, s, func(leg int, ts bool, tok []byte) {
					if ts == toServer && !changed && hasMechListMIC(t, tok) {
						tok[len(tok)-1] ^= 0x01
						changed = true
					}
				})
				if !changed {
					t.Fatalf("mutual %v: no mechListMIC to the %s", mutual, map[bool]string{true: "server", false: "client"}[toServer])
				}
				if !errors.Is(err, sspi.StatusMessageAltered) && !errors.Is(err, sspi.StatusDowngradeDetected) {
					t.Fatalf("mutual %v: mechListMIC to the %s changed: %v", mutual, map[bool]string{true: "server", false: "client"}[toServer], err)
				}
			}
		}
	})
}

// TestKerberosNegotiateNotFirstMITAcceptor: our Negotiate initiator
// offers NTLM first to MIT's SPNEGO acceptor, which has Kerberos keys
// only (gss_set_neg_mechs): it chooses Kerberos and requires our mechListMIC, and sends its
// own; then protected messages both ways.
func TestKerberosNegotiateNotFirstMITAcceptor(t *testing.T) {
	r := requireRealm(t)
	forEachNegKrbMode(t, r, func(t *testing.T, p *sspi.Provider) {
		c := negKrbClient(t, p, r, krbFlags)
		peer := startMIT(t, r, "", "acceptor", "--mech", "spnego", "--neg-mechs", "krb5")
		ctx := context.Background()
		out, st, err := c.Initialize(ctx, nil)
		for legs := 0; ; legs++ {
			if err != nil {
				t.Fatalf("Initialize: %v", err)
			}
			if legs > 6 {
				t.Fatal("too many legs")
			}
			if len(out) > 0 {
				peer.send("TOK", out)
			}
			if st == sspi.StatusOK {
				break
			}
			out, st, err = c.Initialize(ctx, peer.token())
		}
		d := doneKrb(t, peer)
		if d.Mech != oidKrb5 {
			t.Fatalf("MIT negotiated %q, want Kerberos", d.Mech)
		}
		if ni, err := c.NegotiationInfo(ctx); err != nil || ni.Package.Name != kerberos.Name {
			t.Fatalf("our context chose %+v, %v", ni, err)
		}
		krbMessages(t, &c.Context, peer)
	})
}

const oidKrb5 = "1.2.840.113554.1.2.2"

// negTokenResp is RFC 4178's NegTokenResp (inside its [1] tag).
type negTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// hasMechListMIC reports whether tok is a NegTokenResp with a
// mechListMIC.
func hasMechListMIC(t *testing.T, tok []byte) bool {
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(tok, &outer); err != nil || outer.Class != asn1.ClassContextSpecific || outer.Tag != 1 {
		return false
	}
	var resp negTokenResp
	if _, err := asn1.Unmarshal(outer.Bytes, &resp); err != nil {
		t.Fatalf("NegTokenResp: %v", err)
	}
	return len(resp.MechListMIC) > 0
}
