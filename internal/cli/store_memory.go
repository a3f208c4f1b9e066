//go:build !sspi_omit_memory

package cli

// The in-process account store (memory:), for tests and demonstrations;
// building with -tags sspi_omit_memory leaves it out of the sspi command.
import _ "github.com/opensspi/sspi/accounts/memory"
