package httpauth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/lsa/engine"
	_ "github.com/opensspi/sspi/packages/all"
	"github.com/opensspi/sspi/secpkg"
)

// The accounts every test's LSA knows.
const (
	domain      = "EXAMPLE"
	alice       = "alice"
	alicePass   = "alice-Passw0rd"
	bob         = "bob"
	bobPass     = "bob-Passw0rd"
	loopbackSPN = "HTTP/127.0.0.1"
)

// newProvider is an embedded LSA with NTLM and Negotiate (no Kerberos:
// Negotiate runs NTLM) and an account store holding alice and bob.
func newProvider(t testing.TB) *sspi.Provider {
	t.Helper()
	p, _ := newProviderEngine(t)
	return p
}

// newProviderEngine is newProvider with its engine.
func newProviderEngine(t testing.TB) (*sspi.Provider, *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, e, err := embedded.NewProvider(&engine.Config{
		Packages: []string{"Negotiate", "NTLM"},
		Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain,
			DNSMachineName: "server.example.com", DNSDomainName: "example.com"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for _, u := range [][2]string{{alice, alicePass}, {bob, bobPass}} {
		if err := e.SetPassword(ctx, domain, u[0], []byte(u[1])); err != nil {
			t.Fatal(err)
		}
	}
	return p, e
}

// whoami answers with the request's authentication as JSON.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	a := httpauth.AuthenticationFrom(r.Context())
	if a == nil {
		http.Error(w, "no authentication in the context", http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(whoamiReply{User: a.Identity.User, Domain: a.Identity.Domain,
		Package: a.Identity.Package, Scheme: a.Scheme, Mutual: a.Mutual, Persisted: a.Persisted,
		Bindings: a.Identity.Bindings.String(), Authorization: r.Header.Get("Authorization")})
})

type whoamiReply struct {
	User, Domain, Package, Scheme string
	Mutual, Persisted             bool
	Bindings                      string
	Authorization                 string
}

// newHandler returns a Handler on p with cfg (nil: NTLM offered too).
func newHandler(t testing.TB, p *sspi.Provider, cfg *httpauth.ServerConfig) *httpauth.Handler {
	t.Helper()
	if cfg == nil {
		cfg = &httpauth.ServerConfig{NTLM: true}
	}
	cfg.Provider = p
	if cfg.Principal == "" {
		// The client's default target for 127.0.0.1. Client and server
		// share NTLM's reflection detection in one process, which lets
		// a client answer its own host's challenge only for the
		// principal the acceptor named.
		cfg.Principal = loopbackSPN
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := httpauth.NewHandler(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// startServer serves next behind h on a loopback httptest server.
func startServer(t testing.TB, h *httpauth.Handler, next http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(h.Wrap(next))
	h.Install(ts.Config)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// tWriter writes log lines to the test's log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// decode reads a whoami reply.
func decode(t testing.TB, resp *http.Response) whoamiReply {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s: %s", resp.Status, b)
	}
	var w whoamiReply
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return w
}
