// Package all registers the built-in security packages. Import it for its
// side effect:
//
//	import _ "github.com/opensspi/sspi/packages/all"
//
// Each package is registered in a file of its own behind a build tag, so a
// hardened build can leave one out: building with -tags sspi_omit_ntlm
// drops NTLM, -tags sspi_omit_negotiate drops Negotiate, -tags
// sspi_omit_kerberos drops Kerberos, -tags sspi_omit_opaque drops OPAQUE.
//
// It is the registration part of the packages (the "Security Packages"
// registry value): it imports the packages and secpkg only.
package all
