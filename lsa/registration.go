package lsa

import (
	"context"
	"time"
)

// Registration registers an account with a security package whose
// verifier the client makes, so that the LSA never sees the password: an
// aPAKE such as OPAQUE (RFC 9807 Section 5). The client (the sspi CLI)
// runs the package's client side where the password is typed; the LSA
// hands the client's tokens to the package's secpkg.Registrar:
//
//	client                                    LSA
//	request token   -- BeginRegistration -->  authorize, package's response
//	                <-- response token,
//	                    registration handle
//	upload token    -- FinishRegistration ->  package's verifier, stored
//
// Who may register: a caller with the admin right (the engine's
// Config.Authorize with AccessAdminister) any account; any caller an
// account for which it presents a valid one-time registration code
// (Admin.CreateRegistrationCode), which FinishRegistration uses up. The
// account must exist; the package's verifier replaces the one it had and
// the account's other verifiers stay.
//
// The registration handle belongs to the connection, counts in its
// caller's handle quota, and lasts until FinishRegistration (whatever its
// outcome), the connection's end, or the LSA's handshake timeout. The
// embedded engine's connections and the daemon's client (lsarpc)
// implement it.
type Registration interface {
	// BeginRegistration authorizes the registration and returns the
	// package's response to the client's request token.
	BeginRegistration(ctx context.Context, req *BeginRegistrationRequest) (*BeginRegistrationReply, error)
	// FinishRegistration hands the client's upload token to the package
	// and stores the verifier it makes. The handle is gone afterwards.
	FinishRegistration(ctx context.Context, req *FinishRegistrationRequest) error
}

// BeginRegistrationRequest starts a registration.
type BeginRegistrationRequest struct {
	Package string
	Domain  string
	User    string
	// Token is the package's registration request (for OPAQUE, a
	// RegistrationRequest made from the password, which it does not
	// reveal).
	Token []byte
	// Code is a one-time registration code that admits the registration
	// of this account with this package; empty, the caller needs the
	// admin right.
	Code string
}

// BeginRegistrationReply is the LSA's answer to BeginRegistration.
type BeginRegistrationReply struct {
	// Registration names the registration in FinishRegistration.
	Registration SecHandle
	// Token is the package's response, for the client.
	Token []byte
	// Expiry is when the LSA forgets the registration.
	Expiry time.Time
}

// FinishRegistrationRequest finishes a registration.
type FinishRegistrationRequest struct {
	Registration SecHandle
	// Token is the client's upload (for OPAQUE, the RegistrationRecord).
	Token []byte
}

// RegistrationCodeRequest asks for a one-time registration code
// (Admin.CreateRegistrationCode).
type RegistrationCodeRequest struct {
	Domain  string
	User    string
	Package string
	// Lifetime is how long the code is valid; zero means the LSA's
	// default (a day), and the LSA refuses more than its maximum (a
	// week).
	Lifetime time.Duration
}

// RegistrationCodeReply is a new registration code: the one secret an
// LSA reply carries, for the administrator to hand to the account's user
// (the LSA keeps only a hash of it). It admits one registration of the
// account with the package before Expires.
type RegistrationCodeReply struct {
	Code    string
	Expires time.Time
}

// String describes the reply without the code.
func (r RegistrationCodeReply) String() string {
	return "registration code REDACTED, expires " + r.Expires.UTC().Format(time.RFC3339)
}
