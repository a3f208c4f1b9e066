//go:build !sspi_omit_negotiate

package all

import (
	"github.com/opensspi/sspi/packages/negotiate"
	"github.com/opensspi/sspi/secpkg"
)

func init() { secpkg.Register(negotiate.Name, negotiate.New(nil)) }
