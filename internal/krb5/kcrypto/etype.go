// Package kcrypto is the Kerberos V5 cryptography that protected messages
// need, written for speed: the AES encryption types of RFC 3962 (on the
// simplified profile of RFC 3961) and RFC 8009.
//
//	17 aes128-cts-hmac-sha1-96         RFC 3962
//	18 aes256-cts-hmac-sha1-96         RFC 3962
//	19 aes128-cts-hmac-sha256-128      RFC 8009
//	20 aes256-cts-hmac-sha384-192      RFC 8009
//
// A [UsageKey] holds the keys derived from one protocol key for one key
// usage (Ke, Ki and Kc of RFC 3961 Section 5.3 / RFC 8009 Section 5): the
// derivation, the AES key schedule and the keyed HMAC states are computed
// once, when a security context is established, and reused for every
// message. Encryption, decryption and checksums work in place on the
// caller's buffers and take the message as [Segment]s, so a token header,
// the application's data buffers and a token trailer are processed as one
// message without being copied together; in steady state they do not
// allocate.
//
// The plain functions of the profiles are here too, as tested building
// blocks: n-fold, DR and DK (RFC 3961 Section 5.1), KDF-HMAC-SHA2 (RFC
// 8009 Section 3), the PRFs, PRF+ and KRB-FX-CF2 (RFC 6113 Section 5.1),
// and string-to-key.
//
// Secrets: derived key bytes are cleared after use, but the AES key
// schedules and HMAC states live inside the standard library, which offers
// no way to wipe them; a UsageKey's Close drops them for the collector.
package kcrypto

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// EType is a Kerberos encryption type number (RFC 3961 Section 8, the
// IANA "Kerberos Encryption Type Numbers" registry).
type EType int32

// Encryption types this package implements.
const (
	AES128CTSHMACSHA196    EType = 17 // aes128-cts-hmac-sha1-96, RFC 3962
	AES256CTSHMACSHA196    EType = 18 // aes256-cts-hmac-sha1-96, RFC 3962
	AES128CTSHMACSHA256128 EType = 19 // aes128-cts-hmac-sha256-128, RFC 8009
	AES256CTSHMACSHA384192 EType = 20 // aes256-cts-hmac-sha384-192, RFC 8009
)

// Key usage numbers of the GSS-API Kerberos mechanism (RFC 4121, Section
// 2), used for the per-message tokens.
const (
	UsageAcceptorSeal  uint32 = 22 // KG-USAGE-ACCEPTOR-SEAL
	UsageAcceptorSign  uint32 = 23 // KG-USAGE-ACCEPTOR-SIGN
	UsageInitiatorSeal uint32 = 24 // KG-USAGE-INITIATOR-SEAL
	UsageInitiatorSign uint32 = 25 // KG-USAGE-INITIATOR-SIGN
)

// ConfounderSize is the length of the random confounder that starts every
// ciphertext of these encryption types: one AES block (RFC 3962 Section 6,
// RFC 8009 Section 5).
const ConfounderSize = 16

// blockSize is the AES block size, the "message block size" m of RFC 3961.
const blockSize = 16

// profile describes an encryption type.
type profile struct {
	name     string
	keySize  int              // protocol key and Ke length in bytes
	kiSize   int              // Ki length
	kcSize   int              // Kc length
	hashSize int              // h: truncated HMAC output, the checksum length
	newHash  func() hash.Hash // SHA-1, SHA-256 or SHA-384
	etm      bool             // RFC 8009 encrypt-then-MAC, with SP 800-108 key derivation
	prfSize  int              // PRF output length
}

var profiles = map[EType]*profile{
	AES128CTSHMACSHA196:    {"aes128-cts-hmac-sha1-96", 16, 16, 16, 12, sha1.New, false, 16},
	AES256CTSHMACSHA196:    {"aes256-cts-hmac-sha1-96", 32, 32, 32, 12, sha1.New, false, 16},
	AES128CTSHMACSHA256128: {"aes128-cts-hmac-sha256-128", 16, 16, 16, 16, sha256.New, true, 32},
	AES256CTSHMACSHA384192: {"aes256-cts-hmac-sha384-192", 32, 24, 24, 24, sha512.New384, true, 48},
}

func (e EType) profile() (*profile, error) {
	if p := profiles[e]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("kcrypto: unsupported encryption type %d", int32(e))
}

// Supported reports whether this package implements e.
func (e EType) Supported() bool { return profiles[e] != nil }

// String returns the RFC name, such as "aes256-cts-hmac-sha1-96".
func (e EType) String() string {
	if p := profiles[e]; p != nil {
		return p.name
	}
	return fmt.Sprintf("EType(%d)", int32(e))
}

// KeySize returns the length of a protocol key in bytes (0 if unsupported).
func (e EType) KeySize() int {
	if p := profiles[e]; p != nil {
		return p.keySize
	}
	return 0
}

// ChecksumSize returns h, the length in bytes of the truncated HMAC that
// ends a ciphertext and of a checksum with Kc: 12 for the RFC 3962 types,
// 16 and 24 for the RFC 8009 ones (0 if unsupported).
func (e EType) ChecksumSize() int {
	if p := profiles[e]; p != nil {
		return p.hashSize
	}
	return 0
}

// PRFSize returns the length of the PRF output (0 if unsupported).
func (e EType) PRFSize() int {
	if p := profiles[e]; p != nil {
		return p.prfSize
	}
	return 0
}

// CiphertextLen returns the length of the ciphertext of an n-byte
// plaintext: confounder, plaintext (CTS needs no padding) and checksum.
func (e EType) CiphertextLen(n int) int { return ConfounderSize + n + e.ChecksumSize() }
