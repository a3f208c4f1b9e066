//go:build sspi_omit_negotiate

package lsad

import (
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// negotiatePackage refuses a [negotiate] section in an lsad built
// without Negotiate.
func (c *NegotiateConfig) negotiatePackage() (secpkg.Package, error) {
	if len(c.Packages) == 0 {
		return nil, nil
	}
	return nil, errors.New("lsad: config: [negotiate] is set, but this lsad is built without Negotiate")
}
