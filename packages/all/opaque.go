//go:build !sspi_omit_opaque

package all

import (
	"github.com/opensspi/sspi/packages/opaque"
	"github.com/opensspi/sspi/secpkg"
)

// OPAQUE with its safe defaults: records Argon2id with DefaultKSF, the
// server setup in the LSA's secret store (its account store). lsad
// configures it from [opaque] in lsad.toml.
func init() { secpkg.Register(opaque.Name, opaque.New(nil)) }
