package httpauth_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/lsa/engine"
)

// rawConn is one client TCP connection on which a test writes requests
// by hand.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, ts *httptest.Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// do sends a GET with the given header lines ("Name: value") and returns
// the response, its body read.
func (c *rawConn) do(headers ...string) (*http.Response, string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: test\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(body)
}

// tokenOf returns the token of scheme's challenge in resp.
func tokenOf(t testing.TB, resp *http.Response, scheme string) []byte {
	t.Helper()
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if s, tok, ok := strings.Cut(v, " "); ok && s == scheme {
			b, err := base64.StdEncoding.DecodeString(tok)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no %s token in %s: %q", scheme, resp.Status, resp.Header.Values("WWW-Authenticate"))
	return nil
}

// tokenClient is a client context that makes tokens for a test to send.
func tokenClient(t testing.TB, p *sspi.Provider, pkg, user, pw string) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), pkg, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(pw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: loopbackSPN})
	t.Cleanup(func() { c.Delete() })
	return c
}

func initialize(t testing.TB, c *sspi.ClientContext, in []byte) []byte {
	t.Helper()
	out, _, err := c.Initialize(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func authz(scheme string, tok []byte) string {
	return "Authorization: " + scheme + " " + base64.StdEncoding.EncodeToString(tok)
}

// logRecorder keeps the handler's log records for a test to inspect.
type logRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			l.mu.Lock()
			l.reasons = append(l.reasons, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// last returns the last logged reason.
func (l *logRecorder) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reasons) == 0 {
		return ""
	}
	return l.reasons[len(l.reasons)-1]
}

// attackServer is a server with NTLM offered, logging to rec.
func attackServer(t testing.TB, p *sspi.Provider, rec *logRecorder, cfg *httpauth.ServerConfig) *httptest.Server {
	t.Helper()
	if cfg == nil {
		cfg = &httpauth.ServerConfig{NTLM: true}
	}
	cfg.Logger = slog.New(rec)
	return startServer(t, newHandler(t, p, cfg), whoami)
}

// handshakeRaw runs a whole handshake of pkg under scheme as user on c
// and returns the final response.
func handshakeRaw(t testing.TB, p *sspi.Provider, c *rawConn, scheme, pkg, user, pw string) (*http.Response, string) {
	t.Helper()
	cl := tokenClient(t, p, pkg, user, pw)
	resp, body := c.do(authz(scheme, initialize(t, cl, nil)))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("first leg: %s %s", resp.Status, body)
	}
	return c.do(authz(scheme, initialize(t, cl, tokenOf(t, resp, scheme))))
}

// TestTwoUsersOneConnection: alice authenticates on a keep-alive
// connection; then bob starts a handshake on it. From bob's first token
// on, the connection no longer carries alice's identity (a request
// without credentials in the middle of bob's handshake is challenged);
// when bob finishes, requests are bob's, in a context of their own.
func TestTwoUsersOneConnection(t *testing.T) {
	p := newProvider(t)
	var rec logRecorder
	ts := attackServer(t, p, &rec, nil)
	c := dialRaw(t, ts)
	for _, scheme := range []string{"NTLM", "Negotiate"} {
		t.Run(scheme, func(t *testing.T) {
			resp, body := handshakeRaw(t, p, c, scheme, scheme, alice, alicePass)
			if resp.StatusCode != 200 || !strings.Contains(body, `"User":"alice"`) {
				t.Fatalf("alice: %s %s", resp.Status, body)
			}
			if resp, body := c.do(); resp.StatusCode != 200 || !strings.Contains(body, `"User":"alice","Domain":"EXAMPLE","Package":"NTLM","Scheme":"`+scheme+`","Mutual":`) || !strings.Contains(body, `"Persisted":true`) {
				t.Fatalf("alice's next request: %s %s", resp.Status, body)
			}

			bobc := tokenClient(t, p, scheme, bob, bobPass)
			resp, _ = c.do(authz(scheme, initialize(t, bobc, nil)))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("bob's first leg: %s", resp.Status)
			}
			chal := tokenOf(t, resp, scheme)
			// In the middle of bob's handshake: not alice, not bob.
			if resp, body := c.do(); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a request without credentials in bob's handshake: %s %s", resp.Status, body)
			}
			// That request abandoned bob's handshake: his answer to the
			// old challenge is refused.
			if resp, body := c.do(authz(scheme, initialize(t, bobc, chal))); resp.StatusCode == 200 {
				t.Fatalf("bob's abandoned handshake went on: %s", body)
			}

			resp, body = handshakeRaw(t, p, c, scheme, scheme, bob, bobPass)
			if resp.StatusCode != 200 || !strings.Contains(body, `"User":"bob"`) {
				t.Fatalf("bob: %s %s", resp.Status, body)
			}
			if resp, body := c.do(); !strings.Contains(body, `"User":"bob"`) {
				t.Fatalf("bob's next request: %s %s", resp.Status, body)
			}
			// A failed handshake leaves the connection unauthenticated.
			if resp, _ := handshakeRaw(t, p, c, scheme, scheme, alice, "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %s", resp.Status)
			}
			if !strings.Contains(rec.last(), "SEC_E_LOGON_DENIED") {
				t.Fatalf("logged %q", rec.last())
			}
			if resp, body := c.do(); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after a failed handshake: %s %s", resp.Status, body)
			}
		})
	}
}

// TestChallengeOnAnotherConnection: a challenge issued on one connection
// and answered on another is refused; the first connection's handshake
// is unaffected and completes with the same answer.
func TestChallengeOnAnotherConnection(t *testing.T) {
	p := newProvider(t)
	var rec logRecorder
	ts := attackServer(t, p, &rec, nil)
	for _, scheme := range []string{"NTLM", "Negotiate"} {
		t.Run(scheme, func(t *testing.T) {
			c1, c2 := dialRaw(t, ts), dialRaw(t, ts)
			cl := tokenClient(t, p, scheme, alice, alicePass)
			resp, _ := c1.do(authz(scheme, initialize(t, cl, nil)))
			answer := initialize(t, cl, tokenOf(t, resp, scheme))
			resp, body := c2.do(authz(scheme, answer))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the answer on another connection: %s %s", resp.Status, body)
			}
			if !strings.Contains(rec.last(), "SEC_E_INVALID_TOKEN") {
				t.Fatalf("logged %q", rec.last())
			}
			resp, body = c1.do(authz(scheme, answer))
			if resp.StatusCode != 200 || !strings.Contains(body, `"User":"alice"`) {
				t.Fatalf("the answer on its own connection: %s %s", resp.Status, body)
			}
		})
	}
}

// TestBadCredentials: oversized, malformed and mixed credentials are
// answered with 400 (or 401 for what the server does not offer), each
// with a logged reason, and leave no handshake behind.
func TestBadCredentials(t *testing.T) {
	p := newProvider(t)
	var rec logRecorder
	ts := attackServer(t, p, &rec, nil)
	// A server that lets 1 MiB headers through to the handler.
	big := httptest.NewUnstartedServer(nil)
	hBig := newHandler(t, p, &httpauth.ServerConfig{NTLM: true, Logger: slog.New(&rec)})
	big.Config.Handler = hBig.Wrap(whoami)
	big.Config.MaxHeaderBytes = 4 << 20
	hBig.Install(big.Config)
	big.Start()
	t.Cleanup(big.Close)

	mib := strings.Repeat("A", 1<<20)
	tests := []struct {
		name    string
		srv     *httptest.Server
		headers []string
		status  int
		reason  string
	}{
		{"1 MiB token", big, []string{"Authorization: Negotiate " + mib}, 400, "too large"},
		{"1 MiB NTLM token", big, []string{"Authorization: NTLM " + mib}, 400, "too large"},
		{"1 MiB token, default server", ts, []string{"Authorization: Negotiate " + mib}, 400, "too large"},
		{"2 MiB header, default server", ts, []string{"Authorization: Negotiate " + mib + mib}, 431, ""},
		{"bad base64", ts, []string{"Authorization: Negotiate YII*AAA="}, 400, "malformed"},
		{"base64 with stray bits", ts, []string{"Authorization: NTLM TlRMTVNTUAABAAAAB4IIoh=="}, 400, "not base64"},
		{"base64 without padding", ts, []string{"Authorization: NTLM TlRMTVNTUAABAAAAB4IIog"}, 400, "not base64"},
		{"base64url", ts, []string{"Authorization: Negotiate YII-_w=="}, 400, "not base64"},
		{"base64 with whitespace", ts, []string{"Authorization: NTLM TlRM TVNT"}, 400, "malformed"},
		{"no token", ts, []string{"Authorization: Negotiate"}, 400, "no token"},
		{"two headers", ts, []string{"Authorization: Negotiate YA==", "Authorization: NTLM TlRMTVNTUAA="}, 400, "more than one"},
		{"Basic", ts, []string{"Authorization: Basic YWxpY2U6cHc="}, 401, "not offered"},
		{"garbage token", ts, []string{"Authorization: Negotiate AAAA"}, 401, "SEC_E_INVALID_TOKEN"},
		{"NTLM AUTHENTICATE first", ts, []string{"Authorization: NTLM TlRMTVNTUAADAAAA"}, 401, "SEC_E_INVALID_TOKEN"},
		{"no scheme", ts, []string{"Authorization: =abc"}, 400, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, tt.srv)
			resp, body := c.do(tt.headers...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %s, want %d: %.200s", resp.Status, tt.status, body)
			}
			if tt.reason != "" && !strings.Contains(rec.last(), tt.reason) {
				t.Fatalf("logged %q, want %q", rec.last(), tt.reason)
			}
			if resp.StatusCode == 401 {
				if got := resp.Header.Values("WWW-Authenticate"); len(got) != 2 {
					t.Fatalf("challenges %q", got)
				}
			}
		})
	}
}

// TestSchemeMixing: an NTLM handshake answered under Negotiate (and the
// reverse) is refused with 400, and the handshake is dropped: the right
// answer afterwards finds nothing to continue.
func TestSchemeMixing(t *testing.T) {
	p := newProvider(t)
	var rec logRecorder
	ts := attackServer(t, p, &rec, nil)
	for _, tc := range []struct{ scheme, pkg, other string }{{"NTLM", "NTLM", "Negotiate"}, {"Negotiate", "Negotiate", "NTLM"}, {"Negotiate", "NTLM", "NTLM"}} {
		t.Run(tc.scheme+"/"+tc.pkg+" then "+tc.other, func(t *testing.T) {
			c := dialRaw(t, ts)
			cl := tokenClient(t, p, tc.pkg, alice, alicePass)
			resp, _ := c.do(authz(tc.scheme, initialize(t, cl, nil)))
			answer := initialize(t, cl, tokenOf(t, resp, tc.scheme))
			resp, body := c.do(authz(tc.other, answer))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("mixed: %s %s", resp.Status, body)
			}
			if !strings.Contains(rec.last(), "in the middle of a "+tc.scheme+" handshake") {
				t.Fatalf("logged %q", rec.last())
			}
			if resp, body := c.do(authz(tc.scheme, answer)); resp.StatusCode == 200 {
				t.Fatalf("the dropped handshake went on: %s", body)
			}
		})
	}
}

// TestStateDroppedOnClose: a connection that closes in the middle of a
// handshake leaves no context behind in the LSA, and the Handler's
// connection table empties.
func TestStateDroppedOnClose(t *testing.T) {
	p, e := newProviderEngine(t)
	h := newHandler(t, p, nil)
	closed := make(chan struct{}, 8)
	ts := httptest.NewUnstartedServer(h.Wrap(whoami))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	h.Install(ts.Config) // runs the handler's hook, then the one above
	ts.Start()
	t.Cleanup(ts.Close)

	base := contextsInLSA(e)
	c := dialRaw(t, ts)
	cl := tokenClient(t, p, "NTLM", alice, alicePass)
	resp, _ := c.do(authz("NTLM", initialize(t, cl, nil)))
	tokenOf(t, resp, "NTLM")
	if n := contextsInLSA(e); n != base+2 { // ours and the server's
		t.Fatalf("%d contexts in the LSA during the handshake, want %d", n, base+2)
	}
	c.nc.Close()
	<-closed
	if n := contextsInLSA(e); n != base+1 { // ours only
		t.Fatalf("%d contexts in the LSA after the connection closed, want %d", n, base+1)
	}
}

// contextsInLSA counts the contexts the LSA holds.
func contextsInLSA(e *engine.Engine) int { return e.Stats().Contexts }

// TestNoConnContext: a Handler whose hooks were not installed refuses
// every request (500) rather than share handshakes between connections.
func TestNoConnContext(t *testing.T) {
	p := newProvider(t)
	h := newHandler(t, p, nil)
	ts := httptest.NewServer(h.Wrap(whoami))
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %s", resp.Status)
	}
}

// TestAuthorize: the callback refuses bob (403) and admits alice, on
// every request, persisted ones included.
func TestAuthorize(t *testing.T) {
	p := newProvider(t)
	var calls int
	var mu sync.Mutex
	h := newHandler(t, p, &httpauth.ServerConfig{Authorize: func(r *http.Request, a *httpauth.Authentication) error {
		mu.Lock()
		calls++
		mu.Unlock()
		if a.Identity.User != alice {
			return errNotAlice
		}
		return nil
	}})
	ts := startServer(t, h, whoami)
	ca := &http.Client{Transport: newTransport(t, p, alice, alicePass, nil)}
	get(t, ca, ts.URL)
	get(t, ca, ts.URL)
	resp, err := (&http.Client{Transport: newTransport(t, p, bob, bobPass, nil)}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob: %s", resp.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("Authorize ran %d times, want 3", calls)
	}
}

var errNotAlice = errorString("only alice")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestHTTP2Refused: over HTTP/2 a connection carries many users'
// streams at once, so connection-oriented authentication is refused
// (505), as Windows answers HTTP_1_1_REQUIRED. Install turns HTTP/2 off;
// this server turns it back on.
func TestHTTP2Refused(t *testing.T) {
	p := newProvider(t)
	var rec logRecorder
	h := newHandler(t, p, &httpauth.ServerConfig{Logger: slog.New(&rec)})
	ts := httptest.NewUnstartedServer(h.Wrap(whoami))
	h.Install(ts.Config)
	ts.Config.TLSNextProto = nil
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	resp, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusHTTPVersionNotSupported || !strings.Contains(rec.last(), "HTTP/1.1") {
		t.Fatalf("%s %s, logged %q", resp.Proto, resp.Status, rec.last())
	}
}
