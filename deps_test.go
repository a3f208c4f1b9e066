package sspi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs go list with args and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}

// TestApplicationLinksNoAuthority checks the seam between the application
// and the authority: a program that imports the application API, sspinet,
// the LSA protocol's client and every package links neither the engine,
// nor the account store, nor any SQL driver. An application is the
// untrusted side; what holds secrets is linked only by lsad, the CLI and
// programs that import package embedded.
func TestApplicationLinksNoAuthority(t *testing.T) {
	deps := goList(t, "-deps",
		"github.com/opensspi/sspi",
		"github.com/opensspi/sspi/sspinet",
		"github.com/opensspi/sspi/lsa/lsarpc",
		"github.com/opensspi/sspi/packages/all",
	)
	forbidden := []string{
		"github.com/opensspi/sspi/lsa/engine",
		"github.com/opensspi/sspi/accounts",
		"github.com/opensspi/sspi/embedded",
		"github.com/opensspi/sspi/internal/lsad",
		"github.com/opensspi/sspi/internal/cli",
		"database/sql",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("the application side links %s", d)
			}
		}
	}
}
