package sspi_test

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/opensspi/sspi"

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
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// importRule says what the packages matching a pattern may import besides
// the standard library: packages of this module (ours) and third-party
// modules (theirs), as patterns relative to the module ("lsa",
// "packages/*", "accounts/..."; "." is the root) and module path
// prefixes. doc/architecture.md draws the same rules.
type importRule struct {
	pkgs   string
	ours   []string
	theirs []string
	why    string
}

// importRules is the architecture's one-way arrows. Every package of the
// module must match a rule; the first match applies.
var importRules = []importRule{
	// The seam and the implementers' interfaces.
	{pkgs: "secpkg", why: "what a security package implements depends on nothing of ours"},
	{pkgs: "lsa", ours: []string{"secpkg"}, why: "the seam between application and authority is small"},
	{pkgs: "internal/wire", why: "a wire helper"},
	{pkgs: "internal/gssframe", why: "a wire helper"},

	// The application side.
	{pkgs: ".", ours: []string{"lsa", "lsa/lsarpc", "secpkg"}, why: "the application API reaches the authority through the seam only"},
	{pkgs: "lsa/lsarpc", ours: []string{"lsa", "secpkg"}, theirs: []string{"github.com/fxamacker/cbor/v2", "golang.org/x/sys"}, why: "the protocol carries the seam"},
	{pkgs: "sspinet", ours: []string{".", "secpkg"}, why: "built on the application API"},
	{pkgs: "httpauth", ours: []string{".", "secpkg", "sspinet"}, why: "built on the application API"},

	// Security packages: both halves, linked by applications and the LSA.
	{pkgs: "packages/all", ours: []string{"packages/*", "secpkg"}, why: "registers the built-in packages"},
	{pkgs: "packages/*", ours: []string{"secpkg", "internal/wire", "internal/gssframe", "internal/krb5", "internal/krb5/kcrypto"},
		theirs: []string{"golang.org/x/crypto", "github.com/cloudflare/circl", "github.com/xdg-go/scram"},
		why:    "a package sees the LSA and the other packages through secpkg only (LSAFunctions.LocatePackage, the registry)"},
	{pkgs: "internal/krb5/kcrypto", why: "Kerberos per-message cryptography on the standard library"},
	{pkgs: "internal/krb5", ours: []string{"secpkg", "internal/krb5/kcrypto"}, theirs: []string{"github.com/jcmturner/gokrb5/v8", "golang.org/x/crypto"},
		why: "the one door to gokrb5, for the Kerberos package"},

	// The authority side.
	{pkgs: "accounts/...", ours: []string{"accounts/..."}, theirs: []string{"github.com/jackc/pgx/v5", "modernc.org/sqlite"}, why: "the account store knows nothing of the LSA"},
	{pkgs: "lsa/engine", ours: []string{"lsa", "secpkg", "accounts"}, why: "the engine serves the seam; it never imports the application API"},
	{pkgs: "embedded", ours: []string{".", "lsa", "lsa/engine", "accounts"}, why: "plugs the engine into the application API by import"},
	{pkgs: "internal/lsad", ours: []string{"lsa", "lsa/engine", "lsa/lsarpc", "accounts", "accounts/*", "packages/*", "secpkg"},
		theirs: []string{"github.com/BurntSushi/toml", "github.com/coreos/go-systemd/v22", "golang.org/x/sys"},
		why:    "the daemon: links the store drivers it supports and configures packages from lsad.toml"},
	{pkgs: "internal/cli", ours: []string{".", "lsa", "lsa/engine", "lsa/lsarpc", "embedded", "accounts", "accounts/*", "secpkg", "sspinet", "httpauth"},
		theirs: []string{"github.com/spf13/cobra", "golang.org/x/term"}, why: "the sspi command"},
	{pkgs: "cmd/*", ours: []string{"internal/lsad", "internal/cli", "packages/all"}, why: "commands stay thin"},

	// Test support and examples.
	{pkgs: "lsa/engine/enginetest", ours: []string{".", "lsa", "lsa/engine", "lsa/lsarpc", "accounts", "accounts/memory", "secpkg"}, why: "test support"},
	{pkgs: "internal/pgtest", theirs: []string{"github.com/jackc/pgx/v5"}, why: "test support: a PostgreSQL schema per test"},
	{pkgs: "secpkg/secpkgtest", ours: []string{".", "lsa", "lsa/engine", "lsa/engine/enginetest", "secpkg"}, why: "the conformance kit"},
	{pkgs: "accounts/storetest", ours: []string{"accounts"}, why: "test support"},
	{pkgs: "examples/...", ours: []string{".", "secpkg", "embedded", "accounts/*", "packages/all", "examples/..."}, why: "examples"},
	{pkgs: "interop", ours: []string{".", "secpkg", "packages/*", "lsa/..."}, why: "interoperability tests"},
}

// match reports whether the module-relative package rel matches pattern
// ("x/*": one level below x; "x/...": x and everything below).
func match(pattern, rel string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == p || strings.HasPrefix(rel, p+"/")
	}
	ok, _ := path.Match(pattern, rel)
	return ok
}

func relative(pkg string) (string, bool) {
	if pkg == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(pkg, module+"/")
	return rel, ok
}

// TestImportRules checks every package's imports (not its tests')
// against importRules: the parts of the design and the one-way arrows
// between them (doc/architecture.md).
func TestImportRules(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...") {
		fields := strings.Fields(line)
		rel, _ := relative(fields[0])
		var rule *importRule
		for i := range importRules {
			if match(importRules[i].pkgs, rel) {
				rule = &importRules[i]
				break
			}
		}
		if rule == nil {
			t.Errorf("package %s has no import rule: add it to importRules (deps_test.go) and to doc/architecture.md", rel)
			continue
		}
		for _, imp := range fields[1:] {
			first, _, _ := strings.Cut(imp, "/")
			if !strings.Contains(first, ".") {
				continue // the standard library
			}
			allowed := false
			if r, ours := relative(imp); ours {
				for _, p := range rule.ours {
					allowed = allowed || match(p, r)
				}
				if allowed && r == rel {
					allowed = false
				}
			} else {
				for _, m := range rule.theirs {
					allowed = allowed || imp == m || strings.HasPrefix(imp, m+"/")
				}
			}
			if !allowed {
				t.Errorf("%s imports %s, which the rule for %q (%s) does not allow", rel, imp, rule.pkgs, rule.why)
			}
		}
	}
}

// TestApplicationLinksNoAuthority checks the seam between the application
// and the authority: a program that imports the application API, sspinet,
// the LSA protocol's client and every package links neither the engine,
// nor the account store, nor any SQL driver. An application is the
// untrusted side; what holds secrets is linked only by lsad, the CLI and
// programs that import package embedded.
func TestApplicationLinksNoAuthority(t *testing.T) {
	deps := goList(t, "-deps",
		module,
		module+"/sspinet",
		module+"/lsa/lsarpc",
		module+"/packages/all",
	)
	forbidden := []string{
		module + "/lsa/engine",
		module + "/accounts",
		module + "/embedded",
		module + "/internal/lsad",
		module + "/internal/cli",
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
