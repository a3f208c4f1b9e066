// Package sspi is the application API of OpenSSPI: the Security Support
// Provider Interface of Windows, rebuilt in Go for every platform.
//
// An application acquires credentials for a security package, then
// establishes a security context with its peer by exchanging opaque tokens
// in as many legs as the package needs: the client calls
// [ClientContext.Initialize], the server [ServerContext.Accept], each
// sending what the other returns until both report [StatusOK]. The
// established context signs, verifies, encrypts and decrypts messages.
//
//	cred, _ := sspi.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound,
//		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: "alice", Domain: "EXAMPLE", Password: []byte(pw)}})
//	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: "HOST/server.example.com",
//		Flags: sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity})
//	out, status, err := c.Initialize(ctx, nil) // send out; feed the reply back in
//
// # Architecture
//
// Calls go from the [Provider] (this package, in the application process)
// to the Local Security Authority through the seam, an [lsa.Conn]: the
// lsad daemon over a Unix socket (package lsa/lsarpc), or an engine in
// this process when the program imports package embedded. The LSA runs
// the LSA-mode half of each security package and holds every long-term
// secret. When a context is established, the LSA hands the provider a
// packed context holding session keys only, and the provider maps it into
// the package's user-mode half in this process (SpInitUserModeContext;
// the half itself is initialized once per process, with
// SpUserModeInitialize and SpInstanceInit, when its first context is
// mapped), so per-message calls need no round trip. Packages implement
// package [secpkg].
//
// This package is the application side of the design (doc/architecture.md):
// it imports only the seam (lsa, lsa/lsarpc) and secpkg, never the engine
// or the account store, so that an application links no part of the
// authority.
//
// # Windows names
//
// Go names replace the Win32 ones; each maps to one SSPI function or
// structure:
//
//	EnumerateSecurityPackages     Packages, Provider.Packages
//	QuerySecurityPackageInfo      QueryPackage, Provider.QueryPackage
//	AcquireCredentialsHandle      AcquireCredentials, Provider.AcquireCredentials
//	FreeCredentialsHandle         Credentials.Free
//	QueryCredentialsAttributes    Credentials.QueryName
//	InitializeSecurityContext     NewClientContext + ClientContext.Initialize
//	AcceptSecurityContext         NewServerContext + ServerContext.Accept
//	CompleteAuthToken             Context.CompleteAuthToken
//	DeleteSecurityContext         Context.Delete
//	ApplyControlToken             Context.ApplyControlToken
//	MakeSignature                 Context.MakeSignature (Context.Sign)
//	VerifySignature               Context.VerifySignature (Context.Verify)
//	EncryptMessage                Context.EncryptMessage (Context.Wrap)
//	DecryptMessage                Context.DecryptMessage (Context.Unwrap)
//	QueryContextAttributes        Context.Sizes, StreamSizes, SessionKey, Names,
//	                              NativeNames, Lifespan, PackageInfo, NegotiationInfo,
//	                              ClientContext.Flags, ServerContext.Flags,
//	                              ServerContext.Identity
//	ExportSecurityContext         Context.Export
//	ImportSecurityContext         Provider.ImportContext
//	LsaLogonUser                  Provider.LogonUser
//	SECURITY_STATUS               Status (SEC_E_*, SEC_I_* values kept)
//	ISC_REQ_* / ISC_RET_*         ISCFlags
//	ASC_REQ_* / ASC_RET_*         ASCFlags
//	SEC_WINNT_AUTH_IDENTITY       AuthIdentity
//	SEC_CHANNEL_BINDINGS          ChannelBindings (TLSServerEndPointBindings,
//	                              TLSExporterBindings, TLSUniqueBindings)
//	SecBuffer / SecBufferDesc     Buffer / []Buffer
//	SecPkgInfo                    PackageInfo
//
// # Errors
//
// Continuing a handshake is a status, not an error. Every error carries a
// SEC_E_* [Status]: test it with errors.Is against the Status constants or
// the Err* sentinels, or read it with [StatusOf]. A failed handshake step
// makes the context's error sticky; only Delete frees it.
//
// # Default provider
//
// The package-level functions use [Default], which [OpenLSA] connects as
// the environment says: lsad on the socket SSPI_LSA names; else, in a
// program that imports package embedded, an LSA in the process with the
// account store SSPI_STORE names; else lsad at [DefaultLSASocket].
// Register the built-in packages by importing
// github.com/opensspi/sspi/packages/all.
package sspi
