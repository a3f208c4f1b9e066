package interop

// Negotiate with Kerberos as the preferred package (the default order,
// Kerberos then NTLM) against the MIT realm of scripts/dev-realm.sh:
// our SPNEGO and MIT's SPNEGO both ways with Kerberos chosen (handshake,
// then wrap/unwrap and MICs), the MS legacy Kerberos OID
// (1.2.840.48018.1.2.2) offered by our initiator and taken by our
// acceptor, the fallback to NTLM when Kerberos cannot start (no ticket
// obtainable, no keys for the service), and the downgrade an attacker
// tries by stripping Kerberos from the initiator's mechTypes.

import (
	"context"
	"encoding/asn1"
	"errors"
	"os"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

var (
	asnKrb5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	asnMSKrb5 = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	asnNTLM   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	asnSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
)

// unknownSPN is a service the KDC does not know: Kerberos cannot get a
// ticket for it, and the keytab has no key for it.
const unknownSPN = "host/unknown.localhost"

// forEachNegPrefMode runs f with a provider of negPrefProvider in each
// provider mode.
func forEachNegPrefMode(t *testing.T, r *krbRealm, cfg *negotiate.Config, f func(t *testing.T, p *sspi.Provider)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f(t, negPrefProvider(t, r, cfg, r.Keytab, mode.Harness))
		})
	}
}

// negPrefProvider is an LSA holding Kerberos (the realm's configuration
// and keytab), NTLM with an account for the realm's user (same name and
// password, the realm as its domain) and Negotiate configured by cfg
// (nil: the default order, Kerberos then NTLM).
func negPrefProvider(t *testing.T, r *krbRealm, cfg *negotiate.Config, keytab string, harness func(testing.TB, *engine.Engine) secpkgtest.Harness) *sspi.Provider {
	t.Helper()
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Packages: []string{kerberos.Name, ntlm.Name, negotiate.Name},
		Configured: map[string]secpkg.Package{
			kerberos.Name:  kerberos.New(&kerberos.Config{ConfigFiles: []string{r.Config}, Keytabs: []string{keytab}}),
			negotiate.Name: negotiate.New(cfg),
		},
		Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: r.Realm,
			DNSMachineName: "localhost", DNSDomainName: "opensspi.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	if err := e.SetPassword(ctx, r.Realm, r.User, []byte(r.Password)); err != nil {
		t.Fatal(err)
	}
	p := sspi.NewProvider(harness(t, e).Connect(t), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

// negPrefClient is our Negotiate client as the realm's user with the
// default package list, towards target.
func negPrefClient(t *testing.T, p *sspi.Provider, r *krbRealm, target string) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target, Flags: krbFlags})
	t.Cleanup(func() { c.Delete() })
	return c
}

// negPrefServer is our Negotiate server accepting as principal with the
// default package list.
func negPrefServer(t *testing.T, p *sspi.Provider, principal string) *sspi.ServerContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialInbound,
		&sspi.CredentialsOptions{Principal: principal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	s := sspi.NewServerContext(cred, nil)
	t.Cleanup(func() { s.Delete() })
	return s
}

// spnegoInit parses a NegTokenInit as it travels (GSS-framed).
type spnegoInit struct {
	MechTypes   []asn1.ObjectIdentifier `asn1:"explicit,optional,tag:0"`
	ReqFlags    asn1.BitString          `asn1:"explicit,optional,tag:1"`
	MechToken   []byte                  `asn1:"explicit,optional,tag:2"`
	MechListMIC []byte                  `asn1:"explicit,optional,tag:3"`
}

// parseInit returns the NegTokenInit inside a framed SPNEGO token.
func parseInit(t *testing.T, tok []byte) spnegoInit {
	t.Helper()
	var frame struct {
		Mech asn1.ObjectIdentifier
		Init asn1.RawValue
	}
	if _, err := asn1.UnmarshalWithParams(tok, &frame, "application,tag:0"); err != nil || !frame.Mech.Equal(asnSPNEGO) {
		t.Fatalf("not a framed SPNEGO token: %v", err)
	}
	if frame.Init.Class != asn1.ClassContextSpecific || frame.Init.Tag != 0 {
		t.Fatalf("not a NegTokenInit: tag %d", frame.Init.Tag)
	}
	var init spnegoInit
	if _, err := asn1.Unmarshal(frame.Init.Bytes, &init); err != nil {
		t.Fatalf("NegTokenInit: %v", err)
	}
	return init
}

// marshalInit frames init as an initial SPNEGO token.
func marshalInit(t *testing.T, init spnegoInit) []byte {
	t.Helper()
	body, err := asn1.Marshal(init)
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: body})
	oid, _ := asn1.Marshal(asnSPNEGO)
	out, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(oid, inner...)})
	return out
}

// parseResp returns the NegTokenResp tok.
func parseResp(t *testing.T, tok []byte) negTokenResp {
	t.Helper()
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(tok, &outer); err != nil || outer.Class != asn1.ClassContextSpecific || outer.Tag != 1 {
		t.Fatalf("not a NegTokenResp: %v", err)
	}
	var resp negTokenResp
	if _, err := asn1.Unmarshal(outer.Bytes, &resp); err != nil {
		t.Fatalf("NegTokenResp: %v", err)
	}
	return resp
}

// marshalResp encodes resp as a NegTokenResp.
func marshalResp(t *testing.T, resp negTokenResp) []byte {
	t.Helper()
	body, err := asn1.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: body})
	return out
}

func sameOIDs(a, b []asn1.ObjectIdentifier) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// exactStatus checks that the status err reports (its outermost
// SEC_E_* code, not one it wraps) is want.
func exactStatus(t *testing.T, what string, err error, want sspi.Status) {
	t.Helper()
	if err == nil || sspi.StatusOf(err) != want {
		t.Fatalf("%s: got %v (%v), want %v", what, sspi.StatusOf(err), err, want)
	}
}

// chose checks that our context negotiated the package want.
func chose(t *testing.T, c *sspi.Context, want string) {
	t.Helper()
	ni, err := c.NegotiationInfo(context.Background())
	if err != nil || ni.Package.Name != want || ni.State != sspi.NegotiationComplete {
		t.Fatalf("negotiated %+v, %v; want %s", ni, err, want)
	}
}

// TestNegotiateKerberosOurInitiatorMIT: our Negotiate initiator with the
// default order against MIT's SPNEGO acceptor holding the service's keys
// and gss-ntlmssp: the NegTokenInit offers Kerberos then NTLM with the
// AP-REQ as optimistic token (with LegacyKerberosOID, Windows' list: the
// legacy OID first), MIT chooses Kerberos and names it by the OID we
// offered first, and protected messages flow both ways.
func TestNegotiateKerberosOurInitiatorMIT(t *testing.T) {
	r := requireRealm(t)
	requirePeers(t) // MIT's acceptor has gss-ntlmssp beside Kerberos
	for _, legacy := range []bool{false, true} {
		want := []asn1.ObjectIdentifier{asnKrb5, asnNTLM}
		if legacy {
			want = []asn1.ObjectIdentifier{asnMSKrb5, asnKrb5, asnNTLM}
		}
		t.Run(map[bool]string{false: "standard", true: "legacy"}[legacy], func(t *testing.T) {
			forEachNegPrefMode(t, r, &negotiate.Config{LegacyKerberosOID: legacy}, func(t *testing.T, p *sspi.Provider) {
				c := negPrefClient(t, p, r, r.ServiceSPN)
				peer := startMIT(t, r, "", "acceptor", "--mech", "spnego")
				ctx := context.Background()
				out, st, err := c.Initialize(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				init := parseInit(t, out)
				if !sameOIDs(init.MechTypes, want) || len(init.MechToken) == 0 {
					t.Fatalf("NegTokenInit offers %v (optimistic token %d bytes), want %v", init.MechTypes, len(init.MechToken), want)
				}
				for legs := 0; ; legs++ {
					if legs > 4 {
						t.Fatal("too many legs")
					}
					if len(out) > 0 {
						peer.send("TOK", out)
					}
					if st == sspi.StatusOK {
						break
					}
					in := peer.token()
					if legs == 0 {
						if resp := parseResp(t, in); !resp.SupportedMech.Equal(want[0]) {
							t.Fatalf("MIT selected %v, want %v", resp.SupportedMech, want[0])
						}
					}
					out, st, err = c.Initialize(ctx, in)
					if err != nil {
						t.Fatalf("Initialize: %v", err)
					}
				}
				d := doneKrb(t, peer)
				if d.Mech != oidKrb5 {
					t.Fatalf("MIT negotiated %q, want Kerberos", d.Mech)
				}
				chose(t, &c.Context, kerberos.Name)
				krbMessages(t, &c.Context, peer)
			})
		})
	}
}

// TestNegotiateKerberosMITInitiatorOurAcceptor: MIT's SPNEGO initiator
// (Kerberos, as the realm's user) against our Negotiate acceptor with the
// default order: Kerberos is chosen, the AP-REP goes back, the identity
// is the realm's user, and protected messages flow both ways. The
// legacy case puts Windows' legacy OID first in MIT's mechTypes (MIT
// never offers it itself; nothing protects the list when the first
// mechanism's optimistic token is taken): our acceptor takes it as
// Kerberos and names it back, and MIT accepts that answer.
func TestNegotiateKerberosMITInitiatorOurAcceptor(t *testing.T) {
	r := requireRealm(t)
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "standard", true: "legacy"}[legacy], func(t *testing.T) {
			forEachNegPrefMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
				peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ,replay,sequence", "--mech", "spnego", "--neg-mechs", "krb5")
				s := negPrefServer(t, p, r.ServiceSPN)
				ctx := context.Background()
				in := peer.token()
				init := parseInit(t, in)
				if !sameOIDs(init.MechTypes, []asn1.ObjectIdentifier{asnKrb5}) {
					t.Fatalf("MIT offers %v", init.MechTypes)
				}
				want := asnKrb5
				if legacy {
					init.MechTypes = []asn1.ObjectIdentifier{asnMSKrb5, asnKrb5}
					in, want = marshalInit(t, init), asnMSKrb5
				}
				for legs := 0; ; legs++ {
					if legs > 4 {
						t.Fatal("too many legs")
					}
					out, st, err := s.Accept(ctx, in)
					if err != nil {
						t.Fatalf("Accept: %v", err)
					}
					if legs == 0 {
						if resp := parseResp(t, out); !resp.SupportedMech.Equal(want) {
							t.Fatalf("we selected %v, want %v", resp.SupportedMech, want)
						}
					}
					if len(out) > 0 {
						peer.send("TOK", out)
					}
					if st == sspi.StatusOK {
						break
					}
					in = peer.token()
				}
				d := doneKrb(t, peer)
				if d.Mech != oidKrb5 {
					t.Fatalf("MIT negotiated %q, want Kerberos", d.Mech)
				}
				id, err := s.Identity()
				if err != nil || id.Package != kerberos.Name || id.User != r.User {
					t.Fatalf("identity %+v, %v", id, err)
				}
				chose(t, &s.Context, kerberos.Name)
				krbMessages(t, &s.Context, peer)
			})
		})
	}
}

// TestNegotiateFallbackToNTLM: Kerberos is preferred but cannot start, so
// Negotiate runs NTLM, against the real KDC: the initiator cannot get a
// ticket for a service the KDC does not know (it offers NTLM alone, with
// its NEGOTIATE_MESSAGE as optimistic token), and the acceptor has no
// Kerberos keys for that principal (it takes NTLM only). With NTLM
// excluded there is nothing to fall back to, and the initiator fails
// with Kerberos' own status.
func TestNegotiateFallbackToNTLM(t *testing.T) {
	r := requireRealm(t)
	forEachNegPrefMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		c, s := negPrefClient(t, p, r, unknownSPN), negPrefServer(t, p, unknownSPN)
		var first []byte
		err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte {
			if leg == 0 {
				first = append([]byte(nil), tok...)
			}
			return tok
		})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		init := parseInit(t, first)
		if !sameOIDs(init.MechTypes, []asn1.ObjectIdentifier{asnNTLM}) || string(init.MechToken[:8]) != "NTLMSSP\x00" {
			t.Fatalf("NegTokenInit offers %v", init.MechTypes)
		}
		chose(t, &c.Context, ntlm.Name)
		chose(t, &s.Context, ntlm.Name)
		id, err := s.Identity()
		if err != nil || id.Package != ntlm.Name || id.User != r.User {
			t.Fatalf("identity %+v, %v", id, err)
		}
		tok, err := c.Wrap([]byte("over NTLM"), true)
		if err != nil {
			t.Fatal(err)
		}
		if msg, _, err := s.Unwrap(tok); err != nil || string(msg) != "over NTLM" {
			t.Fatalf("Unwrap: %q, %v", msg, err)
		}

		// Kerberos alone: the KDC's refusal is the answer.
		cred, err := p.AcquireCredentials(context.Background(), negotiate.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{
			Identity:    &sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)},
			PackageList: "Kerberos"})
		if err != nil {
			t.Fatal(err)
		}
		defer cred.Free()
		only := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: unknownSPN, Flags: krbFlags})
		defer only.Delete()
		_, _, err = only.Initialize(context.Background(), nil)
		exactStatus(t, "Kerberos only, unknown service", err, sspi.StatusTargetUnknown)
	})
}

// TestNegotiateFallbackAcceptorNoKeys: the initiator gets its ticket and
// offers Kerberos first with its AP-REQ; the acceptor's LSA (another one,
// whose keytab holds only the user's keys, none of the service's) cannot
// accept with Kerberos, so it counter-proposes NTLM (request-mic), and
// both sides run NTLM with the mechListMIC that the departure from the
// initiator's first choice makes mandatory.
func TestNegotiateFallbackAcceptorNoKeys(t *testing.T) {
	r := requireRealm(t)
	userKeytab := os.Getenv("SSPI_KRB5_USER_KEYTAB")
	if userKeytab == "" {
		peerMissing(t, "the MIT realm's user keytab", errors.New("SSPI_KRB5_USER_KEYTAB unset"))
	}
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			cp := negPrefProvider(t, r, nil, r.Keytab, mode.Harness)
			sp := negPrefProvider(t, r, nil, userKeytab, mode.Harness)
			c, s := negPrefClient(t, cp, r, r.ServiceSPN), negPrefServer(t, sp, r.ServiceSPN)
			var reply negTokenResp
			err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte {
				switch leg {
				case 0:
					if init := parseInit(t, tok); !sameOIDs(init.MechTypes, []asn1.ObjectIdentifier{asnKrb5, asnNTLM}) {
						t.Fatalf("NegTokenInit offers %v", init.MechTypes)
					}
				case 1:
					reply = parseResp(t, tok)
				}
				return tok
			})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !reply.SupportedMech.Equal(asnNTLM) || reply.NegState != 3 || reply.ResponseToken != nil {
				t.Fatalf("acceptor's first reply: state %d, mech %v, %d-byte token", reply.NegState, reply.SupportedMech, len(reply.ResponseToken))
			}
			chose(t, &c.Context, ntlm.Name)
			chose(t, &s.Context, ntlm.Name)
			id, err := s.Identity()
			if err != nil || id.Package != ntlm.Name || id.User != r.User {
				t.Fatalf("identity %+v, %v", id, err)
			}
			sig, err := s.Sign([]byte("over NTLM"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Verify([]byte("over NTLM"), sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestNegotiateKerberosStripped: a man in the middle removes Kerberos
// (and its optimistic AP-REQ) from the initiator's NegTokenInit, so that
// the acceptor, which could take Kerberos, picks NTLM. The initiator's
// mechListMIC covers the list it sent, so the acceptor refuses it with
// SEC_E_DOWNGRADE_DETECTED; removing that MIC too is refused the same
// way (NTLM with a MIC in AUTHENTICATE makes the mechListMIC mandatory).
func TestNegotiateKerberosStripped(t *testing.T) {
	r := requireRealm(t)
	forEachNegPrefMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		// Untouched, the same pair runs Kerberos in two tokens.
		c, s := negPrefClient(t, p, r, r.ServiceSPN), negPrefServer(t, p, r.ServiceSPN)
		legs := 0
		if err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte { legs++; return tok }); err != nil {
			t.Fatalf("untouched: %v", err)
		}
		chose(t, &c.Context, kerberos.Name)
		chose(t, &s.Context, kerberos.Name)
		if legs != 2 {
			t.Fatalf("untouched: %d tokens, want 2 (AP-REQ, AP-REP)", legs)
		}
		for _, stripMIC := range []bool{false, true} {
			c, s := negPrefClient(t, p, r, r.ServiceSPN), negPrefServer(t, p, r.ServiceSPN)
			var stripped, sawMIC bool
			err := secpkgtest.HandshakeThrough(context.Background(), c, s, func(leg int, tok []byte) []byte {
				switch {
				case leg%2 == 1: // to the initiator
				case leg == 0:
					init := parseInit(t, tok)
					if !sameOIDs(init.MechTypes, []asn1.ObjectIdentifier{asnKrb5, asnNTLM}) {
						t.Fatalf("NegTokenInit offers %v", init.MechTypes)
					}
					init.MechTypes, init.MechToken = init.MechTypes[1:], nil
					stripped = true
					return marshalInit(t, init)
				case hasMechListMIC(t, tok):
					sawMIC = true
					if stripMIC {
						resp := parseResp(t, tok)
						resp.MechListMIC = nil
						return marshalResp(t, resp)
					}
				}
				return tok
			})
			if !stripped || !sawMIC {
				t.Fatalf("stripped %v, initiator's mechListMIC seen %v", stripped, sawMIC)
			}
			exactStatus(t, "Kerberos stripped", err, sspi.StatusDowngradeDetected)
		}
	})
}

// TestNegotiateKerberosStrippedMITInitiator: MIT's SPNEGO initiator
// offers Kerberos then NTLM (gss_set_neg_mechs) with its AP-REQ; a man in
// the middle strips Kerberos and the AP-REQ, so our acceptor, which could
// take Kerberos, picks NTLM. MIT's mechListMIC covers the list it sent:
// our acceptor refuses it with SEC_E_DOWNGRADE_DETECTED. Without the man
// in the middle the same peers choose Kerberos.
func TestNegotiateKerberosStrippedMITInitiator(t *testing.T) {
	r := requireRealm(t)
	requirePeers(t) // MIT's SPNEGO offers NTLM through gss-ntlmssp
	forEachNegPrefMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		for _, strip := range []bool{false, true} {
			peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ,replay,sequence", "--mech", "spnego", "--neg-mechs", "krb5,ntlm")
			s := negPrefServer(t, p, r.ServiceSPN)
			ctx := context.Background()
			in := peer.token()
			init := parseInit(t, in)
			if !sameOIDs(init.MechTypes, []asn1.ObjectIdentifier{asnKrb5, asnNTLM}) {
				t.Fatalf("MIT offers %v", init.MechTypes)
			}
			if strip {
				init.MechTypes, init.MechToken = init.MechTypes[1:], nil
				in = marshalInit(t, init)
			}
			var err error
			for legs := 0; ; legs++ {
				if legs > 4 {
					t.Fatal("too many legs")
				}
				var out []byte
				var st sspi.Status
				out, st, err = s.Accept(ctx, in)
				if err != nil {
					break
				}
				if len(out) > 0 {
					peer.send("TOK", out)
				}
				if st == sspi.StatusOK {
					break
				}
				in = peer.token()
			}
			if !strip {
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				if d := doneKrb(t, peer); d.Mech != oidKrb5 {
					t.Fatalf("MIT negotiated %q", d.Mech)
				}
				chose(t, &s.Context, kerberos.Name)
				continue
			}
			exactStatus(t, "Kerberos stripped from MIT's mechTypes", err, sspi.StatusDowngradeDetected)
		}
	})
}

// TestNegotiateRawKerberos: MIT's Kerberos initiator without SPNEGO (a
// bare AP-REQ) against our Negotiate acceptor, which takes it as Windows
// does: Kerberos directly, the AP-REP back unwrapped, then messages.
func TestNegotiateRawKerberos(t *testing.T) {
	r := requireRealm(t)
	forEachNegPrefMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ,replay,sequence")
		s := negPrefServer(t, p, r.ServiceSPN)
		in := peer.token()
		if mech, _, ok := gssframe(in); !ok || !mech.Equal(asnKrb5) {
			t.Fatalf("MIT's first token is not a bare Kerberos token")
		}
		out, st, err := s.Accept(context.Background(), in)
		if err != nil || st != sspi.StatusOK {
			t.Fatalf("Accept: %v, %v", st, err)
		}
		if mech, inner, ok := gssframe(out); !ok || !mech.Equal(asnKrb5) || inner[0] != 0x02 || inner[1] != 0x00 {
			t.Fatalf("our answer is not a bare AP-REP: %x", out)
		}
		peer.send("TOK", out)
		if d := doneKrb(t, peer); d.Mech != oidKrb5 {
			t.Fatalf("MIT negotiated %q", d.Mech)
		}
		chose(t, &s.Context, kerberos.Name)
		krbMessages(t, &s.Context, peer)
	})
}
