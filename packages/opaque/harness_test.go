package opaque

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// The engine tests run the package registered under its name, with a
// cheap Argon2id, through the real LSA engine, provider and an in-memory
// account store. Its long-term secret lives where the LSA keeps package
// secrets: in the account store (secpkg.SecretStore). Accounts are
// registered through the LSA's registration call (lsa.Registration), the
// client side run here as the sspi CLI runs it.

const (
	testUser     = "alice"
	testDomain   = "EXAMPLE"
	testPassword = "alice-Passw0rd"
	testTarget   = "HOST/server.example.com"
)

// engineKSF is the KSF of the engine tests' records: Argon2id, small.
var engineKSF = Argon2id(64, 1, 1)

// engineConfig is the configuration the registered package has.
var engineConfig = PackageConfig{
	KSF:          engineKSF,
	MaxKSFMemory: 1024,
}

func init() { secpkg.Register(Name, New(&engineConfig)) }

var engineParams = secpkg.Parameters{
	MachineName: "SERVER", DomainName: testDomain,
	DNSMachineName: "server.example.com", DNSDomainName: "example.com",
}

// storeSecrets is the account store's package secrets of OPAQUE, as the
// LSA's support function offers them, for stand-alone LSA-mode halves
// that must share the engine's server setup.
type storeSecrets struct{ s accounts.Store }

func (w storeSecrets) Secret(ctx context.Context, name string) ([]byte, error) {
	b, err := w.s.Secret(ctx, Name, name)
	if errors.Is(err, accounts.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	return b, err
}

func (w storeSecrets) CreateSecret(ctx context.Context, name string, b []byte) error {
	err := w.s.CreateSecret(ctx, Name, name, b)
	if errors.Is(err, accounts.ErrExists) {
		return fs.ErrExist
	}
	return err
}

// testEnv is an engine with the package, its account store and a
// stand-alone LSA-mode half on the same secrets, for tests that call the
// package directly.
type testEnv struct {
	e     *engine.Engine
	store accounts.Store
	reg   *lsaPackage
}

// newEngine starts an engine whose store holds alice, registered through
// the LSA's registration call.
func newEngine(t testing.TB, opts *accounts.Options) *testEnv {
	t.Helper()
	env := newBareEngine(t, opts)
	env.register(t, testDomain, testUser, []byte(testPassword))
	return env
}

// newBareEngine starts an engine with an empty account store.
func newBareEngine(t testing.TB, opts *accounts.Options) *testEnv {
	t.Helper()
	return newBareEngineWith(t, opts, nil)
}

// newBareEngineWith is newBareEngine with mod, if not nil, adjusting the
// engine's configuration.
func newBareEngineWith(t testing.TB, opts *accounts.Options, mod func(*engine.Config)) *testEnv {
	t.Helper()
	store, err := accounts.Open(context.Background(), "memory:", opts)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := &engine.Config{Packages: []string{Name}, Accounts: store, Parameters: engineParams}
	if mod != nil {
		mod(ecfg)
	}
	e, err := engine.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	env := &testEnv{e: e, store: store}
	cfg := engineConfig
	cfg.Secrets = storeSecrets{store}
	env.reg = newLSAPackage(cfg)
	if err := env.reg.Initialize(context.Background(), 0, &engineParams, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	return env
}

// register creates the account if it does not exist and registers
// password for it through the LSA's registration call on a connection of
// this process (an administrator's), returning the stored record.
func (env *testEnv) register(t testing.TB, domain, user string, password []byte) []byte {
	t.Helper()
	ctx := context.Background()
	conn := env.e.Connect(engine.CurrentProcess())
	defer conn.Close()
	if _, err := env.store.Lookup(ctx, domain, user); errors.Is(err, accounts.ErrNotFound) {
		if err := env.store.Create(ctx, &accounts.Account{Domain: domain, Name: user, Groups: []string{"users"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := registerThrough(ctx, conn.(lsa.Registration), domain, user, "", password); err != nil {
		t.Fatal(err)
	}
	a, err := env.store.Lookup(ctx, domain, user)
	if err != nil {
		t.Fatal(err)
	}
	return a.Verifiers[Name]
}

// registerThrough runs a registration of password through r: the
// client's side here, the LSA's behind r.
func registerThrough(ctx context.Context, r lsa.Registration, domain, user, code string, password []byte) error {
	reg, req, err := NewRegistration(password, nil)
	if err != nil {
		return err
	}
	begun, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: Name, Domain: domain, User: user, Token: req, Code: code})
	if err != nil {
		return err
	}
	upload, err := reg.Finish(begun.Token)
	if err != nil {
		return err
	}
	return r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: begun.Registration, Token: upload})
}

// provider is a provider connected to the engine as this process.
func (env *testEnv) provider(t testing.TB) *sspi.Provider {
	t.Helper()
	p := sspi.NewProvider(env.e.Connect(engine.CurrentProcess()), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

// pair returns fresh client and server contexts for user/password.
func (env *testEnv) pair(t testing.TB, p *sspi.Provider, user string, password []byte, cfg *sspi.ClientConfig) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: testDomain, Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = &sspi.ClientConfig{Target: testTarget}
	}
	c := sspi.NewClientContext(cc, cfg)
	s := sspi.NewServerContext(sc, nil)
	t.Cleanup(func() { c.Delete(); s.Delete(); cc.Free(); sc.Free() })
	return c, s
}
