// Package secpkg is what a security package implements, and the types it
// shares with the application API (the role of ntsecpkg.h): the package
// interface is to package sspi what database/sql/driver is to
// database/sql.
//
// Every part of the design imports it (doc/architecture.md), so it
// imports nothing of this module: only the standard library.
//
// A package registers a [Package] value with [Register]. Its two entry
// points return its halves:
//
//   - the LSA-mode half ([LSAPackage], SECPKG_FUNCTION_TABLE) runs inside
//     the Local Security Authority with the [LSAFunctions] support
//     functions (LSA_SECPKG_FUNCTION_TABLE): logon sessions and their
//     credentials, the account store's verifiers, caller information,
//     audit, a replay cache, the clock and randomness. It acquires
//     credentials and runs each leg of a handshake;
//   - the user-mode half ([UserPackage], SECPKG_USER_FUNCTION_TABLE) runs
//     in the application once a context is established and mapped: it
//     rebuilds the context from the packed ContextData the LSA-mode half
//     returned (session keys only, never a long-term secret) and does the
//     per-message work ([UserContext]).
//
// # Windows names
//
//	SpLsaModeInitialize        Package.LSAModeInitialize
//	SpUserModeInitialize       UserModeInitializer.UserModeInitialize
//	SpInitialize               LSAPackage.Initialize
//	SpGetInfo                  LSAPackage.GetInfo
//	SpAcquireCredentialsHandle LSAPackage.AcquireCredentialsHandle
//	SpFreeCredentialsHandle    LSAPackage.FreeCredentialsHandle
//	SpQueryCredentialsAttributes LSAPackage.QueryCredentialsAttributes
//	SpInitLsaModeContext       LSAPackage.InitLsaModeContext
//	SpAcceptLsaModeContext     LSAPackage.AcceptLsaModeContext
//	SpDeleteContext            LSAPackage.DeleteContext
//	SpQueryContextAttributes   LSAPackage.QueryContextAttributes (LSA side),
//	                           UserContext.Sizes/StreamSizes/SessionKey (user side)
//	SpApplyControlToken        ControlTokenApplier
//	SpLogonUser                LogonUserer
//	SpShutdown                 LSAPackage.Shutdown
//	SpInstanceInit             UserPackage.InstanceInit
//	SpInitUserModeContext      UserPackage.InitUserModeContext
//	SpImportSecurityContext    UserPackage.ImportContext
//	SpMakeSignature            UserContext.MakeSignature
//	SpVerifySignature          UserContext.VerifySignature
//	SpSealMessage              UserContext.SealMessage
//	SpUnsealMessage            UserContext.UnsealMessage
//	SpCompleteAuthToken        AuthTokenCompleter
//	SpExportSecurityContext    UserContext.ExportContext
//	SpDeleteUserModeContext    UserContext.DeleteUserModeContext
//	SECPKG_DLL_FUNCTIONS       UserFunctions
//	LSA_SECPKG_FUNCTION_TABLE  LSAFunctions
//	SECPKG_PARAMETERS          Parameters
//	SECPKG_CALL_INFO           CallInfo
//	LSA_SEC_HANDLE             Handle (in the LSA); UserContextHandle (the
//	                           provider's, for a mapped context)
//
// # Optional capabilities
//
// Further interfaces an LSA-mode half may implement: [LogonUserer],
// [ControlTokenApplier], [LSAMessageProtector] (protect messages of
// contexts that are not mapped), [SessionKeyQuerier], [CallPackager]
// (callbacks from the user-mode half), [ContextMapper], [MechListMICer]
// (the SPNEGO mechListMIC, for Negotiate), [VerifierMaker] (verifiers
// for the account store), [Registrar] (verifiers the client makes, for
// aPAKEs such as OPAQUE), [LogonTerminator] (SpLogonTerminated) and
// [CredentialLister] (what a logon session holds, as klist shows it). A
// user-mode context may implement [AuthTokenCompleter].
//
// The LSA's support functions may likewise implement optional ones:
// [NetworkLogonCreator] (the logon session of an accepted client, which
// holds the credentials it delegated), [CallerFileReader] (a file read
// with the caller's rights), [SecretStore] (the package's long-term
// secrets) and [AccountKeyer] (the LSA's rule for account names). A
// package finds them by asserting its LSAFunctions to them.
//
// # Serializable by design
//
// Handles, byte slices and plain structs cross these interfaces, never
// channels or callbacks, so that a package can later run in a process of
// its own.
//
// # Conformance
//
// Package secpkgtest is the conformance kit every package runs.
package secpkg
