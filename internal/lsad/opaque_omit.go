//go:build sspi_omit_opaque

package lsad

import (
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// opaquePackage refuses an [opaque] section in an lsad built without
// OPAQUE.
func (c *OPAQUEConfig) opaquePackage() (secpkg.Package, error) {
	if *c == (OPAQUEConfig{}) {
		return nil, nil
	}
	return nil, errors.New("lsad: config: [opaque] is set, but this lsad is built without OPAQUE")
}
