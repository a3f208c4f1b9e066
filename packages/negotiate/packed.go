package negotiate

import (
	"github.com/opensspi/sspi/secpkg"
)

// Negotiate's ContextData, handed to its user-mode half, names the chosen
// package and carries that package's own ContextData (doc/negotiate.md):
//
//	offset  size  field
//	0       1     version (1)
//	1       1     n, length of the chosen package's name (1..64)
//	2       n     the package name, as registered (ASCII)
//	2+n     rest  the chosen package's ContextData (or, for an exported
//	              context, its ExportContext output)
//
// The same layout wraps an exported context, so that ImportContext finds
// the package to import into.
const (
	packedVersion  = 1
	maxPackageName = 64
)

func packContext(name string, inner []byte) []byte {
	b := make([]byte, 0, 2+len(name)+len(inner))
	b = append(b, packedVersion, byte(len(name)))
	b = append(b, name...)
	return append(b, inner...)
}

func unpackContext(b []byte) (name string, inner []byte, err error) {
	if len(b) < 2 {
		return "", nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: packed context too short")
	}
	if b[0] != packedVersion {
		return "", nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: packed context version %d", b[0])
	}
	n := int(b[1])
	if n == 0 || n > maxPackageName || len(b) < 2+n {
		return "", nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: packed context names no package")
	}
	name = string(b[2 : 2+n])
	if _, ok := mechByName(name); !ok {
		return "", nil, secpkg.Errorf(secpkg.StatusInvalidToken, "negotiate: packed context names %q, which Negotiate never chooses", name)
	}
	return name, b[2+n:], nil
}
