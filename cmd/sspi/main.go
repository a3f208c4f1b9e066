// Command sspi is the OpenSSPI command line: it lists the security
// packages, runs the demo, serves and connects over authenticated
// connections, and administers accounts and logon sessions. Run
// "sspi --help". It imports internal/cli and packages/all only.
package main

import (
	"os"

	"github.com/opensspi/sspi/internal/cli"
	_ "github.com/opensspi/sspi/packages/all"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
