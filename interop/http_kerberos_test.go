package interop

// The Kerberos half of the HTTP Negotiate proof, against the MIT realm of
// scripts/dev-realm.sh: curl --negotiate with a ticket from the KDC
// against our Handler (the AP-REP in the 200), our Transport against the
// MIT GSS-API HTTP server (peers/http_peer.py) with the service's keytab,
// and, without a ticket to be had, NTLM inside SPNEGO against it; our
// Transport through MIT's authenticating proxy with CONNECT to our HTTPS
// origin, Kerberos on both.

import (
	"context"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/httpauth"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// kerberosRealm is the KDC realm the Kerberos HTTP tests run against.
type kerberosRealm struct {
	Config   string // KRB5_CONFIG
	CCache   string // KRB5CCNAME
	Keytab   string // KRB5_KTNAME: holds the HTTP service's keys
	Realm    string // SSPI_KRB5_REALM
	User     string // SSPI_KRB5_USER: a principal of the realm, without the realm
	Password string // SSPI_KRB5_PASSWORD
	Service  string // SSPI_KRB5_HTTP_SERVICE: "HTTP/host.example.com", in the keytab
}

// serviceHost returns the host name of the HTTP service principal.
func (k *kerberosRealm) serviceHost() string {
	s := k.Service
	if rest, ok := strings.CutPrefix(s, "HTTP@"); ok { // a host-based service name, as dev-realm.sh exports it
		return rest
	}
	s = strings.TrimPrefix(s, "HTTP/")
	s, _, _ = strings.Cut(s, "@")
	return s
}

// requireKerberosHTTP returns the realm for the Kerberos HTTP tests. When
// the realm's environment is absent or the Kerberos package is not
// registered, the test skips, or fails under SSPI_INTEROP_REQUIRED=1
// (scripts/test.sh), as a missing peer does.
func requireKerberosHTTP(t *testing.T) *kerberosRealm {
	t.Helper()
	k := &kerberosRealm{}
	vars := []struct {
		name string
		dst  *string
	}{
		{"KRB5_CONFIG", &k.Config}, {"KRB5CCNAME", &k.CCache}, {"KRB5_KTNAME", &k.Keytab},
		{"SSPI_KRB5_REALM", &k.Realm}, {"SSPI_KRB5_USER", &k.User}, {"SSPI_KRB5_PASSWORD", &k.Password},
		{"SSPI_KRB5_HTTP_SERVICE", &k.Service},
	}
	var missing []string
	for _, v := range vars {
		if *v.dst = os.Getenv(v.name); *v.dst == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		peerMissing(t, "the MIT realm (eval \"$(scripts/dev-realm.sh up)\")", errors.New(strings.Join(missing, ", ")+" unset"))
	}
	if _, _, ok := secpkg.Lookup("Kerberos"); !ok {
		peerMissing(t, "the Kerberos package", errors.New("a realm is configured but no package named Kerberos is registered in this test binary"))
	}
	return k
}

// kerberosEnv is the environment of a Kerberos peer process: the realm's
// configuration, ccache and keytab, and nothing from gss-ntlmssp.
func (k *kerberosRealm) env(t *testing.T) []string {
	env := []string{"KRB5_CONFIG=" + k.Config, "KRB5CCNAME=" + k.CCache, "KRB5_KTNAME=" + k.Keytab}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "KRB5"), strings.HasPrefix(name, "NTLM_"), strings.HasPrefix(name, "GSS"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

// kinit gets the user a ticket in the realm's ccache.
func (k *kerberosRealm) kinit(t *testing.T) {
	t.Helper()
	cmd := exec.Command("kinit", k.User+"@"+k.Realm)
	cmd.Env = k.env(t)
	cmd.Stdin = strings.NewReader(k.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s@%s: %v: %s", k.User, k.Realm, err, out)
	}
}

// kerberosProvider is an LSA with Kerberos enabled before Negotiate's
// fallback to NTLM, in both provider modes. The Kerberos package reads
// the realm from KRB5_CONFIG and the service's keys from KRB5_KTNAME, as
// MIT does. (When the Kerberos package lands with a configuration of its
// own, this is the one place to set it.)
func forEachKerberosMode(t *testing.T, k *kerberosRealm, f func(t *testing.T, p *sspi.Provider)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			store, err := accounts.Open(context.Background(), "memory:", nil)
			if err != nil {
				t.Fatal(err)
			}
			e, err := engine.New(&engine.Config{
				Packages: []string{"Kerberos", "NTLM", "Negotiate"},
				Accounts: store,
				Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: strings.ToUpper(k.Realm),
					DNSMachineName: k.serviceHost(), DNSDomainName: strings.ToLower(k.Realm)},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close(); store.Close() })
			p := sspi.NewProvider(mode.Harness(t, e).Connect(t), nil)
			t.Cleanup(func() { p.Close() })
			f(t, p)
		})
	}
}

// TestHTTPKerberosCurl: curl --negotiate with the user's ticket from the
// KDC against our Handler accepting as the HTTP service: Negotiate runs
// Kerberos, the client is the realm's user, and the AP-REP goes back as
// the final token.
func TestHTTPKerberosCurl(t *testing.T) {
	k := requireKerberosHTTP(t)
	requireCurl(t)
	k.kinit(t)
	forEachKerberosMode(t, k, func(t *testing.T, p *sspi.Provider) {
		ts := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: k.Service}, false)
		port := ts.Listener.Addr().(*net.TCPAddr).Port
		// curl asks for HTTP@<URL host>: the service's name, resolved
		// to the test server.
		u := "http://" + k.serviceHost() + ":" + strconv.Itoa(port) + "/"
		headers := filepath.Join(t.TempDir(), "headers")
		body, status, err := curl(t, k.env(t), "--negotiate", "-u", ":", "-D", headers,
			"--resolve", k.serviceHost()+":"+strconv.Itoa(port)+":127.0.0.1", u)
		if err != nil || status != 200 {
			t.Fatalf("status %d, %v: %s", status, err, body)
		}
		pg := decodePage(t, body)
		if !strings.EqualFold(pg.User, k.User) || pg.Package != "Kerberos" || pg.Scheme != "Negotiate" || !pg.Mutual {
			t.Fatalf("%+v", pg)
		}
		// The 200 carries the mutual-authentication token: SPNEGO's
		// accept-completed naming Kerberos, around the AP-REP.
		final := finalToken(t, headers)
		resp := parseResp(t, final)
		if resp.NegState != 0 || !resp.SupportedMech.Equal(asnKrb5) {
			t.Fatalf("final token: state %d, mech %v", resp.NegState, resp.SupportedMech)
		}
		if mech, inner, ok := gssframe(resp.ResponseToken); !ok || !mech.Equal(asnKrb5) || len(inner) < 2 || inner[0] != 0x02 || inner[1] != 0x00 {
			t.Fatalf("final token's response is not a Kerberos AP-REP: %x", resp.ResponseToken)
		}
	})
}

// TestHTTPKerberosOurClientMITServer: our Transport, with the user's
// password (the LSA gets the tickets), against the MIT GSS-API HTTP
// server holding the service's keytab: MIT's SPNEGO accepts Kerberos,
// and its AP-REP completes our context, so mutual authentication can be
// required. With the AP-REP dropped, a client that requires it fails;
// with its last byte changed (the integrity tag of its encrypted part),
// the client fails with SEC_E_MUTUAL_AUTH_FAILED.
func TestHTTPKerberosOurClientMITServer(t *testing.T) {
	k := requireKerberosHTTP(t)
	forEachKerberosMode(t, k, func(t *testing.T, p *sspi.Provider) {
		for _, final := range []string{"send", "drop", "flip"} {
			cmd := exec.Command(python, httpPeerScript, "server", "--final", final)
			cmd.Env = k.env(t)
			srv := startCmd(t, "http_peer.py server (Kerberos)", cmd)
			port := srv.expect("LISTENING")[0]
			tr, err := httpauth.NewTransport(context.Background(), &httpauth.ClientConfig{
				Provider:          p,
				Identity:          &sspi.AuthIdentity{User: k.User, Domain: k.Realm, Password: []byte(k.Password)},
				AllowedHosts:      []string{k.serviceHost()},
				RequireMutualAuth: true,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })
			resp, err := (&http.Client{Transport: tr}).Get("http://" + k.serviceHost() + "/")
			var a authLine
			if err := json.Unmarshal([]byte(strings.Join(srv.expect("AUTH"), " ")), &a); err != nil {
				t.Fatal(err)
			}
			if a.Mech != oidKerberos || !strings.HasPrefix(strings.ToLower(a.Peer), strings.ToLower(k.User)+"@") || a.Final == 0 {
				t.Fatalf("MIT authenticated %+v", a)
			}
			switch final {
			case "send":
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s %s", resp.Status, body)
				}
			case "drop":
				if !errors.Is(err, httpauth.ErrMutualAuth) {
					t.Fatalf("AP-REP dropped, mutual required: %v", err)
				}
			case "flip":
				if !errors.Is(err, httpauth.ErrMutualAuth) || sspi.StatusOf(err) != sspi.StatusMutualAuthFailed {
					t.Fatalf("AP-REP changed: %v (%v)", err, sspi.StatusOf(err))
				}
			}
		}
	})
}

// finalToken returns the token of the WWW-Authenticate: Negotiate header
// of the last response in a header dump (curl -D).
func finalToken(t *testing.T, dump string) []byte {
	t.Helper()
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n")), "\n\n")
	last := blocks[len(blocks)-1]
	if !strings.HasPrefix(last, "HTTP/1.1 200") {
		t.Fatalf("last response: %q", last)
	}
	for _, line := range strings.Split(last, "\n") {
		name, value, _ := strings.Cut(line, ":")
		if !strings.EqualFold(name, "WWW-Authenticate") {
			continue
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(value), " ")
		if scheme != "Negotiate" {
			continue
		}
		out, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			t.Fatalf("final token: %v", err)
		}
		return out
	}
	t.Fatalf("the 200 has no WWW-Authenticate: Negotiate token:\n%s", last)
	return nil
}

// gssframe splits a GSS-API InitialContextToken (RFC 2743 3.1).
func gssframe(tok []byte) (asn1.ObjectIdentifier, []byte, bool) {
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(tok, &raw); err != nil || len(rest) > 0 || raw.Class != asn1.ClassApplication || raw.Tag != 0 {
		return nil, nil, false
	}
	var oid asn1.ObjectIdentifier
	inner, err := asn1.Unmarshal(raw.Bytes, &oid)
	if err != nil {
		return nil, nil, false
	}
	return oid, inner, true
}

// kerberosTransport is our Transport on p as identity, allowed to
// authenticate to host, asking for HTTP/<the service's host> whatever
// the URL's host, requiring mutual authentication.
func (k *kerberosRealm) transport(t *testing.T, p *sspi.Provider, id *sspi.AuthIdentity, host string, cfg httpauth.ClientConfig) *httpauth.Transport {
	t.Helper()
	cfg.Provider, cfg.Identity, cfg.AllowedHosts, cfg.RequireMutualAuth = p, id, []string{host}, true
	cfg.Target = func(string) string { return "HTTP/" + k.serviceHost() }
	if cfg.Proxy == nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	tr, err := httpauth.NewTransport(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestHTTPKerberosFallbackMITServer: our Transport in an LSA with
// Kerberos preferred, for a user of a domain with no Kerberos realm (no
// ticket can be had), against the MIT GSS-API HTTP server with
// gss-ntlmssp and no keytab: Negotiate falls back to NTLM inside SPNEGO
// in three legs (with Kerberos offered first, MIT's counter-proposal of
// NTLM would make four), and MIT's final token (its
// mechListMIC) completes our context, so mutual authentication holds.
func TestHTTPKerberosFallbackMITServer(t *testing.T) {
	k := requireKerberosHTTP(t)
	forEachKerberosMode(t, k, func(t *testing.T, p *sspi.Provider) {
		srv, port := startHTTPPeer(t, "server", nil)
		var legs []httpauth.Leg
		tr := k.transport(t, p, &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}, "127.0.0.1",
			httpauth.ClientConfig{OnLeg: func(l httpauth.Leg) { legs = append(legs, l) }})
		resp, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s", resp.Status, body)
		}
		if a := srv.auth(); a.Peer != domain+`\`+user || a.Mech != oidNTLM || a.Final == 0 {
			t.Fatalf("MIT authenticated %+v", a)
		}
		if len(legs) != 3 || legs[0].Package != "Negotiate" || legs[2].Status != sspi.StatusOK {
			t.Fatalf("legs %+v", legs)
		}
	})
}

// TestHTTPKerberosProxyConnect: our Transport, with the realm user's
// password, through a forward proxy on MIT GSS-API holding the HTTP
// service's keytab (Proxy-Authenticate: Negotiate, Kerberos chosen, its
// AP-REP checked), with CONNECT to our HTTPS origin, which authenticates
// us with Kerberos too, bound to its certificate.
func TestHTTPKerberosProxyConnect(t *testing.T) {
	k := requireKerberosHTTP(t)
	forEachKerberosMode(t, k, func(t *testing.T, p *sspi.Provider) {
		cmd := exec.Command(python, httpPeerScript, "proxy")
		cmd.Env = k.env(t)
		proxy := startCmd(t, "http_peer.py proxy (Kerberos)", cmd)
		port := proxy.expect("LISTENING")[0]
		origin := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: k.Service}, true)
		proxyURL, _ := url.Parse("http://127.0.0.1:" + port)
		var legs []httpauth.Leg
		tr := k.transport(t, p, &sspi.AuthIdentity{User: k.User, Domain: k.Realm, Password: []byte(k.Password)}, "127.0.0.1",
			httpauth.ClientConfig{
				Proxy:           http.ProxyURL(proxyURL),
				TLSClientConfig: origin.Client().Transport.(*http.Transport).TLSClientConfig,
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
		pg := decodePage(t, string(body))
		if !strings.EqualFold(pg.User, k.User) || pg.Package != "Kerberos" || !pg.Mutual || !strings.Contains(pg.Bindings, "VALID_MATCHED") {
			t.Fatalf("origin: %+v", pg)
		}
		var a authLine
		if err := json.Unmarshal([]byte(strings.Join(proxy.expect("AUTH"), " ")), &a); err != nil {
			t.Fatal(err)
		}
		if a.Mech != oidKerberos || !strings.HasPrefix(strings.ToLower(a.Peer), strings.ToLower(k.User)+"@") || a.Final == 0 {
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
		// Kerberos: the AP-REQ, then the AP-REP in the reply; to the
		// proxy and to the origin.
		if proxyLegs != 2 || len(legs) != 4 {
			t.Fatalf("legs %+v", legs)
		}
	})
}

// TestHTTPKerberosMITClientOurServer: MIT's SPNEGO initiator (Kerberos,
// the realm user's password) as an HTTP client of our Handler accepting
// as the HTTP service: Kerberos chosen, and MIT checks the AP-REP in our
// 200; with its last byte changed MIT refuses it (the integrity check of
// its encrypted part fails).
func TestHTTPKerberosMITClientOurServer(t *testing.T) {
	k := requireKerberosHTTP(t)
	forEachKerberosMode(t, k, func(t *testing.T, p *sspi.Provider) {
		run := func(u string) (string, []string) {
			cmd := exec.Command(python, httpPeerScript, "client", "--url", u, "--user", k.User+"@"+k.Realm,
				"--password-env", "GSS_PEER_PASSWORD", "--target", "HTTP@"+k.serviceHost())
			cmd.Env = append(k.env(t), "GSS_PEER_PASSWORD="+k.Password, "KRB5CCNAME=MEMORY:http-client")
			return startCmd(t, "http_peer.py client (Kerberos)", cmd).recv()
		}
		ts := ourHTTPServer(t, p, httpauth.ServerConfig{Principal: k.Service}, false)
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
		if res.Status != 200 || !res.Complete || res.Mech != oidKerberos {
			t.Fatalf("%+v", res)
		}
		if pg := decodePage(t, res.Body); !strings.EqualFold(pg.User, k.User) || pg.Package != "Kerberos" || pg.Scheme != "Negotiate" || !pg.Mutual {
			t.Fatalf("%+v", pg)
		}

		h, err := httpauth.NewHandler(context.Background(), &httpauth.ServerConfig{Provider: p, Principal: k.Service})
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
			t.Fatalf("MIT accepted a changed AP-REP: %s %v", kind, f)
		}
		var fail peerFailure
		// GSS_S_FAILURE with krb5's KRB5KRB_AP_ERR_BAD_INTEGRITY.
		if err := json.Unmarshal([]byte(f[0]), &fail); err != nil || fail.Major != gssFailure || !strings.Contains(fail.Error, "Decrypt integrity check failed") {
			t.Fatalf("MIT refused a changed AP-REP with %+v", fail)
		}
	})
}
