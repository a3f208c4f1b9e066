// Command sample-server is the Microsoft SSPI sample server rebuilt on
// OpenSSPI (see package sspisample): it accepts one client on port 2000,
// authenticates it with AcceptSecurityContext and sends it an encrypted
// message.
//
//	sspi account add alice --store sqlite:/tmp/sample.db
//	go run ./examples/sample-server -store sqlite:/tmp/sample.db
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/accounts/sqlite" // the sqlite: store -store names
	_ "github.com/opensspi/sspi/embedded"        // accept against this process's own LSA unless SSPI_LSA names lsad
	"github.com/opensspi/sspi/examples/sspisample"
	_ "github.com/opensspi/sspi/packages/all"
)

func main() {
	addr := flag.String("listen", fmt.Sprintf("127.0.0.1:%d", sspisample.DefaultPort), "address to listen on")
	pkg := flag.String("package", "NTLM", "security package")
	principal := flag.String("principal", "", "service principal name to accept as")
	store := flag.String("store", "", "account store (sets SSPI_STORE)")
	flag.Parse()
	if *store != "" {
		os.Setenv("SSPI_STORE", *store)
	}
	if err := run(*addr, *pkg, *principal); err != nil {
		fmt.Fprintln(os.Stderr, "sample-server:", err)
		os.Exit(1)
	}
}

func run(addr, pkg, principal string) error {
	ctx := context.Background()
	p, err := sspi.Default()
	if err != nil {
		return err
	}
	cred, err := p.AcquireCredentials(ctx, pkg, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: principal})
	if err != nil {
		return fmt.Errorf("AcquireCredentialsHandle: %w", err)
	}
	defer cred.Free()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Printf("server: listening on %s\n", ln.Addr())
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	return sspisample.Serve(ctx, conn, p, cred, os.Stdout)
}
