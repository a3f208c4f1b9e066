package interop

// Full HTTP handshakes per second: a new TCP connection for every request,
// so that each runs the whole exchange (Negotiate over Kerberos: two HTTP
// round trips, the AP-REQ and the AP-REP in the 200; the NTLM scheme:
// three) and the LSA's work on both sides, beside the same request without
// authentication on a new connection, in the same run, request by request.
//
//	eval "$(scripts/dev-realm.sh up)"
//	go test -run '^$' -bench HTTPHandshake -benchtime 2s -count 3 ./interop/

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
)

// BenchmarkHTTPHandshake: one embedded LSA with Kerberos, NTLM and
// Negotiate serves an httpauth.Handler accepting as the realm's HTTP
// service (Negotiate, and the NTLM scheme too); each iteration makes, in
// turn, a plain request on a new connection to an unauthenticated server
// (the anchor), a Negotiate request that runs Kerberos (our Transport
// with alice's password: the LSA holds her TGT and the service ticket
// after the first request; mutual authentication required), and an NTLM
// request (the NTLM scheme), each on a new connection. It reports each
// one's requests per second (each a full handshake) and each
// authenticated rate as a fraction of the plain one.
func BenchmarkHTTPHandshake(b *testing.B) {
	r := &krbRealm{Realm: os.Getenv("SSPI_KRB5_REALM"), Config: os.Getenv("KRB5_CONFIG"), Keytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"),
		User: os.Getenv("SSPI_KRB5_USER"), Password: os.Getenv("SSPI_KRB5_PASSWORD"), HTTPService: os.Getenv("SSPI_KRB5_HTTP_SERVICE")}
	if r.Realm == "" || r.Config == "" || r.Keytab == "" || r.User == "" || r.HTTPService == "" {
		peerMissing(b, "the MIT realm (eval \"$(scripts/dev-realm.sh up)\")", errors.New("SSPI_KRB5_* variables unset"))
	}
	httpSPN := strings.Replace(r.HTTPService, "@", "/", 1)
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Packages: []string{kerberos.Name, ntlm.Name, negotiate.Name},
		Configured: map[string]secpkg.Package{kerberos.Name: kerberos.New(&kerberos.Config{
			ConfigFiles: []string{r.Config}, Keytabs: []string{r.Keytab}})},
		Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain,
			DNSMachineName: "localhost", DNSDomainName: "example.com"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(); store.Close() })
	if err := e.SetPassword(ctx, domain, user, []byte(password)); err != nil {
		b.Fatal(err)
	}
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	b.Cleanup(func() { p.Close() })

	h, err := httpauth.NewHandler(ctx, &httpauth.ServerConfig{Provider: p, NTLM: true, Principal: httpSPN})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	// The page names the package that authenticated the request, if any.
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := httpauth.AuthenticationFrom(r.Context()); a != nil {
			io.WriteString(w, a.Identity.Package)
		}
		io.WriteString(w, "\n")
	})
	authSrv := httptest.NewUnstartedServer(h.Wrap(hello))
	h.Install(authSrv.Config)
	authSrv.Start()
	b.Cleanup(authSrv.Close)
	plainSrv := httptest.NewServer(hello)
	b.Cleanup(plainSrv.Close)

	transport := func(id *sspi.AuthIdentity, pkg string) *httpauth.Transport {
		tr, err := httpauth.NewTransport(ctx, &httpauth.ClientConfig{Provider: p, Identity: id, Packages: []string{pkg},
			AllowedHosts: []string{"127.0.0.1"}, RequireMutualAuth: pkg != ntlm.Name,
			Target: func(string) string { return httpSPN }})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		return tr
	}
	krbTr := transport(&sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)}, negotiate.Name)
	ntlmTr := transport(&sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}, ntlm.Name)
	plainTr := &http.Transport{}
	b.Cleanup(plainTr.CloseIdleConnections)

	type client struct {
		name string
		pkg  string // the package the page must name
		c    *http.Client
		req  *http.Request
		idle func()
		t    time.Duration
	}
	newReq := func(u string) *http.Request {
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			b.Fatal(err)
		}
		return req
	}
	clients := []*client{
		{name: "plain", pkg: "", c: &http.Client{Transport: plainTr}, req: newReq(plainSrv.URL), idle: plainTr.CloseIdleConnections},
		{name: "kerberos", pkg: kerberos.Name, c: &http.Client{Transport: krbTr}, req: newReq(authSrv.URL), idle: krbTr.CloseIdleConnections},
		{name: "ntlm", pkg: ntlm.Name, c: &http.Client{Transport: ntlmTr}, req: newReq(authSrv.URL), idle: ntlmTr.CloseIdleConnections},
	}
	get := func(c *client, body io.Writer) {
		resp, err := c.c.Do(c.req)
		if err != nil {
			b.Fatal(c.name, err)
		}
		io.Copy(body, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %s", c.name, resp.Status)
		}
		c.idle() // the next request opens a new connection
	}
	for _, c := range clients {
		var page strings.Builder
		get(c, &page) // for Kerberos, the TGT and the service ticket
		if got := strings.TrimSpace(page.String()); got != c.pkg {
			b.Fatalf("%s: authenticated by %q, want %q", c.name, got, c.pkg)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, c := range clients {
			t0 := time.Now()
			get(c, io.Discard)
			c.t += time.Since(t0)
		}
	}
	n := float64(b.N)
	plain := n / clients[0].t.Seconds()
	b.ReportMetric(plain, "plain-req/s")
	for _, c := range clients[1:] {
		rate := n / c.t.Seconds()
		b.ReportMetric(rate, c.name+"-hs/s")
		b.ReportMetric(rate/plain, c.name+"/plain")
	}
}
