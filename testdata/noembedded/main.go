// Command noembedded is a program that imports the application API but
// not package embedded: TestOpenLSAWithoutEmbedded runs it to check what
// such a program is told when no LSA is configured.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/opensspi/sspi"
	_ "github.com/opensspi/sspi/packages/all"
)

func main() {
	if _, err := sspi.Packages(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("an LSA answered")
	os.Exit(1)
}
