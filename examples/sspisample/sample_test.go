package sspisample_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/examples/sspisample"
	"github.com/opensspi/sspi/lsa/engine"
	_ "github.com/opensspi/sspi/packages/all"
)

// TestSample runs the sample server and client against each other on
// loopback, with NTLM.
func TestSample(t *testing.T) {
	ctx := context.Background()
	store, _ := accounts.Open(ctx, "memory:", nil)
	p, eng, err := embedded.NewProvider(&engine.Config{Packages: []string{"NTLM"}, Accounts: store}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := eng.SetPassword(ctx, "", "alice", []byte("alice-Passw0rd")); err != nil {
		t.Fatal(err)
	}
	scred, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: "HOST/sample"})
	if err != nil {
		t.Fatal(err)
	}
	ccred, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: "alice", Password: []byte("alice-Passw0rd")}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var serverOut bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		errc <- sspisample.Serve(ctx, c, p, scred, &serverOut)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var clientOut bytes.Buffer
	msg, err := sspisample.Client(ctx, conn, ccred, "HOST/sample", &clientOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if msg != sspisample.Message {
		t.Fatalf("client got %q", msg)
	}
	if !strings.Contains(serverOut.String(), `client is `) || !strings.Contains(serverOut.String(), `\alice`) {
		t.Fatalf("server output:\n%s", serverOut.String())
	}
}
