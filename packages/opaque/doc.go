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
// doc/opaque.md in the repository describes the configuration, the KSF
// choice and the encodings that are this package's own.
package opaque
