package httpauth_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opensspi/sspi/httpauth"
)

// hello is the handler the benchmarks serve: a few bytes, as an API
// answer would be.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello\n")
})

var quiet = slog.New(slog.DiscardHandler)

func benchGet(b *testing.B, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %s", resp.Status)
	}
}

// BenchmarkKeepAlive is requests on one keep-alive connection once it has
// authenticated ("negotiate": the Handler serves each from the
// connection's earlier handshake) beside the same handler without
// authentication ("plain", the anchor), with the same client. The goal
// is at least 0.9 of the anchor's requests per second.
func BenchmarkKeepAlive(b *testing.B) {
	p := newProvider(b)
	for _, tc := range []struct {
		name string
		auth bool
	}{{"plain", false}, {"negotiate", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var ts *httptest.Server
			if tc.auth {
				ts = startServer(b, newHandler(b, p, &httpauth.ServerConfig{Logger: quiet}), hello)
			} else {
				ts = httptest.NewServer(hello)
				b.Cleanup(ts.Close)
			}
			c := &http.Client{Transport: newTransport(b, p, alice, alicePass, nil)}
			req, _ := http.NewRequest("GET", ts.URL, nil)
			benchGet(b, c, req) // the handshake, if any
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				benchGet(b, c, req)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkHandshake is full handshakes: a new connection for every
// request, so each runs the whole exchange (three HTTP round trips for
// Negotiate over NTLM and for NTLM) and the LSA's work on both sides.
func BenchmarkHandshake(b *testing.B) {
	p := newProvider(b)
	ts := startServer(b, newHandler(b, p, &httpauth.ServerConfig{NTLM: true, Logger: quiet}), hello)
	for _, pkg := range []string{"NTLM", "Negotiate"} {
		b.Run(pkg, func(b *testing.B) {
			tr := newTransport(b, p, alice, alicePass, &httpauth.ClientConfig{AllowedHosts: []string{"*"}, Packages: []string{pkg}})
			c := &http.Client{Transport: tr}
			req, _ := http.NewRequest("GET", ts.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				benchGet(b, c, req)
				tr.CloseIdleConnections()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}
