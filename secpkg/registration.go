package secpkg

import "context"

// This file holds the optional parts of the contract between the LSA and
// a package that the package discovers with a type assertion: support
// functions an LSA may offer beyond [LSAFunctions], and the registration
// capability of a package whose verifier the client makes.

// SecretStore is an optional LSA support function: the package's own
// long-term secrets, kept by the LSA under names the package chooses (the
// role of LSA private data, LsaStorePrivateData and
// LsaRetrievePrivateData, which Windows packages keep their secrets in).
// A package asserts its LSAFunctions to SecretStore to use it.
//
// Each package has its own names: two packages never see each other's
// secrets. The LSA keeps them with its account store, so that every LSA
// instance sharing one account database (hosts sharing PostgreSQL) shares
// them too, which matters for secrets that stored verifiers depend on
// (the OPAQUE server setup). A secret is never logged; the bytes returned
// are the caller's, to wipe when done.
//
// CreateSecret is create-once: of two LSA instances racing to create one
// secret, one wins and the other gets an error wrapping fs.ErrExist and
// reads the winner's. There is no call to replace or delete a secret:
// rotating one is an administrator's decision (doc/opaque.md describes
// OPAQUE's).
type SecretStore interface {
	// Secret returns the secret stored under name, or an error wrapping
	// fs.ErrNotExist if there is none.
	Secret(ctx context.Context, name string) ([]byte, error)
	// CreateSecret stores secret under name if there is no secret by that
	// name, and returns an error wrapping fs.ErrExist otherwise.
	CreateSecret(ctx context.Context, name string, secret []byte) error
}

// AccountKeyer is an optional LSA support function: the one rule by which
// the LSA finds an account, for packages that must derive something from
// an account's name alone, known account or not (OPAQUE's credential
// identifier, RFC 9807 Section 8, from which the answer for an unknown
// account is derived, so that it cannot tell unknown from known).
//
// AccountKey returns the keys under which the account store compares the
// account domain\user: the names a client may use for this machine's own
// accounts ("", ".", the machine's NetBIOS and DNS names, the DNS domain)
// mapped to the local domain, and both names case-folded as the store
// compares them (Unicode simple case folding; package accounts). Every
// spelling of one account gives the same keys, and the keys of a name do
// not change when an account of that name is created or deleted.
type AccountKeyer interface {
	AccountKey(domain, user string) (domainKey, userKey string)
}

// Registrar is implemented by packages whose verifier the client makes
// without ever giving the LSA the password: an aPAKE such as OPAQUE
// (RFC 9807 Section 5), whose registration is a request from the client,
// a response from the LSA, and an upload from the client from which the
// LSA keeps the verifier. Such a package's [VerifierMaker] refuses with
// StatusUnsupportedFunction, and the LSA skips it when it makes verifiers
// from a password.
//
// The LSA calls it behind its registration call (lsa.Registration), once
// it has decided that the caller may register the account: domain and
// user name the account as the store keeps it. The LSA stores the
// verifier FinishRegistration returns as the package's (the other
// packages' verifiers of the account stay).
type Registrar interface {
	// CreateRegistrationResponse answers the client's registration
	// request token (RFC 9807 CreateRegistrationResponse).
	CreateRegistrationResponse(ctx context.Context, domain, user string, request []byte) (response []byte, err error)
	// FinishRegistration checks the client's upload token (RFC 9807's
	// RegistrationRecord) and returns the verifier to store.
	FinishRegistration(ctx context.Context, domain, user string, upload []byte) (verifier []byte, err error)
}

// ClientRegistrar is implemented by the registered [Package] value of a
// package whose LSA-mode half is a [Registrar]: the client's side of a
// registration, which runs where the password is typed (the sspi CLI),
// so that the LSA never sees the password. A program finds it in the
// registry (Lookup) without importing the package.
type ClientRegistrar interface {
	// NewClientRegistration starts a registration of password and
	// returns the request token for the LSA's
	// CreateRegistrationResponse. options are the package's own
	// (OPAQUE: the KSF to use instead of the one the LSA asks for, as
	// opaque.ParseKSF reads it); "" means the package's defaults.
	NewClientRegistration(password []byte, options string) (ClientRegistration, []byte, error)
}

// ClientRegistration is one registration's client state.
type ClientRegistration interface {
	// Finish takes the LSA's response token and returns the upload token
	// for the LSA's FinishRegistration. It may take long (a key
	// stretching function runs).
	Finish(response []byte) ([]byte, error)
}
