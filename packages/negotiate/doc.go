// Package negotiate is the Negotiate security package (SPNEGO, RFC 4178,
// with the Windows behaviour of MS-SPNG): it selects Kerberos or NTLM with
// the peer and delegates to the chosen package, protecting the choice with
// the mechListMIC.
//
// It is a security package: it imports secpkg, internal helpers and the
// standard library (and golang.org/x/crypto/cryptobyte for DER), never the
// LSA engine, the account store or the application API. It composes the
// other packages through the LSA support functions (LocatePackage).
package negotiate
