// Package opaque is OPAQUE (RFC 9807), an asymmetric password-
// authenticated key exchange: a client proves that it knows its password
// to a server that never sees the password or anything equivalent to it,
// the server proves that it holds the client's registration record, and
// both end with a shared session key.
//
// # The protocol
//
// The package implements OPAQUE-3DH in the ristretto255-SHA512
// configuration of RFC 9807 Section 7 on the RFC 9497 OPRF and group of
// github.com/cloudflare/circl, with HKDF-SHA-512, HMAC-SHA-512 and
// SHA-512. Its API is usable on its own, outside the SSPI:
//
//   - a [Config] holds what both roles must agree on: the context string,
//     the optional client and server identities, and the key stretching
//     function ([KSF]: Argon2id, or the identity for test vectors);
//   - a [ServerSetup] is the server's long-term secret (oprf_seed and the
//     AKE key pair), exported and imported in the RFC's byte layout;
//   - a [Client] runs one registration (CreateRegistrationRequest,
//     FinalizeRegistrationRequest) or one login (GenerateKE1,
//     GenerateKE3); a [Server] answers (CreateRegistrationResponse,
//     GenerateKE2) and a [ServerLogin] finishes (ServerFinish);
//   - the messages (RegistrationRequest, RegistrationResponse,
//     RegistrationRecord, KE1, KE2, KE3) parse strictly: exact sizes,
//     canonical ristretto255 encodings, never the identity element.
//
// A server asked for a client it has no record for answers with a fake
// record derived from its setup (RFC 9807 Sections 6.3.2.2 and 10.9):
// the same sizes and the same work, so that the answer does not tell an
// unregistered client from a registered one.
//
// # The security package
//
// [New] returns the security package "OPAQUE" for secpkg.Register: a
// three-leg login (KE1, KE2, KE3) with mutual authentication, run in the
// LSAs of both sides. The initiator's LSA holds the password and runs the
// key stretching, under a bound on concurrent stretches; the acceptor's
// LSA holds the server setup (in its secret store, secpkg.SecretStore,
// which keeps it in the account store, or a [SecretStore] of the
// configuration; created on first use) and the account store holds each
// account's record. The SPN, the
// client's names, the flags and the channel bindings are bound into the
// RFC 9807 context. Once established, a context is mapped into the
// application, which signs and seals with AES-256-GCM under per-direction
// keys derived from the session key.
//
// Registration never gives the password to the LSA: the client side
// ([NewRegistration], or secpkg.ClientRegistrar on the registered value)
// runs where the password is typed, and the LSA answers through the
// package's [Registrar] behind its registration call (lsa.Registration),
// authorized for an administrator or by a one-time registration code.
//
// doc/opaque.md in the repository describes the configuration, the KSF
// choice and every encoding that is this package's own (tokens, stored
// record, packed context, message trailer).
package opaque
