// Package lsa is the seam between an application and the Local Security
// Authority: the [Conn] contract a provider calls (the LSA calls of the
// design: acquire credentials, one leg of a context, delete, protect a
// message of an unmapped context, export and import, logon sessions), its
// request and reply types, the packed-context envelope that carries an
// established context's session keys into the application ([Packed]),
// and the optional [Admin] and [Monitor] faces of a connection.
//
// Two implementations exist: the engine (package lsa/engine), running in
// the application's process when the program imports package embedded,
// or inside lsad; and the daemon's client (package lsa/lsarpc), which
// carries the same calls over a Unix socket. The provider in package sspi
// runs the same code against both.
//
// This package is on the application side of the boundary and small on
// purpose: it imports only secpkg and the standard library, never the
// engine, the account store or a database driver. Nothing that crosses it
// from the authority to the application is a long-term secret.
package lsa
