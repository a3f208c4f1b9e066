package httpauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
)

// tamper rewrites the final WWW-Authenticate header of 2xx responses
// that leave h: f returns the new value, or "" to drop it.
func tamper(next http.Handler, f func(v string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&tamperWriter{ResponseWriter: w, f: f}, r)
	})
}

type tamperWriter struct {
	http.ResponseWriter
	f     func(string) string
	wrote bool
}

func (w *tamperWriter) WriteHeader(code int) {
	if !w.wrote && code/100 == 2 {
		if v := w.Header().Get("WWW-Authenticate"); v != "" {
			if nv := w.f(v); nv == "" {
				w.Header().Del("WWW-Authenticate")
			} else {
				w.Header().Set("WWW-Authenticate", nv)
			}
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *tamperWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// tamperServer serves whoami behind a Handler whose final tokens pass
// through f.
func tamperServer(t testing.TB, p *sspi.Provider, f func(string) string) *httptest.Server {
	t.Helper()
	h := newHandler(t, p, nil)
	ts := httptest.NewUnstartedServer(tamper(h.Wrap(whoami), f))
	h.Install(ts.Config)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// TestMutualAuth: the server's final token (Negotiate over NTLM: the
// acceptor's mechListMIC) is what proves the server. Missing, it fails a
// client that requires mutual authentication and passes one that does
// not; with any one byte changed, it fails every client, with the
// package's status.
func TestMutualAuth(t *testing.T) {
	p := newProvider(t)
	var final []byte
	var mu sync.Mutex
	record := tamperServer(t, p, func(v string) string {
		mu.Lock()
		defer mu.Unlock()
		_, tok, _ := strings.Cut(v, " ")
		final, _ = base64.StdEncoding.DecodeString(tok)
		return v
	})
	get(t, &http.Client{Transport: newTransport(t, p, alice, alicePass, nil)}, record.URL)
	if len(final) == 0 {
		t.Fatal("the server sent no final token")
	}

	dropped := tamperServer(t, p, func(string) string { return "" })
	strict := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, RequireMutualAuth: true})
	if _, err := (&http.Client{Transport: strict}).Get(dropped.URL); !errors.Is(err, httpauth.ErrMutualAuth) {
		t.Fatalf("missing final token, RequireMutualAuth: err = %v", err)
	}
	lax := newTransport(t, p, alice, alicePass, nil)
	if w := get(t, &http.Client{Transport: lax}, dropped.URL); w.User != alice {
		t.Fatalf("missing final token, mutual not required: %+v", w)
	}

	statuses := map[sspi.Status]int{}
	for i := range final {
		flipped := tamperServer(t, p, func(v string) string {
			_, tok, _ := strings.Cut(v, " ")
			b, _ := base64.StdEncoding.DecodeString(tok)
			b[i] ^= 0x01
			return "Negotiate " + base64.StdEncoding.EncodeToString(b)
		})
		tr := newTransport(t, p, alice, alicePass, nil)
		_, err := (&http.Client{Transport: tr}).Get(flipped.URL)
		if !errors.Is(err, httpauth.ErrMutualAuth) {
			t.Fatalf("byte %d of %d flipped: err = %v", i, len(final), err)
		}
		st := sspi.StatusOf(err)
		if st != sspi.StatusInvalidToken && st != sspi.StatusDowngradeDetected {
			t.Fatalf("byte %d flipped: status %v (%v)", i, st, err)
		}
		statuses[st]++
		flipped.Close()
	}
	// The MIC's own bytes fail its check (a mechListMIC that does not
	// verify is a downgrade); the DER around it, the parse.
	if statuses[sspi.StatusDowngradeDetected] < 16 || statuses[sspi.StatusInvalidToken] == 0 {
		t.Fatalf("statuses %v", statuses)
	}
}

// TestAllowList: credentials go only to hosts on the allow-list; a
// challenge from any other host is returned unanswered, and that host
// never sees an Authorization header, redirects included.
func TestAllowList(t *testing.T) {
	p := newProvider(t)
	h := newHandler(t, p, nil)
	var mu sync.Mutex
	seen := map[string][]string{} // Host -> Authorization headers
	mux := http.NewServeMux()
	mux.Handle("/", h.Wrap(whoami))
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Host] = append(seen[r.Host], r.Header.Values("Authorization")...)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	h.Install(ts.Config)
	ts.Start()
	t.Cleanup(ts.Close)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	// Every host name reaches the test server.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, ts.Listener.Addr().String())
	}
	url := func(host string) string { return "http://" + host + ":" + itoa(port) + "/" }

	tests := []struct {
		patterns []string
		host     string
		allowed  bool
	}{
		{nil, "www.example.com", false},
		{[]string{"www.example.com"}, "www.example.com", true},
		{[]string{"www.example.com"}, "WWW.Example.COM", true},
		{[]string{"www.example.com"}, "example.com", false},
		{[]string{"www.example.com"}, "www.example.com.evil.net", false},
		{[]string{"*.example.com"}, "a.b.example.com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"*.example.com"}, "evilexample.com", false},
		{[]string{"https://*.example.com"}, "www.example.com", false},
		{[]string{"http://*.example.com"}, "www.example.com", true},
		{[]string{"other.example.com", "*.example.org"}, "www.example.org", true},
		{[]string{"*"}, "anything.test", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ",")+" "+tt.host, func(t *testing.T) {
			tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: tt.patterns, DialContext: dial,
				Target: func(string) string { return loopbackSPN }})
			mu.Lock()
			delete(seen, strings.ToLower(tt.host)+":"+itoa(port))
			mu.Unlock()
			resp, err := (&http.Client{Transport: tr}).Get(url(tt.host))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			sent := len(seen[tt.host+":"+itoa(port)])
			mu.Unlock()
			if tt.allowed && (resp.StatusCode != 200 || sent == 0) {
				t.Fatalf("allowed host: %s, %d Authorization headers", resp.Status, sent)
			}
			if !tt.allowed && (resp.StatusCode != 401 || sent != 0) {
				t.Fatalf("host not allowed: %s, %d Authorization headers", resp.Status, sent)
			}
		})
	}

	t.Run("redirect", func(t *testing.T) {
		tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"intranet.example.com"}, DialContext: dial,
			Target: func(string) string { return loopbackSPN }})
		resp, err := (&http.Client{Transport: tr}).Get(url("intranet.example.com") + "redirect?to=" + url("elsewhere.example.net"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if resp.StatusCode != 401 || resp.Request.URL.Hostname() != "elsewhere.example.net" || len(seen["elsewhere.example.net:"+itoa(port)]) != 0 {
			t.Fatalf("redirected: %s to %s, Authorization %q", resp.Status, resp.Request.URL, seen["elsewhere.example.net:"+itoa(port)])
		}
	})

	for _, bad := range []string{"", "http://", "ex*ample.com", "ftp://x.example.com", "host:80", "*.", "user@host", "*.a*.com"} {
		if _, err := httpauth.NewTransport(context.Background(), &httpauth.ClientConfig{Provider: p, AllowedHosts: []string{bad}}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(b[n:])
		}
	}
}

// TestIdleConnectionClosed: a kept connection the server closed is
// noticed on reuse and the request goes out again on a new one, with a
// new handshake.
func TestIdleConnectionClosed(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	var legs legCounter
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, OnLeg: legs.on})
	c := &http.Client{Transport: tr}
	get(t, c, ts.URL)
	ts.CloseClientConnections()
	if w := get(t, c, ts.URL); w.User != alice || w.Persisted {
		t.Fatalf("%+v", w)
	}
	if n := legs.count(); n != 6 {
		t.Fatalf("%d legs, want 6", n)
	}
	// A POST is not idempotent: on a kept connection that turns out
	// closed, whether the server saw it is unknown, so it is not sent
	// again.
	ts.CloseClientConnections()
	if _, err := c.Post(ts.URL, "text/plain", strings.NewReader("once")); err == nil {
		t.Fatal("a POST went out again on a new connection")
	}
}
