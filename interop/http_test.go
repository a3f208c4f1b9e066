package interop

// HTTP Negotiate (RFC 4559) against independent peers: curl 7.88 (its own
// NTLM, and --negotiate through MIT GSS-API, whose SPNEGO runs
// gss-ntlmssp when there are no Kerberos credentials) and a small HTTP
// server, proxy and client on MIT GSS-API (peers/http_peer.py), in both
// directions, through package httpauth.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
)

// httpPeerScript is the MIT GSS-API HTTP peer, relative to this package.
const httpPeerScript = "peers/http_peer.py"

// oidKerberos is what MIT reports as the mechanism of a Kerberos context.
const oidKerberos = "1.2.840.113554.1.2.2"

// identityPage answers an authenticated request with its authentication.
var identityPage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	a := httpauth.AuthenticationFrom(r.Context())
	json.NewEncoder(w).Encode(pageJSON{User: a.Identity.User, Domain: a.Identity.Domain, Package: a.Identity.Package,
		Scheme: a.Scheme, Mutual: a.Mutual, Bindings: a.Identity.Bindings.String()})
})

type pageJSON struct {
	User, Domain, Package, Scheme string
	Mutual                        bool
	Bindings                      string
}

// ourHTTPServer serves identityPage behind a Handler on p.
func ourHTTPServer(t *testing.T, p *sspi.Provider, cfg httpauth.ServerConfig, tlsOn bool) *httptest.Server {
	t.Helper()
	cfg.Provider = p
	ts := httptest.NewUnstartedServer(nil)
	if tlsOn {
		cfg.Certificate = func(*tls.ConnectionState) *x509.Certificate { return ts.Certificate() }
	}
	h, err := httpauth.NewHandler(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ts.Config.Handler = h.Wrap(identityPage)
	h.Install(ts.Config)
	if tlsOn {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

// requireCurl skips (or, under SSPI_INTEROP_REQUIRED=1, fails) without
// curl.
func requireCurl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		peerMissing(t, "curl (Debian: apt-get install curl, or scripts/setup.sh)", err)
	}
	return path
}

// curl runs curl with args in env and returns its standard output, the
// HTTP status (from -w) and its error.
func curl(t *testing.T, env []string, args ...string) (body string, status int, err error) {
	t.Helper()
	cmd := exec.Command(requireCurl(t), append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return s, 0, fmt.Errorf("curl: %v: %s", err, stderr.String())
	}
	status, _ = strconv.Atoi(s[i+1:])
	if err != nil {
		err = fmt.Errorf("curl: %w: %s", err, stderr.String())
	}
	return s[:i], status, err
}

func decodePage(t *testing.T, body string) pageJSON {
	t.Helper()
	var p pageJSON
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%v: %q", err, body)
	}
	return p
}

// TestHTTPCurlNTLM: curl's own NTLM (not GSS-API) against our Handler:
// the identity, then a wrong password refused with 401.
func TestHTTPCurlNTLM(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		// No principal: curl's NTLM sends no MsvAvTargetName.
		ts := ourHTTPServer(t, p, httpauth.ServerConfig{NTLM: true}, false)
		env := peerEnv(t, t.TempDir())
		body, status, err := curl(t, env, "--ntlm", "-u", domain+`\`+user+":"+password, ts.URL)
		if err != nil || status != 200 {
			t.Fatalf("status %d, %v: %s", status, err, body)
		}
		if pg := decodePage(t, body); pg.User != user || pg.Domain != domain || pg.Scheme != "NTLM" || pg.Package != "NTLM" || pg.Mutual {
			t.Fatalf("%+v", pg)
		}
		if _, status, _ := curl(t, env, "--ntlm", "-u", domain+`\`+user+":wrong", ts.URL); status != 401 {
			t.Fatalf("wrong password: status %d", status)
		}
	})
}

// TestHTTPCurlNegotiate: curl --negotiate, whose GSS-API is MIT's: with
// no Kerberos credentials, MIT's SPNEGO offers gss-ntlmssp (the user from
// NTLM_USER_FILE), so the Negotiate scheme runs NTLM inside SPNEGO, with
// the mechListMIC exchange and our final token. (curl 7.88 does not check
// that final token: a changed byte still gives it a 200; the checks of
// our token by MIT are TestHTTPMITClientOurServer's.) Our acceptor names
// a principal, which gss-ntlmssp's MsvAvTargetName must match.
func TestHTTPCurlNegotiate(t *testing.T) {
	requirePeers(t)
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		ts := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: "HTTP/127.0.0.1"}, false)
		env := peerEnv(t, t.TempDir())
		body, status, err := curl(t, env, "--negotiate", "-u", ":", ts.URL)
		if err != nil || status != 200 {
			t.Fatalf("status %d, %v: %s", status, err, body)
		}
		if pg := decodePage(t, body); pg.User != user || pg.Domain != domain || pg.Scheme != "Negotiate" || pg.Package != "NTLM" || !pg.Mutual {
			t.Fatalf("%+v", pg)
		}
		// A principal the client does not name: gss-ntlmssp's target
		// name is refused.
		other := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: "HTTP/elsewhere.example.com"}, false)
		if _, status, _ := curl(t, env, "--negotiate", "-u", ":", other.URL); status != 401 {
			t.Fatalf("another principal: status %d", status)
		}
	})
}

// startHTTPPeer runs http_peer.py in role with args and returns it and its
// port once it listens.
func startHTTPPeer(t *testing.T, role string, extraEnv []string, args ...string) (*peer, int) {
	t.Helper()
	requirePeers(t)
	cmd := exec.Command(python, append([]string{httpPeerScript, role}, args...)...)
	cmd.Env = append(peerEnv(t, t.TempDir()), extraEnv...)
	p := startCmd(t, "http_peer.py "+role, cmd)
	f := p.expect("LISTENING")
	port, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return p, port
}

// authLine is an AUTH line of http_peer.py.
type authLine struct {
	Peer, Mech string
	Final      int
}

func (p *peer) auth() authLine {
	p.t.Helper()
	var a authLine
	if err := json.Unmarshal([]byte(strings.Join(p.expect("AUTH"), " ")), &a); err != nil {
		p.t.Fatal(err)
	}
	return a
}

// ourTransport is our client as alice (password pw), allowed to
// authenticate to 127.0.0.1, targeting spn.
func ourTransport(t *testing.T, p *sspi.Provider, pw string, cfg httpauth.ClientConfig) *httpauth.Transport {
	t.Helper()
	cfg.Provider = p
	cfg.Identity = &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(pw)}
	if cfg.AllowedHosts == nil {
		cfg.AllowedHosts = []string{"127.0.0.1"}
	}
	if cfg.Proxy == nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	if cfg.Target == nil {
		cfg.Target = func(string) string { return spn }
	}
	tr, err := httpauth.NewTransport(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestHTTPOurClientMITServer: our Transport against an HTTP server whose
// Negotiate is MIT GSS-API (SPNEGO over gss-ntlmssp): MIT's acceptor
// names alice, and its final token (its mechListMIC) completes our
// context, so mutual authentication can be required. With that token
// dropped, a client that requires it fails; with a byte of it changed,
// every client fails. A wrong password gets MIT's 401.
func TestHTTPOurClientMITServer(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		srv, port := startHTTPPeer(t, "server", nil)
		u := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		var legs []httpauth.Leg
		tr := ourTransport(t, p, password, httpauth.ClientConfig{RequireMutualAuth: true, OnLeg: func(l httpauth.Leg) { legs = append(legs, l) }})
		c := &http.Client{Transport: tr}
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`EXAMPLE\\alice`)) {
			t.Fatalf("%s %s", resp.Status, body)
		}
		a := srv.auth()
		if a.Peer != domain+`\`+user || a.Mech != oidNTLM || a.Final == 0 {
			t.Fatalf("MIT authenticated %+v", a)
		}
		if n := len(legs); n != 3 || legs[2].HTTPStatus != 200 || legs[2].In != a.Final || legs[2].Status != sspi.StatusOK {
			t.Fatalf("legs %+v", legs)
		}
		// The connection stays authenticated: no new handshake.
		resp, err = c.Get(u)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("second request: %v %v", resp, err)
		}
		resp.Body.Close()
		if len(legs) != 3 {
			t.Fatalf("the second request ran a handshake")
		}

		dropped, port := startHTTPPeer(t, "server", nil, "--final", "drop")
		u = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		if _, err := (&http.Client{Transport: ourTransport(t, p, password, httpauth.ClientConfig{RequireMutualAuth: true})}).Get(u); !errors.Is(err, httpauth.ErrMutualAuth) {
			t.Fatalf("final token dropped, mutual required: %v", err)
		}
		dropped.auth()
		resp, err = (&http.Client{Transport: ourTransport(t, p, password, httpauth.ClientConfig{})}).Get(u)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("final token dropped, mutual not required: %v %v", resp, err)
		}
		resp.Body.Close()

		flipped, port := startHTTPPeer(t, "server", nil, "--final", "flip")
		u = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		_, err = (&http.Client{Transport: ourTransport(t, p, password, httpauth.ClientConfig{})}).Get(u)
		if !errors.Is(err, httpauth.ErrMutualAuth) || sspi.StatusOf(err) != sspi.StatusDowngradeDetected {
			t.Fatalf("final token changed: %v", err)
		}
		flipped.auth()

		resp, err = (&http.Client{Transport: ourTransport(t, p, "wrong-"+password, httpauth.ClientConfig{})}).Get(u)
		if err != nil || resp.StatusCode != 401 {
			t.Fatalf("wrong password: %v %v\n%s", resp, err, flipped.stderr)
		}
		resp.Body.Close()
		flipped.expect("REFUSED")
	})
}

// TestHTTPMITClientOurServer: MIT GSS-API's SPNEGO initiator (over
// gss-ntlmssp) as an HTTP client of our Handler: MIT checks our final
// token, and fails when a byte of it is changed.
func TestHTTPMITClientOurServer(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		ts := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: "HTTP/127.0.0.1"}, false)
		run := func(u string) (string, []string) {
			return startHTTPPeerClient(t, u).recv()
		}
		kind, f := run(ts.URL)
		var res struct {
			Status   int
			Complete bool
			Mech     string
			Body     string
		}
		if kind != "RESULT" || json.Unmarshal([]byte(f[0]), &res) != nil {
			t.Fatalf("%s %v", kind, f)
		}
		if res.Status != 200 || !res.Complete || res.Mech != oidNTLM {
			t.Fatalf("%+v", res)
		}
		if pg := decodePage(t, res.Body); pg.User != user || pg.Scheme != "Negotiate" || !pg.Mutual {
			t.Fatalf("%+v", pg)
		}

		// Our final token with its last byte changed.
		h, err := httpauth.NewHandler(context.Background(), &httpauth.ServerConfig{Provider: p, Principal: "HTTP/127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		bad := httptest.NewUnstartedServer(flipFinal(h.Wrap(identityPage)))
		h.Install(bad.Config)
		bad.Start()
		t.Cleanup(bad.Close)
		kind, f = run(bad.URL)
		if kind != "FAIL" {
			t.Fatalf("MIT accepted a changed final token: %s %v", kind, f)
		}
		var fail peerFailure
		if err := json.Unmarshal([]byte(f[0]), &fail); err != nil || fail.Major != gssBadSig {
			t.Fatalf("MIT refused a changed final token with %+v, want GSS_S_BAD_MIC", fail)
		}
	})
}

// startHTTPPeerClient runs http_peer.py client against u as alice.
func startHTTPPeerClient(t *testing.T, u string) *peer {
	t.Helper()
	requirePeers(t)
	cmd := exec.Command(python, httpPeerScript, "client", "--url", u, "--user", domain+`\`+user,
		"--password-env", "GSS_PEER_PASSWORD", "--target", "HTTP@127.0.0.1")
	cmd.Env = append(peerEnv(t, t.TempDir()), "GSS_PEER_PASSWORD="+password)
	return startCmd(t, "http_peer.py client", cmd)
}

// flipFinal changes the last byte of the final token of 2xx responses.
func flipFinal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&flipWriter{ResponseWriter: w}, r)
	})
}

type flipWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *flipWriter) WriteHeader(code int) {
	if !w.wrote && code/100 == 2 {
		if v := w.Header().Get("WWW-Authenticate"); v != "" {
			s, tok, _ := strings.Cut(v, " ")
			b, err := base64.StdEncoding.DecodeString(tok)
			if err == nil && len(b) > 0 {
				b[len(b)-1] ^= 1
				w.Header().Set("WWW-Authenticate", s+" "+base64.StdEncoding.EncodeToString(b))
			}
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *flipWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// TestHTTPOurClientMITProxy: our Transport through a forward proxy whose
// Proxy-Authenticate is MIT GSS-API: the 407 to CONNECT answered on the
// proxy connection (Negotiate over gss-ntlmssp, with MIT's final token
// checked), then TLS through the tunnel to an HTTPS origin that
// authenticates us too, bound to its certificate.
func TestHTTPOurClientMITProxy(t *testing.T) {
	forEachMode(t, func(t *testing.T, p *sspi.Provider) {
		proxy, port := startHTTPPeer(t, "proxy", nil)
		origin := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: "HTTP/127.0.0.1"}, true)
		proxyURL, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(port))
		var legs []httpauth.Leg
		tr := ourTransport(t, p, password, httpauth.ClientConfig{
			RequireMutualAuth: true, Proxy: http.ProxyURL(proxyURL),
			TLSClientConfig: origin.Client().Transport.(*http.Transport).TLSClientConfig,
			Target:          func(host string) string { return "HTTP/" + host },
			OnLeg:           func(l httpauth.Leg) { legs = append(legs, l) },
		})
		resp, err := (&http.Client{Transport: tr}).Get(origin.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s", resp.Status, body)
		}
		if pg := decodePage(t, string(body)); pg.User != user || !pg.Mutual || !strings.Contains(pg.Bindings, "VALID_MATCHED") {
			t.Fatalf("origin: %+v", pg)
		}
		if a := proxy.auth(); a.Peer != domain+`\`+user || a.Mech != oidNTLM || a.Final == 0 {
			t.Fatalf("proxy authenticated %+v", a)
		}
		if f := proxy.expect("CONNECT"); f[0] != strings.TrimPrefix(origin.URL, "https://") {
			t.Fatalf("CONNECT %v", f)
		}
		var proxyLegs int
		for _, l := range legs {
			if l.Proxy {
				proxyLegs++
			}
		}
		if proxyLegs != 3 || len(legs) != 6 {
			t.Fatalf("legs %+v", legs)
		}
	})
}
