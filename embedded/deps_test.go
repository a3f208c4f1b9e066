package embedded_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// deps lists what the packages link (go list -deps), with build tags.
func deps(t *testing.T, tags string, pkgs ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	args := []string{"list", "-deps"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}

func links(deps []string, pkg string) bool {
	return slices.ContainsFunc(deps, func(d string) bool { return d == pkg || strings.HasPrefix(d, pkg+"/") })
}

const (
	pgx         = "github.com/jackc/pgx"
	sqliteLib   = "modernc.org/sqlite"
	pgDriver    = "github.com/opensspi/sspi/accounts/postgres"
	sqlDriver   = "github.com/opensspi/sspi/accounts/sqlite"
	memDriver   = "github.com/opensspi/sspi/accounts/memory"
	moduleRoot  = "github.com/opensspi/sspi"
	embeddedPkg = "github.com/opensspi/sspi/embedded"
)

// TestStoreDriversByImport proves that account store backends are linked
// by import, as database/sql drivers are: a program that embeds the engine
// with SQLite links neither pgx nor the PostgreSQL backend; the embedded
// engine alone links no backend; and lsad and the sspi command leave out
// the backend their build tag omits.
func TestStoreDriversByImport(t *testing.T) {
	t.Run("embedded with SQLite", func(t *testing.T) {
		d := deps(t, "", moduleRoot, embeddedPkg, sqlDriver, moduleRoot+"/packages/all")
		if !links(d, sqliteLib) {
			t.Fatalf("the list does not even hold %s: %q", sqliteLib, d)
		}
		for _, p := range []string{pgx, pgDriver, memDriver} {
			if links(d, p) {
				t.Errorf("a SQLite-only program links %s", p)
			}
		}
	})
	t.Run("embedded alone", func(t *testing.T) {
		d := deps(t, "", embeddedPkg)
		for _, p := range []string{pgx, sqliteLib, pgDriver, sqlDriver, memDriver} {
			if links(d, p) {
				t.Errorf("package embedded links %s", p)
			}
		}
	})
	for _, cmd := range []string{"cmd/lsad", "cmd/sspi"} {
		t.Run(cmd, func(t *testing.T) {
			d := deps(t, "", "./"+cmd)
			for _, p := range []string{pgx, sqliteLib, pgDriver, sqlDriver} {
				if !links(d, p) {
					t.Errorf("%s does not link %s", cmd, p)
				}
			}
			d = deps(t, "sspi_omit_postgres", "./"+cmd)
			if links(d, pgx) || links(d, pgDriver) {
				t.Errorf("%s built with sspi_omit_postgres links pgx or the PostgreSQL backend", cmd)
			}
			if !links(d, sqliteLib) {
				t.Errorf("%s built with sspi_omit_postgres lost SQLite", cmd)
			}
			d = deps(t, "sspi_omit_sqlite", "./"+cmd)
			if links(d, sqliteLib) || links(d, sqlDriver) {
				t.Errorf("%s built with sspi_omit_sqlite links SQLite", cmd)
			}
		})
	}
}
