//go:build !sspi_omit_negotiate

package lsad

import (
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/secpkg"
)

// negotiatePackage is the Negotiate package as [negotiate] configures
// it, or nil when the section is empty (the package's defaults, as
// registered). The package itself checks the names when the LSA loads it.
func (c *NegotiateConfig) negotiatePackage() (secpkg.Package, error) {
	if len(c.Packages) == 0 && !c.LegacyKerberosOID {
		return nil, nil
	}
	return negotiate.New(&negotiate.Config{Packages: append([]string(nil), c.Packages...),
		LegacyKerberosOID: c.LegacyKerberosOID}), nil
}
