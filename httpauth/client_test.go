package httpauth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/httpauth"
)

// newTransport returns a Transport on p as user with cfg (nil: every
// host allowed).
func newTransport(t testing.TB, p *sspi.Provider, user, pw string, cfg *httpauth.ClientConfig) *httpauth.Transport {
	t.Helper()
	if cfg == nil {
		cfg = &httpauth.ClientConfig{AllowedHosts: []string{"*"}}
	}
	cfg.Provider = p
	if user != "" {
		cfg.Identity = &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(pw)}
	}
	if cfg.Proxy == nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	tr, err := httpauth.NewTransport(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// legCounter counts the client's legs.
type legCounter struct {
	mu   sync.Mutex
	legs []httpauth.Leg
}

func (c *legCounter) on(l httpauth.Leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.legs = append(c.legs, l)
}

func (c *legCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.legs)
}

func get(t testing.TB, c *http.Client, u string) whoamiReply {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

// TestNegotiate: our client and server, Negotiate (SPNEGO over NTLM): the
// identity, the final token verified, and the connection's later requests
// authenticated without a new handshake.
func TestNegotiate(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	var legs legCounter
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"127.0.0.1"}, OnLeg: legs.on, RequireMutualAuth: true})
	c := &http.Client{Transport: tr}
	w := get(t, c, ts.URL)
	if w.User != alice || w.Domain != domain || w.Package != "NTLM" || w.Scheme != "Negotiate" || !w.Mutual || w.Persisted {
		t.Fatalf("first request: %+v", w)
	}
	if w.Authorization != "" {
		t.Fatal("the handler saw the Authorization header")
	}
	// Three calls to Initialize: NegTokenInit, the AUTHENTICATE with our
	// mechListMIC, and the server's final mechListMIC.
	if n := legs.count(); n != 3 {
		t.Fatalf("%d legs, want 3: %+v", n, legs.legs)
	}
	last := legs.legs[2]
	if last.HTTPStatus != http.StatusOK || last.Status != sspi.StatusOK || last.In == 0 || last.Out != 0 {
		t.Fatalf("final leg %+v", last)
	}
	w = get(t, c, ts.URL)
	if w.User != alice || !w.Persisted {
		t.Fatalf("second request: %+v", w)
	}
	if n := legs.count(); n != 3 {
		t.Fatalf("the second request ran a handshake: %d legs", n)
	}
}

// TestNTLMScheme: a client that speaks only NTLM answers the NTLM
// challenge; there is no final token.
func TestNTLMScheme(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"127.0.0.1"}, Packages: []string{"NTLM"}})
	w := get(t, &http.Client{Transport: tr}, ts.URL)
	if w.User != alice || w.Scheme != "NTLM" || w.Package != "NTLM" || w.Mutual {
		t.Fatalf("%+v", w)
	}
	// A client that insists on mutual authentication cannot use NTLM,
	// and a server that offers only NTLM leaves it the 401.
	ntlmOnly := startServer(t, newHandler(t, p, &httpauth.ServerConfig{Package: "NTLM"}), whoami)
	tr = newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, Packages: []string{"NTLM"}, RequireMutualAuth: true})
	resp, err := (&http.Client{Transport: tr}).Get(ntlmOnly.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %s", resp.Status)
	}
}

// TestWrongPassword: the server refuses; the caller gets its 401.
func TestWrongPassword(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	for _, pkgs := range [][]string{{"Negotiate"}, {"NTLM"}} {
		tr := newTransport(t, p, alice, "wrong", &httpauth.ClientConfig{AllowedHosts: []string{"*"}, Packages: pkgs})
		resp, err := (&http.Client{Transport: tr}).Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%v: status %s", pkgs, resp.Status)
		}
		if got := resp.Header.Values("WWW-Authenticate"); len(got) != 2 || got[0] != "Negotiate" || got[1] != "NTLM" {
			t.Fatalf("%v: challenges %q", pkgs, got)
		}
	}
}

// TestPerRequest: with PerRequest, every request runs a handshake.
func TestPerRequest(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, &httpauth.ServerConfig{PerRequest: true}), whoami)
	var legs legCounter
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, OnLeg: legs.on})
	c := &http.Client{Transport: tr}
	for i := range 3 {
		if w := get(t, c, ts.URL); w.User != alice || w.Persisted {
			t.Fatalf("request %d: %+v", i, w)
		}
	}
	if n := legs.count(); n != 9 {
		t.Fatalf("%d legs, want 9", n)
	}
}

// TestRequestBody: a body the transport can rewind (GetBody) is sent on
// every leg and the handler reads it whole; one it cannot is never sent
// twice: the request fails with ErrBodyNotRewindable.
func TestRequestBody(t *testing.T) {
	p := newProvider(t)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // before the response: HTTP/1.1 handlers are not full duplex
		w.Write(b)
	})
	ts := startServer(t, newHandler(t, p, nil), echo)
	tr := newTransport(t, p, alice, alicePass, nil)
	c := &http.Client{Transport: tr}
	body := strings.Repeat("payload ", 4096)
	resp, err := c.Post(ts.URL, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != body {
		t.Fatalf("status %s, %d bytes back", resp.Status, len(got))
	}

	tr2 := newTransport(t, p, alice, alicePass, nil)
	var sent countingReader
	sent.r = strings.NewReader(body)
	req, _ := http.NewRequest("POST", ts.URL, io.NopCloser(&sent))
	_, err = tr2.RoundTrip(req)
	if !errors.Is(err, httpauth.ErrBodyNotRewindable) {
		t.Fatalf("err = %v", err)
	}
	if sent.n > int64(len(body)) {
		t.Fatalf("%d bytes read from a %d-byte body", sent.n, len(body))
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestConcurrent: one Transport, many goroutines, one server: every
// request authenticated as its user.
func TestConcurrent(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	trA := newTransport(t, p, alice, alicePass, nil)
	trB := newTransport(t, p, bob, bobPass, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		tr, want := trA, alice
		if i%2 == 1 {
			tr, want = trB, bob
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := (&http.Client{Transport: tr}).Get(ts.URL)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"User":"`+want+`"`)) {
				errs <- errors.New(resp.Status + " " + string(b))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConnectionClose: a request that asks to close its connection still
// authenticates: the server's first 401 closes the connection, the
// handshake runs on a new one that stays open until it ends, and that
// one is closed after the response (the next request needs a handshake
// of its own).
func TestConnectionClose(t *testing.T) {
	p := newProvider(t)
	ts := startServer(t, newHandler(t, p, nil), whoami)
	var legs legCounter
	tr := newTransport(t, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, OnLeg: legs.on})
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.Close = true
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if w := decode(t, resp); w.User != alice {
		t.Fatalf("%+v", w)
	}
	if w := get(t, &http.Client{Transport: tr}, ts.URL); w.Persisted || legs.count() != 6 {
		t.Fatalf("the next request: %+v after %d legs", w, legs.count())
	}
}
