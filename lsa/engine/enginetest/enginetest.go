// Package enginetest starts LSA engines for tests, the way httptest
// starts servers: an engine with an in-memory account store holding the
// test's accounts, and providers connected to it in either of the two
// modes an application reaches the LSA (the engine in the process, or the
// LSA protocol over a Unix socket, as lsad serves it). Everything stops
// when the test ends (t.Cleanup).
//
// It is test support for the authority side: it imports the engine, the
// account store, the LSA protocol and the application API, and only tests
// import it. The tests of the module root, lsa/engine, packages/ntlm,
// packages/negotiate and interop's NTLM tests use it, and the conformance
// kit (secpkg/secpkgtest) serves engines through it. lsa/lsarpc's own
// tests build bare engines: they are internal tests of the package this
// one imports, so they cannot import it back.
package enginetest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// The machine a test engine describes to its packages (SECPKG_PARAMETERS).
const (
	MachineName    = "SERVER"
	Domain         = "EXAMPLE"
	DNSMachineName = "server.example.com"
	DNSDomainName  = "example.com"
)

// Parameters returns the machine description every test engine has.
func Parameters() secpkg.Parameters {
	return secpkg.Parameters{MachineName: MachineName, DomainName: Domain, DNSMachineName: DNSMachineName, DNSDomainName: DNSDomainName}
}

// Account is an account a test engine's store holds.
type Account struct {
	Domain, User, Password string
}

// Config says what a test engine holds. The zero value is an engine with
// every registered package and an empty account store.
type Config struct {
	// Packages lists the enabled packages in order; nil means every
	// registered package.
	Packages []string
	// Accounts are created in the account store with the verifiers of
	// the enabled packages (Engine.SetPassword).
	Accounts []Account
	// Engine, if not nil, adjusts the engine's configuration last:
	// limits, the clock, Authorize.
	Engine func(*engine.Config)
}

// New starts an engine as cfg says, with an in-memory account store and
// the machine of Parameters; both stop when the test ends.
func New(t testing.TB, cfg *Config) *engine.Engine {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	ec := &engine.Config{Packages: cfg.Packages, Accounts: store, Parameters: Parameters()}
	if cfg.Engine != nil {
		cfg.Engine(ec)
	}
	e, err := engine.New(ec)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	for _, a := range cfg.Accounts {
		if err := e.SetPassword(ctx, a.Domain, a.User, []byte(a.Password)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// Mode is one way an application reaches the LSA.
type Mode struct {
	Name string
	// Connect returns a new connection to e as the current process,
	// standing for one application process.
	Connect func(t testing.TB, e *engine.Engine) lsa.Conn
}

// The modes.
var (
	// Embedded is the engine in this process (package embedded).
	Embedded = Mode{Name: "Embedded", Connect: func(t testing.TB, e *engine.Engine) lsa.Conn {
		return e.Connect(engine.CurrentProcess())
	}}
	// Daemon is the LSA protocol over a Unix socket, as lsad serves it:
	// every call crosses the socket as CBOR.
	Daemon = Mode{Name: "Daemon", Connect: func(t testing.TB, e *engine.Engine) lsa.Conn {
		t.Helper()
		c, err := lsarpc.Dial(context.Background(), Serve(t, e))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}}
	// Modes are both, for tests that run in each.
	Modes = []Mode{Embedded, Daemon}
)

// Provider returns a provider over a new connection to e in mode; it is
// closed when the test ends.
func Provider(t testing.TB, e *engine.Engine, mode Mode) *sspi.Provider {
	t.Helper()
	p := sspi.NewProvider(mode.Connect(t, e), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

// served maps an engine to the socket serving it.
var served struct {
	mu    sync.Mutex
	paths map[*engine.Engine]string
}

// Serve serves e over the LSA protocol on a Unix socket in a fresh
// directory and returns the socket's path. The server stops when the test
// that first asked for it ends; until then every call returns the same
// path.
func Serve(t testing.TB, e *engine.Engine) string {
	t.Helper()
	served.mu.Lock()
	defer served.mu.Unlock()
	if p, ok := served.paths[e]; ok {
		return p
	}
	// A short directory: socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "lsad")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lsad.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	srv := &lsarpc.Server{Authority: e}
	go srv.Serve(ln)
	if served.paths == nil {
		served.paths = make(map[*engine.Engine]string)
	}
	served.paths[e] = path
	t.Cleanup(func() {
		served.mu.Lock()
		delete(served.paths, e)
		served.mu.Unlock()
		srv.Close()
		os.RemoveAll(dir)
	})
	return path
}
