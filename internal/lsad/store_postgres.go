//go:build !sspi_omit_postgres

package lsad

// The PostgreSQL account store (postgres://…); building with -tags
// sspi_omit_postgres leaves it, and pgx, out of lsad.
import _ "github.com/opensspi/sspi/accounts/postgres"
