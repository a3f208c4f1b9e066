package httpauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/lsa/engine"
)

// This example puts Negotiate authentication in front of a handler and
// fetches it with the Transport, as alice, in one process.
func Example() {
	ctx := context.Background()

	// An LSA in this process with an account store holding alice.
	// Programs use sspi.Default() (or lsad) instead.
	store, _ := accounts.Open(ctx, "memory:", nil)
	p, eng, err := embedded.NewProvider(&engine.Config{Packages: []string{"Negotiate", "NTLM"}, Accounts: store}, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	eng.SetPassword(ctx, "EXAMPLE", "alice", []byte("alice-Passw0rd"))

	// The server: the Handler's middleware around the application, its
	// hooks on the http.Server.
	h, err := httpauth.NewHandler(ctx, &httpauth.ServerConfig{Provider: p, Principal: "HTTP/127.0.0.1"})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.AuthenticationFrom(r.Context())
		fmt.Fprintf(w, "hello %s (%s over %s, mutual %v)\n", a.Identity.User, a.Identity.Package, a.Scheme, a.Mutual)
	})
	srv := httptest.NewUnstartedServer(h.Wrap(app))
	h.Install(srv.Config)
	srv.Start()
	defer srv.Close()

	// The client: credentials only for 127.0.0.1, and the server must
	// prove itself.
	tr, err := httpauth.NewTransport(ctx, &httpauth.ClientConfig{
		Provider:          p,
		Identity:          &sspi.AuthIdentity{User: "alice", Domain: "EXAMPLE", Password: []byte("alice-Passw0rd")},
		AllowedHosts:      []string{"127.0.0.1"},
		RequireMutualAuth: true,
	})
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, ": ", string(body))
	// Output:
	// 200 OK: hello alice (NTLM over Negotiate, mutual true)
}
