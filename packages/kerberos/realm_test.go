package kerberos_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

func init() { secpkg.Register(kerberos.Name, kerberos.New(nil)) }

// realm is the MIT realm of scripts/dev-realm.sh, described by the
// variables `dev-realm.sh env` prints.
type realm struct {
	Realm, KDC, Config               string
	User, Password, User2, Password2 string
	ServiceKeytab, UserKeytab        string
	Service, HTTPService             string // host@localhost, HTTP@localhost
	DelegateService                  string // host@trusted.localhost (ok-as-delegate)
	OtherRealm, ReferralService      string
	Dir                              string
}

// liveRealm returns the realm, or skips the test without one (and fails
// it when SSPI_INTEROP_REQUIRED=1, as scripts/test.sh sets).
func liveRealm(t testing.TB) *realm {
	t.Helper()
	r := &realm{
		Realm: os.Getenv("SSPI_KRB5_REALM"), KDC: os.Getenv("SSPI_KRB5_KDC"), Config: os.Getenv("KRB5_CONFIG"),
		User: os.Getenv("SSPI_KRB5_USER"), Password: os.Getenv("SSPI_KRB5_PASSWORD"),
		User2: os.Getenv("SSPI_KRB5_USER2"), Password2: os.Getenv("SSPI_KRB5_PASSWORD2"),
		ServiceKeytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"), UserKeytab: os.Getenv("SSPI_KRB5_USER_KEYTAB"),
		Service: os.Getenv("SSPI_KRB5_SERVICE"), HTTPService: os.Getenv("SSPI_KRB5_HTTP_SERVICE"),
		DelegateService: os.Getenv("SSPI_KRB5_DELEGATE_SERVICE"),
		OtherRealm:      os.Getenv("SSPI_KRB5_OTHER_REALM"), ReferralService: os.Getenv("SSPI_KRB5_REFERRAL_SERVICE"),
		Dir: os.Getenv("SSPI_KRB5_DIR"),
	}
	if r.Realm == "" || r.Config == "" || r.ServiceKeytab == "" || r.User == "" || r.Service == "" {
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" (SSPI_INTEROP_REQUIRED=1)")
		}
		t.Skip("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" to run this test")
	}
	return r
}

// spn is the service name s ("host@localhost") as an SPN
// ("host/localhost").
func spn(s string) string { return strings.Replace(s, "@", "/", 1) }

// newEngine is an LSA with the Kerberos package configured for the realm;
// adjust, if given, changes the package's configuration and the engine's.
func newEngine(t testing.TB, r *realm, adjust func(*kerberos.Config, *engine.Config)) *engine.Engine {
	t.Helper()
	kc := kerberos.Config{ConfigFiles: []string{r.Config}, Keytabs: []string{r.ServiceKeytab}}
	ec := engine.Config{Packages: []string{kerberos.Name}}
	if adjust != nil {
		adjust(&kc, &ec)
	}
	ec.Configured = map[string]secpkg.Package{kerberos.Name: kerberos.New(&kc)}
	e, err := engine.New(&ec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// providers returns a provider on e per mode (embedded and through the
// daemon protocol), for tests that run in both.
func forEachMode(t *testing.T, r *realm, adjust func(*kerberos.Config, *engine.Config), f func(t *testing.T, p *sspi.Provider, e *engine.Engine)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			e := newEngine(t, r, adjust)
			p := sspi.NewProvider(mode.Harness(t, e).Connect(t), nil)
			t.Cleanup(func() { p.Close() })
			f(t, p, e)
		})
	}
}

// alice returns outbound credentials of the realm's first user.
func alice(t testing.TB, p *sspi.Provider, r *realm) *sspi.Credentials {
	t.Helper()
	return password(t, p, r.User, r.Realm, r.Password)
}

// password returns outbound credentials for user@realm with pw.
func password(t testing.TB, p *sspi.Provider, user, realm, pw string) *sspi.Credentials {
	t.Helper()
	c, err := p.AcquireCredentials(context.Background(), kerberos.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: realm, Password: []byte(pw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Free() })
	return c
}

// acceptor returns inbound credentials for principal.
func acceptor(t testing.TB, p *sspi.Provider, principal string) *sspi.Credentials {
	t.Helper()
	c, err := p.AcquireCredentials(context.Background(), kerberos.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: principal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Free() })
	return c
}

// pair returns a fresh client and server context.
func pair(t testing.TB, cc, sc *sspi.Credentials, target string, flags sspi.ISCFlags, cb *sspi.ChannelBindings) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: flags, Bindings: cb})
	s := sspi.NewServerContext(sc, &sspi.ServerConfig{Bindings: cb})
	t.Cleanup(func() { c.Delete(); s.Delete() })
	return c, s
}

// allFlags are the flags most tests ask for.
const allFlags = sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect

// bg is a context for the calls of one test; the bound only keeps a
// broken KDC from hanging the suite.
func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestHandshake: our initiator and our acceptor through the LSA, in both
// modes, with and without mutual authentication: the identity, the flags,
// equal context keys, and messages both ways.
func TestHandshake(t *testing.T) {
	r := liveRealm(t)
	forEachMode(t, r, nil, func(t *testing.T, p *sspi.Provider, e *engine.Engine) {
		cc := alice(t, p, r)
		sc := acceptor(t, p, spn(r.Service))
		for _, mutual := range []bool{true, false} {
			flags := allFlags
			if !mutual {
				flags &^= sspi.ISCReqMutualAuth
			}
			c, s := pair(t, cc, sc, r.Service, flags, nil)
			if err := secpkgtest.Handshake(bg(t), c, s); err != nil {
				t.Fatalf("mutual %v: %v", mutual, err)
			}
			id, err := s.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.User != r.User || id.Domain != r.Realm || id.Package != kerberos.Name {
				t.Fatalf("identity %+v", id)
			}
			if got := c.Flags(); (got&sspi.ISCRetMutualAuth != 0) != mutual {
				t.Fatalf("mutual %v: client flags %v", mutual, got)
			}
			if !c.Mapped() || !s.Mapped() {
				t.Fatalf("mapped: client %v, server %v", c.Mapped(), s.Mapped())
			}
			ck, err1 := c.SessionKey()
			sk, err2 := s.SessionKey()
			if err1 != nil || err2 != nil || string(ck) != string(sk) {
				t.Fatalf("session keys: %v %v equal %v", err1, err2, string(ck) == string(sk))
			}
			for _, msg := range []string{"", "x", "hello"} {
				tok, err := c.Wrap([]byte(msg), true)
				if err != nil {
					t.Fatal(err)
				}
				got, enc, err := s.Unwrap(tok)
				if err != nil || !enc || string(got) != msg {
					t.Fatalf("unwrap %q: %q %v %v", msg, got, enc, err)
				}
				tok, err = s.Wrap([]byte(msg), false)
				if err != nil {
					t.Fatal(err)
				}
				got, enc, err = c.Unwrap(tok)
				if err != nil || enc || string(got) != msg {
					t.Fatalf("unwrap %q: %q %v %v", msg, got, enc, err)
				}
			}
		}
	})
}
