package sspi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi"
)

func selfSigned(t *testing.T, alg x509.SignatureAlgorithm) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "server.example.com"},
		DNSNames: []string{"server.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, cert
}

// tlsPair runs a TLS handshake over a pipe and returns both states.
func tlsPair(t *testing.T, cert tls.Certificate, version uint16) (client, server tls.ConnectionState) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	cli := tls.Client(a, &tls.Config{RootCAs: pool, ServerName: "server.example.com", MinVersion: version, MaxVersion: version})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return cli.ConnectionState(), srv.ConnectionState()
}

func TestTLSServerEndPoint(t *testing.T) {
	for _, tc := range []struct {
		alg  x509.SignatureAlgorithm
		hash func([]byte) []byte
	}{
		{x509.ECDSAWithSHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{x509.ECDSAWithSHA384, func(b []byte) []byte { s := sha512.Sum384(b); return s[:] }},
		{x509.ECDSAWithSHA512, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
	} {
		cert, leaf := selfSigned(t, tc.alg)
		cs, _ := tlsPair(t, cert, tls.VersionTLS13)
		server, err := sspi.TLSServerEndPointBindings(leaf)
		if err != nil {
			t.Fatal(err)
		}
		client, err := sspi.ClientTLSServerEndPointBindings(&cs)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte("tls-server-end-point:"), tc.hash(leaf.Raw)...)
		if !bytes.Equal(server.ApplicationData, want) || !bytes.Equal(client.ApplicationData, want) {
			t.Errorf("%v: bindings %x / %x, want %x", tc.alg, server.ApplicationData, client.ApplicationData, want)
		}
	}
}

func TestTLSExporterAndUnique(t *testing.T) {
	cert, _ := selfSigned(t, x509.ECDSAWithSHA256)
	c13, s13 := tlsPair(t, cert, tls.VersionTLS13)
	cb, err := sspi.TLSExporterBindings(&c13)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sspi.TLSExporterBindings(&s13)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cb.ApplicationData, sb.ApplicationData) || len(cb.ApplicationData) != len("tls-exporter:")+32 {
		t.Fatalf("tls-exporter differs or has the wrong size: %x %x", cb.ApplicationData, sb.ApplicationData)
	}
	if _, err := sspi.TLSUniqueBindings(&c13); err == nil || !strings.Contains(err.Error(), "TLS 1.3") {
		t.Fatalf("tls-unique on TLS 1.3: %v", err)
	}
	c12, s12 := tlsPair(t, cert, tls.VersionTLS12)
	cu, err := sspi.TLSUniqueBindings(&c12)
	if err != nil {
		t.Fatal(err)
	}
	su, _ := sspi.TLSUniqueBindings(&s12)
	if !bytes.Equal(cu.ApplicationData, su.ApplicationData) || !bytes.HasPrefix(cu.ApplicationData, []byte("tls-unique:")) {
		t.Fatal("tls-unique differs")
	}
	if _, err := sspi.TLSExporterBindings(&tls.ConnectionState{}); err == nil {
		t.Fatal("tls-exporter before the handshake")
	}
}
