package opaque

import (
	"context"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// The engine tests run the package registered under its name, with a
// cheap Argon2id, through the real LSA engine, provider and an in-memory
// account store. Its long-term secret lives in a file of mode 0600 in the
// test's own t.TempDir(), which testStore points at.

const (
	testUser     = "alice"
	testDomain   = "EXAMPLE"
	testPassword = "alice-Passw0rd"
	testTarget   = "HOST/server.example.com"
)

// engineKSF is the KSF of the engine tests' records: Argon2id, small.
var engineKSF = Argon2id(64, 1, 1)

// switchStore is a SecretStore that forwards to the store of the test
// that runs.
type switchStore struct {
	mu sync.Mutex
	s  SecretStore
}

func (w *switchStore) current() SecretStore {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.s
}

func (w *switchStore) Secret(ctx context.Context, name string) ([]byte, error) {
	return w.current().Secret(ctx, name)
}

func (w *switchStore) CreateSecret(ctx context.Context, name string, b []byte) error {
	return w.current().CreateSecret(ctx, name, b)
}

var testStore = &switchStore{}

// engineConfig is the configuration the registered package has.
var engineConfig = PackageConfig{
	KSF:          engineKSF,
	MaxKSFMemory: 1024,
	Secrets:      testStore,
}

func init() { secpkg.Register(Name, New(&engineConfig)) }

var engineParams = secpkg.Parameters{
	MachineName: "SERVER", DomainName: testDomain,
	DNSMachineName: "server.example.com", DNSDomainName: "example.com",
}

// testEnv is an engine with the package, its account store and a
// stand-alone LSA-mode half on the same secret store for registrations.
type testEnv struct {
	e     *engine.Engine
	store accounts.Store
	reg   *lsaPackage // registers accounts the way the LSA call will
	dir   string
}

// newEngine starts an engine whose store holds alice, registered through
// the protocol (NewRegistration on the client side, the Registrar on the
// LSA side).
func newEngine(t testing.TB, opts *accounts.Options) *testEnv {
	t.Helper()
	dir := t.TempDir()
	testStore.mu.Lock()
	testStore.s = FileSecretStore(dir)
	testStore.mu.Unlock()
	store, err := accounts.Open(context.Background(), "memory:", opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Packages: []string{Name}, Accounts: store, Parameters: engineParams})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	env := &testEnv{e: e, store: store, dir: dir}
	env.reg = newLSAPackage(engineConfig)
	if err := env.reg.Initialize(context.Background(), 0, &engineParams, newFakeLSA()); err != nil {
		t.Fatal(err)
	}
	env.register(t, testDomain, testUser, []byte(testPassword))
	return env
}

// register creates or re-registers an account through the protocol.
func (env *testEnv) register(t testing.TB, domain, user string, password []byte) []byte {
	t.Helper()
	ctx := context.Background()
	r, req, err := NewRegistration(password, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := env.reg.CreateRegistrationResponse(ctx, domain, user, req)
	if err != nil {
		t.Fatal(err)
	}
	upload, err := r.Finish(resp)
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.reg.FinishRegistration(ctx, domain, user, upload)
	if err != nil {
		t.Fatal(err)
	}
	verifiers := map[string][]byte{Name: v}
	if err := env.store.Create(ctx, &accounts.Account{Domain: domain, Name: user, Groups: []string{"users"}, Verifiers: verifiers}); err != nil {
		if err := env.store.SetVerifiers(ctx, domain, user, verifiers); err != nil {
			t.Fatal(err)
		}
	}
	return v
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
