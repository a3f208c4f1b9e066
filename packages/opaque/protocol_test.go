package opaque_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opensspi/sspi/packages/opaque"
)

// testKSF is a cheap Argon2id for tests that run many logins.
var testKSF = opaque.Argon2id(64, 1, 1)

// register runs a registration with cfg on both sides and returns the
// record.
func register(t testing.TB, cfg *opaque.Config, setup *opaque.ServerSetup, password, cid []byte) *opaque.RegistrationRecord {
	t.Helper()
	c := opaque.NewClient(cfg)
	req, err := c.CreateRegistrationRequest(password)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := opaque.NewServer(cfg, setup).CreateRegistrationResponse(req, cid)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := c.FinalizeRegistrationRequest(resp)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// login is one login's outcome.
type login struct {
	clientKey, serverKey, exportKey []byte
	ke1, ke2, ke3                   []byte
	clientErr, serverErr            error
}

// runLogin logs in with the client's and the server's configurations and
// the server's record (nil: unknown client). hook may alter each message
// on its way (n is 1, 2 or 3).
func runLogin(t testing.TB, ccfg, scfg *opaque.Config, setup *opaque.ServerSetup, record *opaque.RegistrationRecord, password, cid []byte, hook func(n int, msg []byte) []byte) *login {
	t.Helper()
	if hook == nil {
		hook = func(_ int, m []byte) []byte { return m }
	}
	r := &login{}
	c := opaque.NewClient(ccfg)
	ke1, err := c.GenerateKE1(password)
	if err != nil {
		t.Fatal(err)
	}
	r.ke1 = hook(1, ke1.Bytes())
	ke1, err = opaque.ParseKE1(r.ke1)
	if err != nil {
		r.serverErr = err
		return r
	}
	sl, ke2, err := opaque.NewServer(scfg, setup).GenerateKE2(ke1, record, cid)
	if err != nil {
		r.serverErr = err
		return r
	}
	r.ke2 = hook(2, ke2.Bytes())
	ke2, err = opaque.ParseKE2(r.ke2)
	if err != nil {
		r.clientErr = err
		return r
	}
	ke3, ck, ek, err := c.GenerateKE3(ke2)
	if err != nil {
		r.clientErr = err
		return r
	}
	r.clientKey, r.exportKey = ck, ek
	r.ke3 = hook(3, ke3.Bytes())
	ke3, err = opaque.ParseKE3(r.ke3)
	if err != nil {
		r.serverErr = err
		return r
	}
	r.serverKey, r.serverErr = sl.ServerFinish(ke3)
	return r
}

func newSetup(t testing.TB) *opaque.ServerSetup {
	t.Helper()
	s, err := opaque.GenerateServerSetup(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *login) ok(t testing.TB) {
	t.Helper()
	if r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("login failed: client %v, server %v", r.clientErr, r.serverErr)
	}
	if len(r.clientKey) != opaque.Nx || !bytes.Equal(r.clientKey, r.serverKey) {
		t.Fatalf("session keys differ or have the wrong size")
	}
}

// TestRoundTrip: registration and login with an empty context and the
// default identities, under Argon2id with small parameters and with the
// default (64 MiB, t=3, p=4), and with a context and identities.
func TestRoundTrip(t *testing.T) {
	pw, cid := []byte("correct horse battery staple"), []byte("alice")
	cases := []struct {
		name string
		cfg  opaque.Config
	}{
		{"Argon2id-small", opaque.Config{KSF: testKSF}},
		{"Argon2id-default-m64MiB-t3-p4", opaque.Config{}},
		{"context-and-identities", opaque.Config{KSF: testKSF, Context: []byte("app v1"), ClientIdentity: []byte("alice@example.com"), ServerIdentity: []byte("example.com")}},
		{"identity-KSF", opaque.Config{KSF: opaque.InsecureIdentityKSF()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.KSF == (opaque.KSF{}) && opaque.DefaultKSF() != opaque.Argon2id(64*1024, 3, 4) {
				t.Fatalf("DefaultKSF is %v", opaque.DefaultKSF())
			}
			if testing.Short() && tc.cfg.KSF == (opaque.KSF{}) {
				t.Skip("64 MiB Argon2id in -short mode")
			}
			setup := newSetup(t)
			rec := register(t, &tc.cfg, setup, pw, cid)
			r := runLogin(t, &tc.cfg, &tc.cfg, setup, rec, pw, cid, nil)
			r.ok(t)
			if len(r.ke1) != opaque.KE1Size || len(r.ke2) != opaque.KE2Size || len(r.ke3) != opaque.KE3Size {
				t.Errorf("message sizes %d, %d, %d", len(r.ke1), len(r.ke2), len(r.ke3))
			}
		})
	}
}

// TestMismatches: any disagreement makes the client fail at KE2, before
// it sends KE3, with EnvelopeRecoveryError (wrong password, identities in
// the envelope, an impostor or fake record) or ServerAuthenticationError
// (context), and never panic.
func TestMismatches(t *testing.T) {
	pw, cid := []byte("s3cret"), []byte("alice")
	base := opaque.Config{KSF: testKSF, Context: []byte("ctx"), ClientIdentity: []byte("alice"), ServerIdentity: []byte("srv")}
	setup := newSetup(t)
	rec := register(t, &base, setup, pw, cid)
	with := func(f func(*opaque.Config)) *opaque.Config { c := base; f(&c); return &c }
	impostor := newSetup(t)
	cases := []struct {
		name       string
		ccfg, scfg *opaque.Config
		setup      *opaque.ServerSetup
		rec        *opaque.RegistrationRecord
		password   []byte
		cid        []byte
		want       error
	}{
		{"WrongPassword", &base, &base, setup, rec, []byte("s3cres"), cid, opaque.ErrEnvelopeRecovery},
		{"ClientContext", with(func(c *opaque.Config) { c.Context = []byte("ctX") }), &base, setup, rec, pw, cid, opaque.ErrServerAuthentication},
		{"ServerContext", &base, with(func(c *opaque.Config) { c.Context = nil }), setup, rec, pw, cid, opaque.ErrServerAuthentication},
		{"ClientIdentityOfClient", with(func(c *opaque.Config) { c.ClientIdentity = []byte("bob") }), &base, setup, rec, pw, cid, opaque.ErrEnvelopeRecovery},
		{"ClientIdentityOfServer", &base, with(func(c *opaque.Config) { c.ClientIdentity = []byte("bob") }), setup, rec, pw, cid, opaque.ErrServerAuthentication},
		{"ServerIdentityOfClient", with(func(c *opaque.Config) { c.ServerIdentity = nil }), &base, setup, rec, pw, cid, opaque.ErrEnvelopeRecovery},
		{"ServerIdentityOfServer", &base, with(func(c *opaque.Config) { c.ServerIdentity = []byte("other") }), setup, rec, pw, cid, opaque.ErrServerAuthentication},
		{"KSF", with(func(c *opaque.Config) { c.KSF = opaque.Argon2id(64, 2, 1) }), &base, setup, rec, pw, cid, opaque.ErrEnvelopeRecovery},
		{"ImpostorServer", &base, &base, impostor, rec, pw, cid, opaque.ErrEnvelopeRecovery},
		{"UnknownClient", &base, &base, setup, nil, pw, cid, opaque.ErrEnvelopeRecovery},
		{"OtherCredentialIdentifier", &base, &base, setup, rec, pw, []byte("bob"), opaque.ErrEnvelopeRecovery},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runLogin(t, tc.ccfg, tc.scfg, tc.setup, tc.rec, tc.password, tc.cid, nil)
			if r.serverErr != nil {
				t.Fatalf("server failed before the client: %v", r.serverErr)
			}
			if !errors.Is(r.clientErr, tc.want) {
				t.Fatalf("client: %v, want %v", r.clientErr, tc.want)
			}
			if r.ke3 != nil || r.clientKey != nil || r.exportKey != nil {
				t.Fatalf("client produced KE3 or keys after failing")
			}
		})
	}
}

// elementDecodes reports whether b is a valid serialized element, using
// the one-element RegistrationRequest.
func elementDecodes(b []byte) bool {
	_, err := opaque.ParseRegistrationRequest(b)
	return err == nil
}

// TestFlippedBytes flips every byte of KE1, KE2 and KE3 in turn: each
// fails with a definite error at a definite place.
func TestFlippedBytes(t *testing.T) {
	pw, cid := []byte("pw"), []byte("alice")
	cfg := opaque.Config{KSF: opaque.InsecureIdentityKSF(), Context: []byte("flip")}
	setup := newSetup(t)
	rec := register(t, &cfg, setup, pw, cid)
	type field struct {
		name       string
		start, end int
		element    bool
		want       error // when the message still parses
		serverSide bool  // the failure shows on the server (KE3)
	}
	msgs := []struct {
		n      int
		fields []field
	}{
		{1, []field{
			{"blinded_message", 0, 32, true, opaque.ErrEnvelopeRecovery, false},
			{"client_nonce", 32, 64, false, opaque.ErrServerAuthentication, false},
			{"client_public_keyshare", 64, 96, true, opaque.ErrServerAuthentication, false},
		}},
		{2, []field{
			{"evaluated_message", 0, 32, true, opaque.ErrEnvelopeRecovery, false},
			{"masking_nonce", 32, 64, false, opaque.ErrEnvelopeRecovery, false},
			{"masked_response", 64, 192, false, opaque.ErrEnvelopeRecovery, false},
			{"server_nonce", 192, 224, false, opaque.ErrServerAuthentication, false},
			{"server_public_keyshare", 224, 256, true, opaque.ErrServerAuthentication, false},
			{"server_mac", 256, 320, false, opaque.ErrServerAuthentication, false},
		}},
		{3, []field{{"client_mac", 0, 64, false, opaque.ErrClientAuthentication, true}}},
	}
	for _, m := range msgs {
		for _, f := range m.fields {
			t.Run(fmt.Sprintf("KE%d/%s", m.n, f.name), func(t *testing.T) {
				for i := f.start; i < f.end; i++ {
					var elem []byte
					r := runLogin(t, &cfg, &cfg, setup, rec, pw, cid, func(n int, msg []byte) []byte {
						if n == m.n {
							msg[i] ^= 0xff
							if f.element {
								elem = msg[f.start:f.end]
							}
						}
						return msg
					})
					want, side := f.want, r.clientErr
					if f.serverSide {
						side = r.serverErr
					}
					if f.element && !elementDecodes(elem) {
						want = opaque.ErrInvalidMessage
						if m.n == 1 {
							side = r.serverErr
						}
					}
					if !errors.Is(side, want) {
						t.Fatalf("byte %d flipped: client %v, server %v; want %v", i, r.clientErr, r.serverErr, want)
					}
					if r.serverKey != nil {
						t.Fatalf("byte %d flipped: the server accepted", i)
					}
				}
			})
		}
	}
}

// TestParsersRejectSizes: every parser refuses one byte more or less.
func TestParsersRejectSizes(t *testing.T) {
	for name, parse := range messageParsers {
		for _, n := range []int{0, 1, 31, 33, 95, 97, 191, 193, 319, 321} {
			b := make([]byte, n)
			if _, err := parse(b); !errors.Is(err, opaque.ErrInvalidMessage) {
				t.Errorf("%s of %d zero bytes: %v", name, n, err)
			}
		}
	}
	// The identity element and a non-canonical encoding are refused.
	id := make([]byte, 32)
	if _, err := opaque.ParseRegistrationRequest(id); !errors.Is(err, opaque.ErrInvalidMessage) {
		t.Errorf("identity element accepted: %v", err)
	}
	nc := bytes.Repeat([]byte{0xff}, 31)
	nc = append(nc, 0x7f) // 2^255-1 > p: not canonical
	if _, err := opaque.ParseRegistrationRequest(nc); !errors.Is(err, opaque.ErrInvalidMessage) {
		t.Errorf("non-canonical element accepted: %v", err)
	}
}

// TestServerSetup: export and import keep the setup; bad scalars and
// sizes are refused; the setup and records redact themselves.
func TestServerSetup(t *testing.T) {
	s := newSetup(t)
	b := s.Bytes()
	if len(b) != opaque.ServerSetupSize {
		t.Fatalf("setup of %d bytes", len(b))
	}
	s2, err := opaque.ParseServerSetup(b)
	if err != nil || !bytes.Equal(s2.PublicKey(), s.PublicKey()) || !bytes.Equal(s2.Bytes(), b) {
		t.Fatalf("re-imported setup differs: %v", err)
	}
	// A record made under one copy works under the other.
	cfg := opaque.Config{KSF: testKSF}
	rec := register(t, &cfg, s, []byte("pw"), []byte("c"))
	runLogin(t, &cfg, &cfg, s2, rec, []byte("pw"), []byte("c"), nil).ok(t)

	bad := append([]byte(nil), b...)
	for i := 64; i < 96; i++ {
		bad[i] = 0xff // above the group order
	}
	if _, err := opaque.ParseServerSetup(bad); err == nil {
		t.Error("non-canonical private key accepted")
	}
	zero := append(append([]byte(nil), b[:64]...), make([]byte, 32)...)
	if _, err := opaque.ParseServerSetup(zero); err == nil {
		t.Error("zero private key accepted")
	}
	if _, err := opaque.ParseServerSetup(b[:95]); err == nil {
		t.Error("short setup accepted")
	}
	for _, v := range []any{s, rec} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			if !bytes.Contains([]byte(out), []byte("REDACTED")) {
				t.Errorf("%s of %T = %q, not redacted", verb, v, out)
			}
		}
	}
}

// TestClientSingleUse: a client runs once; out-of-order calls fail.
func TestClientSingleUse(t *testing.T) {
	cfg := opaque.Config{KSF: testKSF}
	setup := newSetup(t)
	rec := register(t, &cfg, setup, []byte("pw"), []byte("c"))
	c := opaque.NewClient(&cfg)
	if _, _, _, err := c.GenerateKE3(nil); err == nil {
		t.Error("GenerateKE3 before GenerateKE1 succeeded")
	}
	c = opaque.NewClient(&cfg)
	ke1, _ := c.GenerateKE1([]byte("pw"))
	if _, err := c.GenerateKE1([]byte("pw")); err == nil {
		t.Error("second GenerateKE1 succeeded")
	}
	sl, ke2, err := opaque.NewServer(&cfg, setup).GenerateKE2(ke1, rec, []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	ke3, _, _, err := c.GenerateKE3(ke2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.GenerateKE3(ke2); err == nil {
		t.Error("second GenerateKE3 succeeded")
	}
	if _, err := sl.ServerFinish(ke3); err != nil {
		t.Fatal(err)
	}
	if _, err := sl.ServerFinish(ke3); err == nil {
		t.Error("second ServerFinish succeeded")
	}
}

// TestConfigLimits: oversize context and identities, bad KSFs.
func TestConfigLimits(t *testing.T) {
	big := make([]byte, 1<<16)
	for _, cfg := range []opaque.Config{
		{Context: big}, {ClientIdentity: big}, {ServerIdentity: big},
		{KSF: opaque.Argon2id(8, 0, 1)}, {KSF: opaque.Argon2id(7, 1, 1)}, {KSF: opaque.KSF{Algorithm: 7}},
		{KSF: opaque.Argon2id(1<<23, 1, 1)},
	} {
		if _, err := opaque.NewClient(&cfg).GenerateKE1([]byte("pw")); err == nil {
			t.Errorf("client with %+v accepted", cfg.KSF)
		}
	}
}
