//go:build !sspi_omit_sqlite

package cli

// The SQLite account store (sqlite:PATH); building with -tags
// sspi_omit_sqlite leaves it out of the sspi command.
import _ "github.com/opensspi/sspi/accounts/sqlite"
