//go:build !sspi_omit_sqlite

package lsad

// The SQLite account store (sqlite:PATH); building with -tags
// sspi_omit_sqlite leaves it out of lsad.
import _ "github.com/opensspi/sspi/accounts/sqlite"
