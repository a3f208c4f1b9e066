// Command lsad is the OpenSSPI Local Security Authority daemon. Run
// "lsad -h"; the configuration is described in package internal/lsad and
// in doc/lsad.md. It imports internal/lsad and packages/all only.
package main

import (
	"context"
	"os"

	"github.com/opensspi/sspi/internal/lsad"
	_ "github.com/opensspi/sspi/packages/all"
)

func main() {
	os.Exit(lsad.Main(context.Background(), os.Args[1:], os.Stderr))
}
