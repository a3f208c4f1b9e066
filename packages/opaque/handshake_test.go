package opaque

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// legs runs one handshake by hand, letting alter change each token (leg
// 1, 2 or 3) before it is passed on. It returns which side failed and
// with what, and every token sent.
type legs struct {
	side   string // "server" or "client": who failed
	err    error
	tokens [3][]byte
}

func (env *testEnv) run(t testing.TB, p *sspi.Provider, user string, password []byte, cfg *sspi.ClientConfig, alter func(leg int, tok []byte)) *legs {
	t.Helper()
	ctx := context.Background()
	c, s := env.pair(t, p, user, password, cfg)
	r := &legs{}
	pass := func(leg int, tok []byte) []byte {
		if alter != nil {
			tok = append([]byte(nil), tok...)
			alter(leg, tok)
		}
		r.tokens[leg-1] = tok
		return tok
	}
	tok, st, err := c.Initialize(ctx, nil)
	if err != nil || st != sspi.StatusContinueNeeded {
		t.Fatalf("Initialize leg 1: %v %v", st, err)
	}
	tok, st, err = s.Accept(ctx, pass(1, tok))
	if err != nil {
		r.side, r.err = "server", err
		return r
	}
	if st != sspi.StatusContinueNeeded {
		t.Fatalf("Accept leg 1: %v", st)
	}
	tok, st, err = c.Initialize(ctx, pass(2, tok))
	if err != nil {
		r.side, r.err = "client", err
		if len(tok) != 0 {
			t.Fatalf("the client failed at KE2 but returned a %d-byte token", len(tok))
		}
		return r
	}
	if st != sspi.StatusOK || !c.Established() {
		t.Fatalf("Initialize leg 2: %v", st)
	}
	if c.Flags()&sspi.ISCRetMutualAuth == 0 {
		t.Fatalf("client flags %v without mutual authentication", c.Flags())
	}
	tok, st, err = s.Accept(ctx, pass(3, tok))
	if err != nil {
		r.side, r.err = "server", err
		return r
	}
	if st != sspi.StatusOK || len(tok) != 0 || !s.Established() {
		t.Fatalf("Accept leg 2: %v, %d-byte token", st, len(tok))
	}
	return r
}

// runAs is run for domain\user with the default client configuration.
func (env *testEnv) runAs(t testing.TB, p *sspi.Provider, domain, user string, password []byte) *legs {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: testTarget})
	s := sspi.NewServerContext(sc, nil)
	defer func() { c.Delete(); s.Delete(); cc.Free(); sc.Free() }()
	r := &legs{}
	if err := secpkgtest.Handshake(ctx, c, s); err != nil {
		r.err = err
	}
	return r
}

func (r *legs) want(t testing.TB, side string, st secpkg.Status) {
	t.Helper()
	if r.side != side || !errors.Is(r.err, st) {
		t.Fatalf("failure on the %s: %v; want %v on the %s", r.side, r.err, st, side)
	}
}

// TestHandshakeLegs: three legs, statuses and flags as the SSPI expects,
// identity and names on both sides, session keys equal.
func TestHandshakeLegs(t *testing.T) {
	env := newEngine(t, nil)
	p := env.provider(t)
	r := env.run(t, p, testUser, []byte(testPassword), nil, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.tokens[0]) != ke1HeaderFixed+6+len(testTarget)+len(testDomain)+len(testUser)+KE1Size ||
		len(r.tokens[1]) != ke2TokenSize || len(r.tokens[2]) != ke3TokenSize {
		t.Fatalf("token sizes %d, %d, %d", len(r.tokens[0]), len(r.tokens[1]), len(r.tokens[2]))
	}
}

// TestWrongPasswordFailsBeforeKE3: the client learns at KE2 that its
// password is wrong and sends nothing more.
func TestWrongPasswordFailsBeforeKE3(t *testing.T) {
	env := newEngine(t, nil)
	r := env.run(t, env.provider(t), testUser, []byte("not-"+testPassword), nil, nil)
	r.want(t, "client", secpkg.StatusLogonDenied)
	if r.tokens[2] != nil {
		t.Fatal("KE3 was sent")
	}
}

// TestImpostorServer: a server without the account's record, one that
// stole the account store but not the server setup, and one with another
// account's record under this name, all fail the client at KE2.
func TestImpostorServer(t *testing.T) {
	real := newEngine(t, nil)
	stolen, err := real.store.Lookup(context.Background(), testDomain, testUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(imp *testEnv)
	}{
		{"NoRecord", func(imp *testEnv) {
			if err := imp.store.Delete(context.Background(), testDomain, testUser); err != nil {
				t.Fatal(err)
			}
		}},
		{"StolenStoreOtherSetup", func(imp *testEnv) {
			if err := imp.store.SetVerifiers(context.Background(), testDomain, testUser, stolen.Verifiers); err != nil {
				t.Fatal(err)
			}
		}},
		{"OtherPassword", func(imp *testEnv) {
			imp.register(t, testDomain, testUser, []byte("the impostor's guess"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp := newEngine(t, nil) // its own server setup
			tc.setup(imp)
			r := imp.run(t, imp.provider(t), testUser, []byte(testPassword), nil, nil)
			r.want(t, "client", secpkg.StatusLogonDenied)
		})
	}
}

// TestUnknownUserLooksLikeWrongPassword: an unknown account and a known
// one with a wrong password get KE2 tokens of one size and one header,
// and both fail on the client with the same error.
func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	env := newEngine(t, nil)
	p := env.provider(t)
	wrong := env.run(t, p, testUser, []byte("wrong"), nil, nil)
	unknown := env.run(t, p, "nobody", []byte("wrong"), nil, nil)
	wrong.want(t, "client", secpkg.StatusLogonDenied)
	unknown.want(t, "client", secpkg.StatusLogonDenied)
	if wrong.err.Error() != unknown.err.Error() {
		t.Errorf("errors differ: %q and %q", wrong.err, unknown.err)
	}
	if len(wrong.tokens[1]) != len(unknown.tokens[1]) || !bytes.Equal(wrong.tokens[1][:ke2HeaderSize], unknown.tokens[1][:ke2HeaderSize]) {
		t.Errorf("KE2 tokens differ in size or header: %x and %x", wrong.tokens[1][:ke2HeaderSize], unknown.tokens[1][:ke2HeaderSize])
	}
	// A known account logs on under every spelling the LSA maps to it:
	// its record's credential identifier is the LSA's (AccountKeyer),
	// which TestCredentialIdentifier checks for unknown accounts.
	for _, d := range []string{"", ".", "example", "SERVER", "server.example.com", "Example.COM"} {
		if r := env.runAs(t, p, d, "ALICE", []byte(testPassword)); r.err != nil {
			t.Errorf("login as %q\\ALICE: %v", d, r.err)
		}
	}
}

// TestCredentialIdentifier: the credential identifier, from which an
// unknown account's answers are derived, is built from the LSA's keys of
// the account (secpkg.AccountKeyer), so that every spelling of one
// account gets the same OPRF key, known or not; an LSA without the
// support function gets the names folded.
func TestCredentialIdentifier(t *testing.T) {
	f := newFakeLSA()
	p := newLSAPackage(PackageConfig{KSF: engineKSF})
	if err := p.Initialize(context.Background(), 0, &engineParams, keyedLSA{f}); err != nil {
		t.Fatal(err)
	}
	want := credentialIdentifierOfKeys("EXAMPLE", "NOBODY")
	for _, n := range [][2]string{{"", "Nobody"}, {"SERVER", "nobody"}, {".", "NOBODY"}} {
		if got := p.credentialIdentifier(n[0], n[1]); !bytes.Equal(got, want) {
			t.Errorf("credentialIdentifier(%q, %q) = %q, want the LSA's keys %q", n[0], n[1], got, want)
		}
	}
	plain := newLSAPackage(PackageConfig{KSF: engineKSF})
	if err := plain.Initialize(context.Background(), 0, &engineParams, f); err != nil {
		t.Fatal(err)
	}
	a, b := plain.credentialIdentifier("Example", "K"), plain.credentialIdentifier("EXAMPLE", "k") // K: the Kelvin sign
	if !bytes.Equal(a, b) || !bytes.Equal(a, credentialIdentifierOfKeys(foldKey("example"), foldKey("k"))) {
		t.Errorf("without AccountKeyer: %q and %q", a, b)
	}
}

// keyedLSA is the fake LSA with an AccountKeyer whose keys are upper
// case, local names mapped to EXAMPLE: not the engine's rule (the engine
// tests check that), but one the package must use as it is.
type keyedLSA struct{ *fakeLSA }

func (keyedLSA) AccountKey(domain, user string) (string, string) {
	switch strings.ToUpper(domain) {
	case "", ".", "SERVER":
		domain = testDomain
	}
	return strings.ToUpper(domain), strings.ToUpper(user)
}

// TestFlippedTokenBytes flips every byte of each token in turn (XOR 0xff)
// and requires the exact status from the side that must see it: a
// malformed token SEC_E_INVALID_TOKEN where it is parsed, a KSF the
// client refuses SEC_E_ALGORITHM_MISMATCH, a principal the acceptor does
// not serve SEC_E_WRONG_PRINCIPAL, and anything that parses but changes
// the transcript SEC_E_LOGON_DENIED (on the client at KE2, or on the
// server at KE3).
func TestFlippedTokenBytes(t *testing.T) {
	// Hundreds of failed logins for one account: without lockout, which
	// TestLockout covers, so that every run reaches the flipped token.
	env := newEngine(t, &accounts.Options{Lockout: &accounts.LockoutPolicy{}})
	p := env.provider(t)
	good := env.run(t, p, testUser, []byte(testPassword), nil, nil)
	if good.err != nil {
		t.Fatal(good.err)
	}
	const (
		invalid  = secpkg.StatusInvalidToken
		denied   = secpkg.StatusLogonDenied
		mismatch = secpkg.StatusAlgorithmMismatch
		wrongSPN = secpkg.StatusWrongPrincipal
	)
	// element reports whether the flipped element at [start, start+32)
	// still decodes.
	element := func(tok []byte, start int) bool {
		_, err := deserializeElement(tok[start : start+32])
		return err == nil
	}
	ke1At := len(good.tokens[0]) - KE1Size
	ke2At := ke2HeaderSize
	expect := []func(tok []byte, i int) (string, secpkg.Status){
		// KE1 token.
		func(tok []byte, i int) (string, secpkg.Status) {
			switch {
			case i < 3:
				return "server", invalid // version, type, flags
			case i < 35:
				return "client", denied // bindings hash: in the context only
			case i < ke1At:
				// Lengths and names: a length misplaces everything; a
				// flipped ASCII byte is not UTF-8. (A name flipped into
				// valid UTF-8 would be another principal or account.)
				return "server", invalid
			case i < ke1At+32:
				if element(tok, ke1At) {
					return "client", denied
				}
				return "server", invalid
			case i < ke1At+64:
				return "client", denied // client_nonce
			default:
				if element(tok, ke1At+64) {
					return "client", denied
				}
				return "server", invalid
			}
		},
		// KE2 token.
		func(tok []byte, i int) (string, secpkg.Status) {
			switch {
			case i < 3:
				return "client", invalid
			case i < ke2HeaderSize:
				k, err := parseKSF(tok[3:ke2HeaderSize])
				if err != nil {
					return "client", invalid
				}
				if engineConfig.ksfAllowed(k) != nil {
					return "client", mismatch
				}
				return "client", denied
			case i < ke2At+32:
				if element(tok, ke2At) {
					return "client", denied
				}
				return "client", invalid
			case i >= ke2At+224 && i < ke2At+256:
				if element(tok, ke2At+224) {
					return "client", denied
				}
				return "client", invalid
			default:
				return "client", denied // nonces, masked response, MAC
			}
		},
		// KE3 token.
		func(tok []byte, i int) (string, secpkg.Status) {
			if i < 2 {
				return "server", invalid
			}
			return "server", denied
		},
	}
	for leg := 1; leg <= 3; leg++ {
		t.Run(fmt.Sprintf("token%d", leg), func(t *testing.T) {
			counts := map[secpkg.Status]int{}
			for i := range good.tokens[leg-1] {
				var flipped []byte
				r := env.run(t, p, testUser, []byte(testPassword), nil, func(l int, tok []byte) {
					if l == leg {
						tok[i] ^= 0xff
						flipped = tok
					}
				})
				side, st := expect[leg-1](flipped, i)
				if r.side != side || !errors.Is(r.err, st) {
					t.Fatalf("byte %d of %d flipped: %s failed with %v; want %v on the %s", i, len(flipped), r.side, r.err, st, side)
				}
				counts[st]++
			}
			t.Logf("%d bytes: %v", len(good.tokens[leg-1]), counts)
		})
	}
}

// TestTargetAndBindings: the acceptor refuses another principal and
// mismatched or missing channel bindings with their statuses; bindings
// present on both sides are reported as matched.
func TestTargetAndBindings(t *testing.T) {
	env := newEngine(t, nil)
	p := env.provider(t)
	cb := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:abc")}
	other := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:xyz")}
	ctx := context.Background()
	handshake := func(target string, cliCB, srvCB *sspi.ChannelBindings, srvFlags sspi.ASCFlags) (*sspi.ServerContext, error) {
		cc, _ := p.AcquireCredentials(ctx, Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
		sc, _ := p.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
		c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Bindings: cliCB})
		s := sspi.NewServerContext(sc, &sspi.ServerConfig{Bindings: srvCB, Flags: srvFlags})
		t.Cleanup(func() { c.Delete(); s.Delete(); cc.Free(); sc.Free() })
		return s, handshakeLoop(ctx, c, s)
	}
	if _, err := handshake("HTTP/other.example.com", nil, nil, 0); !errors.Is(err, secpkg.StatusWrongPrincipal) {
		t.Errorf("other target: %v", err)
	}
	if _, err := handshake(testTarget, cb, other, 0); !errors.Is(err, secpkg.StatusBadBindings) {
		t.Errorf("mismatched bindings: %v", err)
	}
	if _, err := handshake(testTarget, nil, cb, 0); !errors.Is(err, secpkg.StatusBadBindings) {
		t.Errorf("missing bindings: %v", err)
	}
	for _, tc := range []struct {
		name     string
		cli, srv *sspi.ChannelBindings
		flags    sspi.ASCFlags
		want     secpkg.ChannelBindingResult
	}{
		{"Matched", cb, cb, 0, secpkg.BindingsClientSupport | secpkg.BindingsValidMatched},
		{"AcceptorHasNone", cb, nil, 0, secpkg.BindingsClientSupport | secpkg.BindingsAbsent},
		{"AllowedMissing", nil, cb, sspi.ASCReqAllowMissingBindings, secpkg.BindingsValidMissing},
	} {
		s, err := handshake(testTarget, tc.cli, tc.srv, tc.flags)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		id, err := s.Identity()
		if err != nil || id.Bindings != tc.want || id.User != testUser || id.Package != Name {
			t.Errorf("%s: identity %+v, %v; want bindings %v", tc.name, id, err, tc.want)
		}
	}
}

// handshakeLoop runs the three legs without inspecting them.
func handshakeLoop(ctx context.Context, c *sspi.ClientContext, s *sspi.ServerContext) error {
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		return err
	}
	if tok, _, err = s.Accept(ctx, tok); err != nil {
		return err
	}
	if tok, _, err = c.Initialize(ctx, tok); err != nil {
		return err
	}
	_, _, err = s.Accept(ctx, tok)
	return err
}

// TestLockout: every login counts as a failure once KE2 is out and a
// valid KE3 clears it, so successes never accumulate, wrong passwords
// (which never send KE3) lock the account, and a locked account fails
// even with the right password.
func TestLockout(t *testing.T) {
	policy := accounts.LockoutPolicy{Threshold: 3}
	env := newEngine(t, &accounts.Options{Lockout: &policy})
	p := env.provider(t)
	ctx := context.Background()
	failures := func() int {
		a, err := env.store.Lookup(ctx, testDomain, testUser)
		if err != nil {
			t.Fatal(err)
		}
		return a.Lockout.Failures
	}
	for range 5 {
		if r := env.run(t, p, testUser, []byte(testPassword), nil, nil); r.err != nil {
			t.Fatal(r.err)
		}
	}
	if n := failures(); n != 0 {
		t.Fatalf("%d failures counted after successful logins", n)
	}
	for range 3 {
		// A client that gives up at KE2 never sends KE3; its failure was
		// counted before KE2 went out.
		env.run(t, p, testUser, []byte("guess"), nil, nil).want(t, "client", secpkg.StatusLogonDenied)
	}
	// A locked account is answered like an unknown one, with the fake
	// record: even the right password fails, on the client at KE2.
	r := env.run(t, p, testUser, []byte(testPassword), nil, nil)
	r.want(t, "client", secpkg.StatusLogonDenied)
	if n := failures(); n < 3 {
		t.Fatalf("%d failures after three wrong passwords", n)
	}
}

// TestRegistration: the password never reaches the LSA; MakeVerifier
// refuses unless explicitly allowed; a re-registration replaces the
// record; the registrar checks what it is given.
func TestRegistration(t *testing.T) {
	env := newEngine(t, nil)
	ctx := context.Background()
	if _, err := env.reg.MakeVerifier(ctx, testUser, testDomain, []byte("pw")); !errors.Is(err, ErrRegistrationRequired) || !errors.Is(err, secpkg.StatusUnsupportedFunction) {
		t.Fatalf("MakeVerifier: %v", err)
	}
	// Re-registration with a new password.
	env.register(t, testDomain, testUser, []byte("new password"))
	p := env.provider(t)
	if r := env.run(t, p, testUser, []byte("new password"), nil, nil); r.err != nil {
		t.Fatal(r.err)
	}
	env.run(t, p, testUser, []byte(testPassword), nil, nil).want(t, "client", secpkg.StatusLogonDenied)

	// The explicit option lets the LSA make a record from a password.
	insecure := newLSAPackage(PackageConfig{KSF: engineKSF, Secrets: storeSecrets{env.store}, InsecureRegisterInLSA: true})
	if err := insecure.Initialize(ctx, 0, &engineParams, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	v, err := insecure.MakeVerifier(ctx, "bob", testDomain, []byte("bob's"))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.store.Create(ctx, &accounts.Account{Domain: testDomain, Name: "bob", Verifiers: map[string][]byte{Name: v}}); err != nil {
		t.Fatal(err)
	}
	if r := env.run(t, p, "bob", []byte("bob's"), nil, nil); r.err != nil {
		t.Fatal(r.err)
	}

	// Bad registration tokens and policies.
	r, req, _ := NewRegistration([]byte("x"), nil)
	if _, err := env.reg.CreateRegistrationResponse(ctx, testDomain, "carol", req[:len(req)-1]); !errors.Is(err, secpkg.StatusInvalidToken) {
		t.Errorf("short request: %v", err)
	}
	resp, err := env.reg.CreateRegistrationResponse(ctx, testDomain, "carol", req)
	if err != nil {
		t.Fatal(err)
	}
	upload, err := r.Finish(resp)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), upload...)
	copy(bad[2:], appendKSF(nil, InsecureIdentityKSF()))
	if _, err := env.reg.FinishRegistration(ctx, testDomain, "carol", bad); !errors.Is(err, secpkg.StatusAlgorithmMismatch) {
		t.Errorf("identity KSF upload: %v", err)
	}
	copy(bad[2:], appendKSF(nil, Argon2id(1<<20, 1, 1)))
	if _, err := env.reg.FinishRegistration(ctx, testDomain, "carol", bad); !errors.Is(err, secpkg.StatusAlgorithmMismatch) {
		t.Errorf("1 GiB KSF upload beyond the limit: %v", err)
	}
	bad = append([]byte(nil), upload...)
	copy(bad[2+ksfSize:], make([]byte, 32)) // identity element as client_public_key
	if _, err := env.reg.FinishRegistration(ctx, testDomain, "carol", bad); !errors.Is(err, secpkg.StatusInvalidToken) {
		t.Errorf("identity client key: %v", err)
	}
	// A client refuses a server asking for more memory than it allows.
	r2, req2, _ := NewRegistration([]byte("x"), &RegistrationOptions{MaxKSFMemory: 32})
	resp2, _ := env.reg.CreateRegistrationResponse(ctx, testDomain, "carol", req2)
	if _, err := r2.Finish(resp2); !errors.Is(err, secpkg.StatusAlgorithmMismatch) {
		t.Errorf("client limit: %v", err)
	}
}
