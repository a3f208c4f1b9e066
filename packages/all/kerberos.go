//go:build !sspi_omit_kerberos

package all

import (
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
)

func init() { secpkg.Register(kerberos.Name, kerberos.New(nil)) }
