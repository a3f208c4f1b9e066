package sspi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestAliasesComplete checks that every exported constant of the secpkg
// files this package re-exports is re-exported.
func TestAliasesComplete(t *testing.T) {
	have := exportedConsts(t, "aliases.go")
	for _, f := range []string{"status.go", "flags.go", "types.go"} {
		for name := range exportedConsts(t, filepath.Join("secpkg", f)) {
			if len(name) > 4 && name[:4] == "Flag" {
				continue // ContextFlags are the packages' business
			}
			if !have[name] {
				t.Errorf("secpkg.%s is not re-exported by package sspi", name)
			}
		}
	}
}

func exportedConsts(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if n.IsExported() {
					out[n.Name] = true
				}
			}
		}
	}
	return out
}
