package httpauth_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
)

// startTLSServer serves next behind a Handler with cfg over TLS, with
// the server's certificate for channel bindings unless cert says
// otherwise.
func startTLSServer(t testing.TB, p *sspi.Provider, cfg *httpauth.ServerConfig, cert func(ts *httptest.Server) *x509.Certificate) (*httptest.Server, *tls.Config) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	if cfg.Certificate == nil {
		cfg.Certificate = func(*tls.ConnectionState) *x509.Certificate {
			if cert != nil {
				return cert(ts)
			}
			return ts.Certificate()
		}
	}
	h := newHandler(t, p, cfg)
	ts.Config.Handler = h.Wrap(whoami)
	h.Install(ts.Config)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, ts.Client().Transport.(*http.Transport).TLSClientConfig
}

// TestChannelBindings: over HTTPS the client binds the handshake to the
// server's certificate (tls-server-end-point) and the server checks it:
// matched under both policies; a client that sends none passes Allow and
// fails Require; bindings for another certificate fail both.
func TestChannelBindings(t *testing.T) {
	p := newProvider(t)
	for _, ep := range []httpauth.ExtendedProtection{httpauth.ExtendedProtectionAllow, httpauth.ExtendedProtectionRequire} {
		t.Run(ep.String(), func(t *testing.T) {
			ts, tlsCfg := startTLSServer(t, p, &httpauth.ServerConfig{NTLM: true, ExtendedProtection: ep}, nil)
			for _, pkgs := range [][]string{{"Negotiate"}, {"NTLM"}} {
				tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, TLSClientConfig: tlsCfg, Packages: pkgs})
				w := get(t, &http.Client{Transport: tr}, ts.URL)
				if w.User != alice || !strings.Contains(w.Bindings, "VALID_MATCHED") {
					t.Fatalf("%v: %+v", pkgs, w)
				}
			}

			// A client without bindings (a raw NTLM client context over
			// TLS, as curl's NTLM is).
			var rec logRecorder
			ts2, tlsCfg2 := startTLSServer(t, p, &httpauth.ServerConfig{NTLM: true, ExtendedProtection: ep, Logger: slog.New(&rec)}, nil)
			c := dialRawTLS(t, ts2, tlsCfg2)
			resp, body := handshakeRaw(t, p, c, "NTLM", "NTLM", alice, alicePass)
			if ep == httpauth.ExtendedProtectionAllow {
				if resp.StatusCode != 200 || !strings.Contains(body, "VALID_MISSING") {
					t.Fatalf("no bindings, Allow: %s %s", resp.Status, body)
				}
			} else if resp.StatusCode != 401 || !strings.Contains(rec.last(), "SEC_E_BAD_BINDINGS") {
				t.Fatalf("no bindings, Require: %s, logged %q", resp.Status, rec.last())
			}

			// The server binds to a certificate other than the one the
			// client saw: what a man in the middle with a certificate of
			// its own would present.
			// (httptest's servers share one certificate: make another.)
			other := otherCertificate(t)
			ts3, tlsCfg3 := startTLSServer(t, p, &httpauth.ServerConfig{NTLM: true, ExtendedProtection: ep, Logger: slog.New(&rec)},
				func(*httptest.Server) *x509.Certificate { return other })
			for _, pkgs := range [][]string{{"Negotiate"}, {"NTLM"}} {
				tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, TLSClientConfig: tlsCfg3, Packages: pkgs})
				resp, err := (&http.Client{Transport: tr}).Get(ts3.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 401 || !strings.Contains(rec.last(), "SEC_E_BAD_BINDINGS") {
					t.Fatalf("%v, mismatched bindings: %s, logged %q", pkgs, resp.Status, rec.last())
				}
			}
		})
	}
}

// otherCertificate returns a self-signed certificate for 127.0.0.1.
func otherCertificate(t testing.TB) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "impostor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func dialRawTLS(t testing.TB, ts *httptest.Server, cfg *tls.Config) *rawConn {
	t.Helper()
	nc, err := tls.Dial("tcp", ts.Listener.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// forwardProxy is an HTTP forward proxy: CONNECT tunnels, and plain
// requests in absolute form forwarded, each client connection on an
// upstream connection of its own (as Squid pins connections for
// connection-oriented origin authentication). It records who it served.
type forwardProxy struct {
	mu        sync.Mutex
	upstreams []*http.Transport
	users     []string
	// sawProxyAuth counts forwarded requests that still carried
	// Proxy-Authorization (the Handler must have removed it).
	sawProxyAuth int
}

func (f *forwardProxy) note(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, r.Method+" "+httpauth.IdentityFrom(r.Context()).User)
	if r.Header.Get("Proxy-Authorization") != "" {
		f.sawProxyAuth++
	}
}

func (f *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.note(r)
	if r.Method != http.MethodConnect {
		rp := &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.Out.URL = pr.In.URL; pr.Out.Host = pr.In.Host },
			Transport: r.Context().Value(upstreamKey{}).(*http.Transport),
		}
		rp.ServeHTTP(w, r)
		return
	}
	dst, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hdr := w.Header().Clone() // the final Proxy-Authenticate token, if any
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		dst.Close()
		return
	}
	brw.WriteString("HTTP/1.1 200 Connection established\r\n")
	hdr.Write(brw)
	brw.WriteString("\r\n")
	brw.Flush()
	go func() {
		io.Copy(dst, brw)
		dst.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(conn, dst)
	conn.Close()
	dst.Close()
}

type upstreamKey struct{}

// connContext gives each client connection its upstream transport, with
// one connection at most.
func (f *forwardProxy) connContext(ctx context.Context, _ net.Conn) context.Context {
	tr := &http.Transport{MaxConnsPerHost: 1}
	f.mu.Lock()
	f.upstreams = append(f.upstreams, tr)
	f.mu.Unlock()
	return context.WithValue(ctx, upstreamKey{}, tr)
}

func (f *forwardProxy) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tr := range f.upstreams {
		tr.CloseIdleConnections()
	}
}

// startProxy runs an authenticating forward proxy built on the Handler
// in proxy mode.
func startProxy(t testing.TB, p *sspi.Provider, cfg *httpauth.ServerConfig) (*url.URL, *forwardProxy) {
	t.Helper()
	if cfg == nil {
		cfg = &httpauth.ServerConfig{NTLM: true}
	}
	cfg.Proxy = true
	fp := &forwardProxy{}
	h := newHandler(t, p, cfg)
	ts := httptest.NewUnstartedServer(h.Wrap(fp))
	ts.Config.ConnContext = fp.connContext
	h.Install(ts.Config)
	ts.Start()
	t.Cleanup(func() { ts.Close(); fp.close() })
	u, _ := url.Parse(ts.URL)
	return u, fp
}

// TestProxyConnect: our client through an authenticating forward proxy:
// a CONNECT tunnel whose 407 challenges it answers on the proxy
// connection, then TLS to the origin through the tunnel and the origin's
// own authentication, bound to the origin's certificate. Go's own
// http.Transport gives up at the proxy's 407.
func TestProxyConnect(t *testing.T) {
	p := newProvider(t)
	proxyURL, fp := startProxy(t, p, nil)
	origin, tlsCfg := startTLSServer(t, p, &httpauth.ServerConfig{}, nil)

	var legs legCounter
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{
		AllowedHosts: []string{"127.0.0.1"}, TLSClientConfig: tlsCfg, RequireMutualAuth: true,
		Proxy: http.ProxyURL(proxyURL), OnLeg: legs.on,
	})
	c := &http.Client{Transport: tr}
	w := get(t, c, origin.URL)
	if w.User != alice || !w.Mutual || !strings.Contains(w.Bindings, "VALID_MATCHED") {
		t.Fatalf("origin: %+v", w)
	}
	get(t, c, origin.URL+"/again")
	fp.mu.Lock()
	users := strings.Join(fp.users, ",")
	fp.mu.Unlock()
	if users != "CONNECT alice" {
		t.Fatalf("the proxy served %q", users)
	}
	var proxyLegs, originLegs int
	for _, l := range legs.legs {
		if l.Proxy {
			proxyLegs++
		} else {
			originLegs++
		}
	}
	if proxyLegs != 3 || originLegs != 3 {
		t.Fatalf("%d proxy legs, %d origin legs", proxyLegs, originLegs)
	}

	// http.Transport cannot answer the proxy's challenge.
	goTr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: tlsCfg}
	defer goTr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: goTr}).Get(origin.URL); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Fatalf("http.Transport through the proxy: %v", err)
	}

	// A wrong password: the proxy's refusal is the error.
	bad := newTransport(t, p, alice, "wrong", &httpauth.ClientConfig{AllowedHosts: []string{"127.0.0.1"}, TLSClientConfig: tlsCfg, Proxy: http.ProxyURL(proxyURL)})
	if _, err := (&http.Client{Transport: bad}).Get(origin.URL); err == nil || !strings.Contains(err.Error(), "407") {
		t.Fatalf("wrong password through the proxy: %v", err)
	}
}

// TestProxyPlainHTTP: plain HTTP through the authenticating proxy
// (requests in absolute form): the proxy authenticates the connection,
// removes Proxy-Authorization, and the origin authenticates too. An
// origin not on the allow-list gets no credentials, the proxy still
// does.
func TestProxyPlainHTTP(t *testing.T) {
	p := newProvider(t)
	proxyURL, fp := startProxy(t, p, nil)
	origin := startServer(t, newHandler(t, p, nil), whoami)
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"127.0.0.1"}, Proxy: http.ProxyURL(proxyURL)})
	c := &http.Client{Transport: tr}
	if w := get(t, c, origin.URL); w.User != alice {
		t.Fatalf("%+v", w)
	}
	get(t, c, origin.URL)
	fp.mu.Lock()
	if fp.sawProxyAuth != 0 || len(fp.users) < 2 || fp.users[0] != "GET alice" {
		t.Fatalf("proxy saw %q, Proxy-Authorization forwarded %d times", fp.users, fp.sawProxyAuth)
	}
	fp.mu.Unlock()

	notAllowed := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"intranet.example.com"}, Proxy: http.ProxyURL(proxyURL)})
	resp, err := (&http.Client{Transport: notAllowed}).Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("origin not allowed, through the proxy: %s", resp.Status)
	}
}
