package sspi_test

import (
	"context"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

const (
	testUser     = "alice"
	testDomain   = "EXAMPLE"
	testPassword = "alice-Passw0rd"
	testTarget   = "HOST/server.example.com"
)

var allFakes = []string{"Fake1", "Fake2", "Fake3", "Fake4", "Fake5", "FakeUnmapped", "FakeComplete"}

// newEngine starts an engine with the fake packages and an account store
// holding alice. mod, if not nil, adjusts the configuration first.
func newEngine(t testing.TB, mod func(*engine.Config)) *engine.Engine {
	t.Helper()
	store, err := accounts.Open(context.Background(), "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &engine.Config{
		Packages:   allFakes,
		Accounts:   store,
		Parameters: lsaParams(),
	}
	if mod != nil {
		mod(cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	if err := e.SetPassword(context.Background(), testDomain, testUser, []byte(testPassword)); err != nil {
		t.Fatal(err)
	}
	return e
}

func newProvider(t testing.TB, e *engine.Engine) *sspi.Provider {
	t.Helper()
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

func alice() *sspi.AuthIdentity {
	return &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}
}

// pairFor returns fresh client and server contexts of pkg on p.
func pairFor(t testing.TB, p *sspi.Provider, pkg string, cflags sspi.ISCFlags, sflags sspi.ASCFlags) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, pkg, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.AcquireCredentials(ctx, pkg, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Free(); sc.Free() })
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: testTarget, Flags: cflags})
	s := sspi.NewServerContext(sc, &sspi.ServerConfig{Flags: sflags})
	t.Cleanup(func() { c.Delete(); s.Delete() })
	return c, s
}

func established(t testing.TB, p *sspi.Provider, pkg string) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	c, s := pairFor(t, p, pkg, sspi.ISCReqConfidentiality|sspi.ISCReqIntegrity|sspi.ISCReqSequenceDetect|sspi.ISCReqReplayDetect|sspi.ISCReqMutualAuth, 0)
	if err := secpkgtest.Handshake(context.Background(), c, s); err != nil {
		t.Fatalf("%s handshake: %v", pkg, err)
	}
	return c, s
}

// clock is a settable clock for engine tests.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }
