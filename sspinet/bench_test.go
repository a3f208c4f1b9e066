package sspinet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/opensspi/sspi/sspinet"
)

const chunk = 64 << 10

// transfer writes total bytes from w to r in 64 KiB writes and returns
// the throughput in MB/s.
func transfer(tb testing.TB, w, r net.Conn, total int) float64 {
	buf := make([]byte, chunk)
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, r, int64(total))
		done <- err
	}()
	start := time.Now()
	for sent := 0; sent < total; sent += chunk {
		if _, err := w.Write(buf); err != nil {
			tb.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	return float64(total) / time.Since(start).Seconds() / 1e6
}

func tlsConns(tb testing.TB) (net.Conn, net.Conn) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "server"},
		DNSNames: []string{"server"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	a, b := tcpPair(tb)
	c := tls.Client(a, &tls.Config{RootCAs: pool, ServerName: "server"})
	s := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	return c, s
}

// BenchmarkThroughputVsTLS moves data in 64 KiB writes over loopback
// TCP, sealed by sspinet over NTLM and by crypto/tls (TLS 1.3, AES-GCM),
// alternately in the same run, and reports both rates and their ratio:
// once with records sealed by NTLM (RC4, HMAC-MD5) and once with
// session-key records (AES-256-GCM keyed from NTLM's session key).
func BenchmarkThroughputVsTLS(b *testing.B) {
	for _, mode := range []sspinet.RecordProtection{sspinet.RecordsSealed, sspinet.RecordsSessionKey} {
		b.Run(mode.String(), func(b *testing.B) {
			p := newProvider(b)
			ccfg, scfg := configs(p, mode)
			sc, ss := pair(b, ccfg, scfg)
			defer sc.Close()
			defer ss.Close()
			tc, ts := tlsConns(b)
			defer tc.Close()
			defer ts.Close()
			const total = 32 << 20
			var sspiSum, tlsSum float64
			b.SetBytes(total)
			for b.Loop() {
				tlsSum += transfer(b, tc, ts, total)
				sspiSum += transfer(b, sc, ss, total)
			}
			n := float64(b.N)
			b.ReportMetric(sspiSum/n, "sspinet-MB/s")
			b.ReportMetric(tlsSum/n, "tls-MB/s")
			b.ReportMetric(tlsSum/sspiSum, "tls/sspinet")
		})
	}
}

// BenchmarkHandshake measures the latency of a whole sspinet handshake
// over loopback TCP per package (credentials acquired per connection, as
// Dial does).
func BenchmarkHandshake(b *testing.B) {
	p := newProvider(b)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	ln, err := sspinet.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*sspinet.Conn).Handshake(context.Background())
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	b.Run("NTLM", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := sspinet.Dial(context.Background(), "tcp", ln.Addr().String(), ccfg)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
