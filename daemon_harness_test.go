package sspi_test

import "github.com/opensspi/sspi/secpkg/secpkgtest"

// modes are the two ways a provider reaches the LSA.
var modes = secpkgtest.Modes
