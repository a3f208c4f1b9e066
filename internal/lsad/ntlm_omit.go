//go:build sspi_omit_ntlm

package lsad

import (
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// ntlmPackage refuses an [ntlm] section in an lsad built without NTLM.
func (c *NTLMConfig) ntlmPackage() (secpkg.Package, error) {
	if *c == (NTLMConfig{}) {
		return nil, nil
	}
	return nil, errors.New("lsad: config: [ntlm] is set, but this lsad is built without NTLM")
}
