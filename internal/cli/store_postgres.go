//go:build !sspi_omit_postgres

package cli

// The PostgreSQL account store (postgres://…); building with -tags
// sspi_omit_postgres leaves it, and pgx, out of the sspi command.
import _ "github.com/opensspi/sspi/accounts/postgres"
