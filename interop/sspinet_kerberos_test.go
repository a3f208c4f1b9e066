package interop

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/sspinet"
)

// TestKerberosSspinet: sspinet connections authenticated by Kerberos (what
// `sspi serve`/`sspi connect --package Kerberos` run), in both provider
// modes and with each record protection: the server learns alice from
// the realm, and 100 KiB cross each way.
func TestKerberosSspinet(t *testing.T) {
	r := requireRealm(t)
	forEachKrbMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		for _, rec := range []sspinet.RecordProtection{sspinet.RecordsSealed, sspinet.RecordsSigned, sspinet.RecordsSessionKey} {
			t.Run(rec.String(), func(t *testing.T) {
				ln, err := sspinet.Listen("tcp", "127.0.0.1:0", &sspinet.Config{
					Provider: p, Package: kerberos.Name, Principal: r.ServiceSPN, Records: rec})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				msg := bytes.Repeat([]byte("kerberos over sspinet "), 100<<10/22)
				errc := make(chan error, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						errc <- err
						return
					}
					defer c.Close()
					sc := c.(*sspinet.Conn)
					if err := sc.Handshake(context.Background()); err != nil {
						errc <- err
						return
					}
					id, err := sc.Identity()
					if err != nil || id.User != r.User || id.Domain != r.Realm || id.Package != kerberos.Name {
						errc <- err
						t.Errorf("identity %+v", id)
						return
					}
					got := make([]byte, len(msg))
					if _, err := io.ReadFull(sc, got); err != nil || !bytes.Equal(got, msg) {
						errc <- err
						return
					}
					_, err = sc.Write(got)
					errc <- err
				}()
				c, err := sspinet.Dial(context.Background(), "tcp", ln.Addr().(*net.TCPAddr).String(), &sspinet.Config{
					Provider: p, Package: kerberos.Name, Target: r.ServiceSPN, Records: rec,
					Identity: &sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)}})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				back := make([]byte, len(msg))
				if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, msg) {
					t.Fatalf("echo: %v", err)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}
