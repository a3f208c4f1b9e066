// Package kerberos is the Kerberos V5 security package (Windows'
// "Kerberos", RFC 4120 and the GSS-API mechanism of RFC 4121).
//
// Like every package it has two halves (secpkg). The LSA-mode half holds
// every secret: it talks to the KDCs (internal/krb5), keeps TGTs in the
// caller's logon sessions and service tickets beside them, reads the
// service keytabs, checks AP-REQs against the LSA's replay cache
// (LSAFunctions.CheckReplay), and keeps delegated TGTs in network logon
// sessions. Once a context is established it hands the user-mode half a
// packed context (subkey, sequence numbers, flags, names, expiry; see
// packed.go) and forgets the keys: Wrap, Unwrap, MICs and
// Encrypt/DecryptMessage then run in the application's process
// (msgstate.go, tokens_rfc4121.go, seqstate.go).
//
// Configuration is [Config], passed to [New]: lsad builds it from the
// [kerberos] section of lsad.toml, the embedded mode registers New(nil),
// whose defaults come from KRB5_CONFIG, KRB5_KTNAME and the other variables
// MIT reads.
//
// # What other parts use
//
// Applications use the root package's API with the package name "Kerberos"
// (or "Negotiate"): targets "service/host", "service@host" or a full
// principal; servers name their principal in their inbound credentials.
//
// The CLI's logon commands use the LSA's calls, nothing of this package:
// lsa.Conn.LogonUser with Package "Kerberos" and the user's password (or
// Identity.Packed: a keytab or an MIT ccache, as bytes or as a path the LSA
// reads with the caller's rights; Type secpkg.LogonNewCredentials for a
// netonly logon) makes the AS exchange and keeps the TGT in a new logon
// session (SpLogonUser); lsa.Conn.LogonSessions lists the tickets of each
// session in LogonSessionInfo.Credentials as klist would (this package's
// secpkg.CredentialLister: principals, times, klist flag letters, enctypes,
// never a key); lsa.Conn.Logoff ends the session, and the package drops its
// tickets (secpkg.LogonTerminator).
//
// A server whose client delegated finds the client's TGT in the network
// logon session Identity.LogonID names: AcquireCredentials with that
// LogonID authenticates as the client to another service.
//
// Negotiate locates the package by name and, when Kerberos was not the
// initiator's first choice, makes and checks the SPNEGO mechListMIC with
// the context's sequence numbers through secpkg.MechListMICer.
//
// doc/kerberos.md describes realm set-up (MIT, Heimdal, Active Directory,
// scripts/dev-realm.sh), the checks the acceptor makes, and the tests.
package kerberos
