// Command sample-client is the Microsoft SSPI sample client rebuilt on
// OpenSSPI (see package sspisample): it authenticates to the sample
// server with InitializeSecurityContext and decrypts its message.
//
//	SSPI_PASSWORD=secret go run ./examples/sample-client -user alice
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/examples/sspisample"
	_ "github.com/opensspi/sspi/packages/all"
)

func main() {
	addr := flag.String("connect", fmt.Sprintf("127.0.0.1:%d", sspisample.DefaultPort), "server address")
	pkg := flag.String("package", "NTLM", "security package")
	target := flag.String("target", "", "server's principal name")
	user := flag.String("user", "", `user ("DOMAIN\user"); empty uses default credentials`)
	flag.Parse()
	if err := run(*addr, *pkg, *target, *user); err != nil {
		fmt.Fprintln(os.Stderr, "sample-client:", err)
		os.Exit(1)
	}
}

func run(addr, pkg, target, user string) error {
	ctx := context.Background()
	opts := &sspi.CredentialsOptions{}
	if user != "" {
		domain, name, ok := strings.Cut(user, `\`)
		if !ok {
			domain, name = "", user
		}
		opts.Identity = &sspi.AuthIdentity{User: name, Domain: domain, Password: []byte(os.Getenv("SSPI_PASSWORD"))}
	}
	cred, err := sspi.AcquireCredentials(ctx, pkg, sspi.CredentialOutbound, opts)
	if err != nil {
		return fmt.Errorf("AcquireCredentialsHandle: %w", err)
	}
	defer cred.Free()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	msg, err := sspisample.Client(ctx, conn, cred, target, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("client: the message from the server is %q\n", msg)
	return nil
}
