// Package interop tests OpenSSPI against independent implementations.
// This file: NTLM against gss-ntlmssp, the NTLM mechanism of MIT GSS-API,
// driven through python3-gssapi by peers/gss_peer.py. Every test runs
// through the public API (sspi.Provider and an LSA engine holding the
// account) in both provider modes: the engine embedded in the process and
// the daemon protocol over a Unix socket.
package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// ntlmRequireMIC is NTLM configured with RequireMIC, registered next to
// the default NTLM so that one engine can be set up either way.
const ntlmRequireMIC = "NTLMRequireMIC"

func init() {
	secpkg.Register(ntlm.Name, ntlm.New(nil))
	secpkg.Register(ntlmRequireMIC, ntlm.New(&ntlm.Config{RequireMIC: true}))
}

const (
	clientFlags = sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect
	serverFlags = sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity
)

// newEngine is an LSA with both NTLM registrations and an account store
// holding alice.
func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	return enginetest.New(t, &enginetest.Config{
		Packages: []string{ntlm.Name, ntlmRequireMIC, negotiate.Name},
		Accounts: []enginetest.Account{{Domain: domain, User: user, Password: password}},
	})
}

// forEachMode runs f with a provider in each mode of secpkgtest.Modes.
func forEachMode(t *testing.T, f func(t *testing.T, p *sspi.Provider)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			p := sspi.NewProvider(mode.Harness(t, newEngine(t)).Connect(t), nil)
			t.Cleanup(func() { p.Close() })
			f(t, p)
		})
	}
}

// ourClient returns our NTLM client context with alice's name, the given
// password and channel bindings, targeting spn.
func ourClient(t *testing.T, p *sspi.Provider, pw string, cb *sspi.ChannelBindings) *sspi.ClientContext {
	t.Helper()
	return ourClientWith(t, p, pw, cb, clientFlags)
}

// ourClientWith is ourClient asking for flags.
func ourClientWith(t *testing.T, p *sspi.Provider, pw string, cb *sspi.ChannelBindings, flags sspi.ISCFlags) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), ntlm.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(pw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: spn, Flags: flags, Bindings: cb})
	t.Cleanup(func() { c.Delete() })
	return c
}

// ourServer returns our server context for package pkg, accepting as
// spn with the given channel bindings.
func ourServer(t *testing.T, p *sspi.Provider, pkg string, cb *sspi.ChannelBindings) *sspi.ServerContext {
	t.Helper()
	return ourServerWith(t, p, pkg, spn, cb, serverFlags)
}

// ourServerWith is ourServer accepting as principal (none: no target
// name is checked) and asking for flags.
func ourServerWith(t *testing.T, p *sspi.Provider, pkg, principal string, cb *sspi.ChannelBindings, flags sspi.ASCFlags) *sspi.ServerContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), pkg, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: principal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	s := sspi.NewServerContext(cred, &sspi.ServerConfig{Flags: flags, Bindings: cb})
	t.Cleanup(func() { s.Delete() })
	return s
}

// clientHandshake runs our client against a gss-ntlmssp acceptor up to
// the acceptor's answer to AUTHENTICATE, which it leaves unread. tamper,
// if not nil, may change the AUTHENTICATE_MESSAGE on its way.
func clientHandshake(t *testing.T, c *sspi.ClientContext, p *peer, tamper func([]byte)) {
	t.Helper()
	ctx := context.Background()
	neg, st, err := c.Initialize(ctx, nil)
	if err != nil || st != sspi.StatusContinueNeeded {
		t.Fatalf("NEGOTIATE: %v %v", st, err)
	}
	p.send("TOK", neg)
	auth, st, err := c.Initialize(ctx, p.token())
	if err != nil || st != sspi.StatusOK {
		t.Fatalf("AUTHENTICATE: %v %v", st, err)
	}
	if tamper != nil {
		tamper(auth)
	}
	p.send("TOK", auth)
}

// serverHandshake runs a gss-ntlmssp initiator against our server and
// returns the initiator's DONE line, the AUTHENTICATE_MESSAGE and the
// error of our last Accept.
func serverHandshake(t *testing.T, s *sspi.ServerContext, p *peer) (peerDone, []byte, error) {
	t.Helper()
	ctx := context.Background()
	chal, st, err := s.Accept(ctx, p.token())
	if err != nil || st != sspi.StatusContinueNeeded {
		t.Fatalf("CHALLENGE: %v %v", st, err)
	}
	p.send("TOK", chal)
	auth := p.token()
	// The initiator is complete once it has sent AUTHENTICATE.
	d := p.done()
	out, st, err := s.Accept(ctx, auth)
	if err == nil && (st != sspi.StatusOK || len(out) != 0) {
		t.Fatalf("accepting AUTHENTICATE: status %v, %d-byte token", st, len(out))
	}
	return d, auth, err
}

// wantStatus checks that err carries the SEC_E_* code want.
func wantStatus(t *testing.T, what string, err error, want sspi.Status) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v (%v), want %v", what, sspi.StatusOf(err), err, want)
	}
}

// checkSessionKey compares our session key with gss-ntlmssp's
// GSS_C_INQ_SSPI_SESSION_KEY (the ExportedSessionKey of MS-NLMP).
func checkSessionKey(t *testing.T, c *sspi.Context, d peerDone) {
	t.Helper()
	ours, err := c.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := hex.DecodeString(d.SessionKey)
	if err != nil || len(theirs) == 0 {
		t.Fatalf("gss-ntlmssp gave no session key (%q)", d.SessionKey)
	}
	if !bytes.Equal(ours, theirs) {
		t.Fatalf("session keys differ: ours %x, gss-ntlmssp's %x", ours, theirs)
	}
}

// testMessages are what exchangeMessages protects: short, 1 KiB and
// 64 KiB, the last two random.
func testMessages() [][]byte {
	r := rand.NewChaCha8([32]byte{'i', 'n', 't', 'e', 'r', 'o', 'p'})
	kib, big := make([]byte, 1024), make([]byte, 64<<10)
	r.Read(kib)
	r.Read(big)
	return [][]byte{[]byte("hello from OpenSSPI"), kib, big}
}

// exchangeMessages checks protected messages between our established
// context c and an established gss-ntlmssp peer, in both directions, and
// finally that each side rejects the other's tampered wrap token. The peer
// has quit when it returns.
//
// gss-ntlmssp's wrap token is the 16-byte NTLMSSP_MESSAGE_SIGNATURE
// followed by the sealed data, the layout of our Wrap for NTLM.
func exchangeMessages(t *testing.T, c *sspi.Context, p *peer) {
	t.Helper()
	for _, msg := range testMessages() {
		// Our Wrap, sealed -> their gss_unwrap.
		tok, err := c.Wrap(msg, true)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(tok, msg) {
			t.Fatal("sealed token holds the plaintext")
		}
		p.send("UNWRAP", tok)
		f := p.expect("DATA")
		if got := p.bytes(f, 0); !bytes.Equal(got, msg) || f[1] != "1" {
			t.Fatalf("gss-ntlmssp unwrapped %d bytes (conf_state %s), want our %d", len(got), f[1], len(msg))
		}

		// Our Wrap with SECQOP_WRAP_NO_ENCRYPT -> their gss_verify_mic.
		// An NTLM signature does not say whether data was sealed, and
		// gss-ntlmssp's gss_unwrap always unseals, so a signed-only
		// message is checked as what it is: the data and its signature.
		tok, err = c.Wrap(msg, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tok[16:], msg) {
			t.Fatal("WRAP_NO_ENCRYPT token does not carry the data in clear")
		}
		p.send("VERIFY", tok[16:], tok[:16])
		p.expect("VERIFIED")

		// Their gss_wrap, conf_req 1 and 0 -> our Unwrap. gss-ntlmssp
		// 1.2 seals either way; our Unwrap must report what it got.
		for _, conf := range []string{"1", "0"} {
			p.send("WRAP", conf, msg)
			f := p.expect("WRAPPED")
			tok := p.bytes(f, 0)
			pt, encrypted, err := c.Unwrap(tok)
			if err != nil {
				t.Fatalf("unwrapping gss-ntlmssp's wrap (conf_req %s, %d bytes): %v", conf, len(msg), err)
			}
			if !bytes.Equal(pt, msg) {
				t.Fatalf("unwrapped %d bytes, want %d", len(pt), len(msg))
			}
			sealed := !bytes.Equal(tok[16:], msg)
			if encrypted != sealed {
				t.Fatalf("conf_req %s: Unwrap says encrypted=%v, token sealed=%v", conf, encrypted, sealed)
			}
			if conf == "0" && len(msg) < 100 {
				t.Logf("gss_wrap(conf_req=0): conf_state %s, sealed %v", f[1], sealed)
			}
		}

		// Our Sign -> their gss_verify_mic.
		sig, err := c.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		p.send("VERIFY", msg, sig)
		p.expect("VERIFIED")

		// Their gss_get_mic -> our Verify.
		p.send("MIC", msg)
		if err := c.Verify(msg, p.bytes(p.expect("MIC"), 0)); err != nil {
			t.Fatalf("verifying gss-ntlmssp's MIC over %d bytes: %v", len(msg), err)
		}
	}

	// The buffer-reusing forms: AppendWrap of several parts after a
	// prefix -> their gss_unwrap; their gss_wrap -> our UnwrapInPlace.
	prefix := []byte("frame header")
	tok, err := c.AppendWrap(prefix, true, []byte("two "), []byte("parts"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(tok, prefix) {
		t.Fatal("AppendWrap lost dst")
	}
	p.send("UNWRAP", tok[len(prefix):])
	if got := p.bytes(p.expect("DATA"), 0); string(got) != "two parts" {
		t.Fatalf("gss-ntlmssp unwrapped our AppendWrap token as %q", got)
	}
	p.send("WRAP", "1", []byte("in place"))
	if pt, _, err := c.UnwrapInPlace(p.bytes(p.expect("WRAPPED"), 0)); err != nil || string(pt) != "in place" {
		t.Fatalf("UnwrapInPlace of gss-ntlmssp's token: %q, %v", pt, err)
	}

	// Their wrap token, tampered: we refuse it, and a refused token
	// leaves our state as it was, so the genuine token still opens;
	// replaying it then fails.
	msg := []byte("tamper with me")
	p.send("WRAP", "1", msg)
	tok = p.bytes(p.expect("WRAPPED"), 0)
	for _, i := range []int{len(tok) - 1, 4, 11} { // data, checksum (MS-NLMP 2.2.2.9.1)
		bad := slices.Clone(tok)
		bad[i] ^= 0x01
		_, _, err := c.Unwrap(bad)
		wantStatus(t, "their tampered wrap token", err, sspi.StatusMessageAltered)
	}
	if pt, _, err := c.Unwrap(tok); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("their genuine token after the tampered ones: %v", err)
	}
	if _, _, err := c.Unwrap(tok); !errors.Is(err, sspi.ErrOutOfSequence) && !errors.Is(err, sspi.ErrMessageAltered) {
		t.Fatalf("their replayed wrap token: %v", err)
	}
	// Their MIC, tampered.
	p.send("MIC", msg)
	mic := p.bytes(p.expect("MIC"), 0)
	bad := slices.Clone(mic)
	bad[6] ^= 0x80
	wantStatus(t, "their tampered MIC", c.Verify(msg, bad), sspi.StatusMessageAltered)
	if err := c.Verify(msg, mic); err != nil {
		t.Fatalf("their genuine MIC after the tampered one: %v", err)
	}

	// Our wrap token, tampered: they refuse it with GSS_S_BAD_SIG.
	// gss-ntlmssp has then spent key stream, so the session ends here.
	tok, err = c.Wrap(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	tok[len(tok)-1] ^= 0x01
	p.send("UNWRAP", tok)
	if f := p.failed("BAD"); f.Major != gssBadSig {
		t.Fatalf("gss-ntlmssp refused our tampered token with major %#x, want GSS_S_BAD_SIG: %s", f.Major, f.Error)
	}
	p.quit()
}

// TestOurClientTheirAcceptor: our initiator, gss-ntlmssp's acceptor
// (users from NTLM_USER_FILE): the handshake, who they say we are, the
// session key, then protected messages both ways.
func TestOurClientTheirAcceptor(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startPeer(t, "acceptor", nil)
		c := ourClient(t, p, password, nil)
		clientHandshake(t, c, peer, nil)
		d := peer.done()
		if d.Peer != domain+`\`+user {
			t.Fatalf("gss-ntlmssp authenticated %q", d.Peer)
		}
		if !c.Mapped() {
			t.Fatal("our context was not mapped to the application process")
		}
		if got := c.Flags(); got&(sspi.ISCRetConfidentiality|sspi.ISCRetIntegrity) != sspi.ISCRetConfidentiality|sspi.ISCRetIntegrity {
			t.Fatalf("flags %v", got)
		}
		checkSessionKey(t, &c.Context, d)
		exchangeMessages(t, &c.Context, peer)
	})
}

// TestTheirInitiatorOurAcceptor: gss-ntlmssp's initiator, our acceptor,
// with the initiator's password given to gss_acquire_cred_with_password
// and, separately, looked up in NTLM_USER_FILE.
func TestTheirInitiatorOurAcceptor(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		for _, tc := range []struct {
			name string
			env  []string
			args []string
		}{
			{"password", []string{"GSS_PEER_PASSWORD=" + password}, []string{"--password-env", "GSS_PEER_PASSWORD"}},
			{"user-file", nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				peer := startPeer(t, "initiator", tc.env, append([]string{"--user", domain + `\` + user, "--target", peerTarget}, tc.args...)...)
				s := ourServer(t, p, ntlm.Name, nil)
				d, _, err := serverHandshake(t, s, peer)
				if err != nil {
					t.Fatalf("accepting gss-ntlmssp: %v", err)
				}
				id, err := s.Identity()
				if err != nil {
					t.Fatal(err)
				}
				if id.User != user || id.Domain != domain || id.Package != ntlm.Name || id.Anonymous || id.Workstation != peerMachine {
					t.Fatalf("identity %+v", id)
				}
				if id.Flags&(sspi.ASCRetConfidentiality|sspi.ASCRetIntegrity) != sspi.ASCRetConfidentiality|sspi.ASCRetIntegrity {
					t.Fatalf("identity flags %v", id.Flags)
				}
				if id.Bindings.Matched() {
					t.Fatalf("bindings matched without bindings: %v", id.Bindings)
				}
				if !s.Mapped() {
					t.Fatal("our context was not mapped to the application process")
				}
				checkSessionKey(t, &s.Context, d)
				exchangeMessages(t, &s.Context, peer)
			})
		}
	})
}

// TestTheirInitiatorMIC: gss-ntlmssp 1.2's initiator sends no MIC and
// does not announce one in MsvAvFlags. Our default acceptor accepts such
// clients (Samba's rule: a MIC is required whenever it is announced, and
// NTProofStr covers the announcement); NTLM with RequireMIC refuses them
// with SEC_E_INVALID_TOKEN. Should a later gss-ntlmssp announce a MIC,
// both must accept it.
func TestTheirInitiatorMIC(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		for _, pkg := range []string{ntlm.Name, ntlmRequireMIC} {
			t.Run(pkg, func(t *testing.T) {
				peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=" + password},
					"--user", domain+`\`+user, "--password-env", "GSS_PEER_PASSWORD", "--target", peerTarget)
				s := ourServer(t, p, pkg, nil)
				_, auth, err := serverHandshake(t, s, peer)
				announced := micAnnounced(t, auth)
				t.Logf("gss-ntlmssp initiator announces a MIC: %v", announced)
				if announced || pkg == ntlm.Name {
					if err != nil {
						t.Fatalf("accepting gss-ntlmssp (MIC announced: %v): %v", announced, err)
					}
					return
				}
				wantStatus(t, "RequireMIC against a client without MIC", err, sspi.StatusInvalidToken)
			})
		}
	})
}

// TestTheirAcceptorChecksOurMIC: our AUTHENTICATE_MESSAGE announces and
// carries a MIC; gss-ntlmssp's acceptor accepts it as sent (the other
// tests) and refuses it when one MIC byte is changed.
func TestTheirAcceptorChecksOurMIC(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		peer := startPeer(t, "acceptor", nil)
		c := ourClient(t, p, password, nil)
		clientHandshake(t, c, peer, func(auth []byte) {
			if !micAnnounced(t, auth) {
				t.Fatal("our AUTHENTICATE_MESSAGE announces no MIC")
			}
			auth[micOffset] ^= 0x01
		})
		// GSS_S_DEFECTIVE_TOKEN, where a wrong password would be
		// GSS_S_FAILURE: the MIC is what it refused.
		if f := peer.failed("FAIL"); f.Major != gssDefectiveToken {
			t.Fatalf("gss-ntlmssp refused our altered MIC with major %#x, want GSS_S_DEFECTIVE_TOKEN: %s", f.Major, f.Error)
		}
	})
}

// TestChannelBindings: channel bindings (a gss_channel_bindings_struct
// with application data only, hashed into MsvAvChannelBindings) agree
// both ways, and a mismatch fails on either acceptor.
func TestChannelBindings(t *testing.T) {
	cb := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	other := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:fedcba9876543210fedcba9876543210")}
	cbArg := func(b *sspi.ChannelBindings) []string {
		return []string{"--cb-b64", base64.StdEncoding.EncodeToString(b.ApplicationData)}
	}
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		t.Run("OurClient/match", func(t *testing.T) {
			peer := startPeer(t, "acceptor", nil, cbArg(cb)...)
			clientHandshake(t, ourClient(t, p, password, cb), peer, nil)
			// GSS_C_CHANNEL_BOUND_FLAG: the acceptor found our
			// MsvAvChannelBindings equal to its own hash.
			if d := peer.done(); !slices.Contains(d.Flags, "channel_bound") {
				t.Fatalf("gss-ntlmssp flags %v, want channel_bound", d.Flags)
			}
			peer.quit()
		})
		t.Run("OurClient/mismatch", func(t *testing.T) {
			peer := startPeer(t, "acceptor", nil, cbArg(cb)...)
			clientHandshake(t, ourClient(t, p, password, other), peer, nil)
			if f := peer.failed("FAIL"); f.Major != gssDefectiveToken {
				t.Fatalf("gss-ntlmssp refused mismatched bindings with major %#x, want GSS_S_DEFECTIVE_TOKEN: %s", f.Major, f.Error)
			}
		})
		for _, tc := range []struct {
			name   string
			theirs *sspi.ChannelBindings
			want   sspi.Status
		}{
			{"match", cb, sspi.StatusOK},
			{"mismatch", other, sspi.StatusBadBindings},
			// Our default policy requires bindings whenever the
			// acceptor's caller supplies them.
			{"missing", nil, sspi.StatusBadBindings},
		} {
			t.Run("TheirInitiator/"+tc.name, func(t *testing.T) {
				args := []string{"--user", domain + `\` + user, "--password-env", "GSS_PEER_PASSWORD", "--target", peerTarget}
				if tc.theirs != nil {
					args = append(args, cbArg(tc.theirs)...)
				}
				peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=" + password}, args...)
				s := ourServer(t, p, ntlm.Name, cb)
				_, _, err := serverHandshake(t, s, peer)
				if tc.want != sspi.StatusOK {
					wantStatus(t, "their bindings "+tc.name, err, tc.want)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				id, err := s.Identity()
				if err != nil {
					t.Fatal(err)
				}
				if !id.Bindings.Matched() {
					t.Fatalf("bindings result %v, want matched", id.Bindings)
				}
				peer.quit()
			})
		}
	})
}

// TestWrongPassword: a wrong password fails both ways; our acceptor says
// SEC_E_LOGON_DENIED, and the same for an unknown user.
func TestWrongPassword(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		t.Run("OurClient", func(t *testing.T) {
			peer := startPeer(t, "acceptor", nil)
			clientHandshake(t, ourClient(t, p, "not-"+password, nil), peer, nil)
			// gss-ntlmssp 1.2 says GSS_S_FAILURE, minor EINVAL.
			if f := peer.failed("FAIL"); f.Major != gssFailure {
				t.Fatalf("gss-ntlmssp refused a wrong password with major %#x, want GSS_S_FAILURE: %s", f.Major, f.Error)
			}
		})
		for _, tc := range []struct{ name, user, pw string }{
			{"TheirInitiator/wrong-password", user, "not-" + password},
			{"TheirInitiator/unknown-user", "mallory", password},
		} {
			t.Run(tc.name, func(t *testing.T) {
				peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=" + tc.pw},
					"--user", domain+`\`+tc.user, "--password-env", "GSS_PEER_PASSWORD", "--target", peerTarget)
				s := ourServer(t, p, ntlm.Name, nil)
				_, _, err := serverHandshake(t, s, peer)
				wantStatus(t, tc.name, err, sspi.StatusLogonDenied)
			})
		}
	})
}

// TestAuthOnly: contexts that ask for neither integrity nor
// confidentiality (the zero ClientConfig and ServerConfig), both
// directions. Our client then offers no NTLMSSP_NEGOTIATE_KEY_EXCH and
// its AUTHENTICATE_MESSAGE (0xa2888205) carries no
// EncryptedRandomSessionKey, as Windows clients do: gss-ntlmssp 1.2's
// acceptor, which takes KEY_EXCH from its own CHALLENGE_MESSAGE, crashed
// on our former 0xe2888205 with a 0-byte key. gss-ntlmssp's initiator
// sends 0xa28a8205 with a 16-byte key field but no KEY_EXCH, which
// therefore means nothing. Session keys (KeyExchangeKey, MS-NLMP
// 3.1.5.1.2) agree.
func TestAuthOnly(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		t.Run("OurClient", func(t *testing.T) {
			peer := startPeer(t, "acceptor", nil)
			c := ourClientWith(t, p, password, nil, 0)
			var flags uint32
			var keyLen int
			clientHandshake(t, c, peer, func(auth []byte) { flags, keyLen = authFlags(t, auth) })
			d := peer.done()
			t.Logf("our auth-only AUTHENTICATE_MESSAGE: flags %#08x, %d-byte EncryptedRandomSessionKey", flags, keyLen)
			if flags&(nlmpKeyExch|nlmpSign|nlmpSeal) != 0 || keyLen != 0 {
				t.Fatalf("auth-only AUTHENTICATE flags %#08x with a %d-byte key", flags, keyLen)
			}
			if d.Peer != domain+`\`+user {
				t.Fatalf("gss-ntlmssp authenticated %q", d.Peer)
			}
			if slices.Contains(d.Flags, "integrity") || slices.Contains(d.Flags, "confidentiality") {
				t.Fatalf("gss-ntlmssp flags %v", d.Flags)
			}
			if c.Flags()&(sspi.ISCRetIntegrity|sspi.ISCRetConfidentiality) != 0 {
				t.Fatalf("our flags %v", c.Flags())
			}
			checkSessionKey(t, &c.Context, d)
			peer.quit()
		})
		t.Run("TheirInitiator", func(t *testing.T) {
			peer := startPeer(t, "initiator", []string{"GSS_PEER_PASSWORD=" + password},
				"--user", domain+`\`+user, "--password-env", "GSS_PEER_PASSWORD", "--target", peerTarget, "--no-protect")
			s := ourServerWith(t, p, ntlm.Name, spn, nil, 0)
			d, auth, err := serverHandshake(t, s, peer)
			if err != nil {
				t.Fatalf("accepting gss-ntlmssp's auth-only context: %v", err)
			}
			flags, keyLen := authFlags(t, auth)
			t.Logf("gss-ntlmssp auth-only AUTHENTICATE_MESSAGE: flags %#08x, %d-byte EncryptedRandomSessionKey", flags, keyLen)
			id, err := s.Identity()
			if err != nil || id.User != user || id.Domain != domain {
				t.Fatalf("identity %+v, %v", id, err)
			}
			if id.Flags&(sspi.ASCRetIntegrity|sspi.ASCRetConfidentiality) != 0 {
				t.Fatalf("identity flags %v", id.Flags)
			}
			checkSessionKey(t, &s.Context, d)
			peer.quit()
		})
	})
}

// NegotiateFlags bits the tests look at (MS-NLMP 2.2.2.5).
const (
	nlmpUnicode = 0x00000001
	nlmpOEM     = 0x00000002
	nlmpSign    = 0x00000010
	nlmpSeal    = 0x00000020
	nlmpKeyExch = 0x40000000
)

// authFlags returns the NegotiateFlags of an AUTHENTICATE_MESSAGE and the
// length of its EncryptedRandomSessionKey (MS-NLMP 2.2.1.3).
func authFlags(t *testing.T, auth []byte) (flags uint32, keyLen int) {
	t.Helper()
	if len(auth) < 64 || string(auth[:8]) != "NTLMSSP\x00" || binary.LittleEndian.Uint32(auth[8:]) != 3 {
		t.Fatalf("not an AUTHENTICATE_MESSAGE: %x", auth)
	}
	return binary.LittleEndian.Uint32(auth[60:]), int(binary.LittleEndian.Uint16(auth[52:]))
}

// micOffset is where the MIC lies in an AUTHENTICATE_MESSAGE that has
// the Version field (MS-NLMP 2.2.1.3).
const micOffset = 72

// micAnnounced reports whether an AUTHENTICATE_MESSAGE's NTLMv2 response
// announces a MIC: MsvAvFlags (MS-NLMP 2.2.2.1) with bit 0x2. It parses
// only what it needs and fails the test on anything malformed.
func micAnnounced(t *testing.T, auth []byte) bool {
	t.Helper()
	if len(auth) < 88 || string(auth[:8]) != "NTLMSSP\x00" || binary.LittleEndian.Uint32(auth[8:]) != 3 {
		t.Fatalf("not an AUTHENTICATE_MESSAGE: %x", auth)
	}
	// NtChallengeResponseFields (MS-NLMP 2.2.1.3): length, max length,
	// offset.
	n, off := int(binary.LittleEndian.Uint16(auth[20:])), int(binary.LittleEndian.Uint32(auth[24:]))
	if off+n > len(auth) || n < 16+28 {
		t.Fatalf("no NTLMv2 response in AUTHENTICATE_MESSAGE")
	}
	// NTLMv2_RESPONSE: NTProofStr (16), then NTLMv2_CLIENT_CHALLENGE
	// whose AV pairs start after 28 bytes (MS-NLMP 2.2.2.7).
	av := auth[off+16+28 : off+n]
	for len(av) >= 4 {
		id, l := binary.LittleEndian.Uint16(av), int(binary.LittleEndian.Uint16(av[2:]))
		if 4+l > len(av) {
			break
		}
		v := av[4 : 4+l]
		switch id {
		case 0: // MsvAvEOL
			return false
		case 6: // MsvAvFlags
			return len(v) == 4 && binary.LittleEndian.Uint32(v)&0x2 != 0
		}
		av = av[4+l:]
	}
	t.Fatal("AV pairs of the NTLMv2 response do not end in MsvAvEOL")
	return false
}
