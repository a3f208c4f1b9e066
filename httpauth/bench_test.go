package httpauth_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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

// BenchmarkKeepAlive is requests on keep-alive connections once they have
// authenticated (the Handler serves each from its connection's earlier
// handshake) beside the same handler without authentication, the anchor,
// with the same client. The two alternate request by request, so that
// both see the same load on a shared machine; it reports each one's
// requests per second and their ratio, whose goal is at least 0.9.
func BenchmarkKeepAlive(b *testing.B) {
	p := newProvider(b)
	authSrv := startServer(b, newHandler(b, p, &httpauth.ServerConfig{Logger: quiet}), hello)
	plainSrv := httptest.NewServer(hello)
	b.Cleanup(plainSrv.Close)
	c := &http.Client{Transport: newTransport(b, p, alice, alicePass, nil)}
	authReq, _ := http.NewRequest("GET", authSrv.URL, nil)
	plainReq, _ := http.NewRequest("GET", plainSrv.URL, nil)
	benchGet(b, c, authReq) // the handshake
	benchGet(b, c, plainReq)
	var tAuth, tPlain time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		benchGet(b, c, plainReq)
		t1 := time.Now()
		benchGet(b, c, authReq)
		tAuth += time.Since(t1)
		tPlain += t1.Sub(t0)
	}
	n := float64(b.N)
	b.ReportMetric(n/tPlain.Seconds(), "plain-req/s")
	b.ReportMetric(n/tAuth.Seconds(), "negotiate-req/s")
	b.ReportMetric(tPlain.Seconds()/tAuth.Seconds(), "ratio")
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
