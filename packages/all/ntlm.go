//go:build !sspi_omit_ntlm

package all

import (
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
)

func init() { secpkg.Register(ntlm.Name, ntlm.New(nil)) }
