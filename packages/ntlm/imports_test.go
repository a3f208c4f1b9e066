package ntlm

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports holds the package to its place in the design (doc.go): it
// may import the standard library, secpkg, internal/wire and
// golang.org/x/crypto, and never the LSA, the account store or the
// application API.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(path string) bool {
		switch {
		case path == "github.com/opensspi/sspi/secpkg",
			path == "github.com/opensspi/sspi/internal/wire",
			strings.HasPrefix(path, "golang.org/x/crypto/"):
			return true
		}
		first, _, _ := strings.Cut(path, "/")
		return !strings.Contains(first, ".") // the standard library
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed(path) {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
