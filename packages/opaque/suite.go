package opaque

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// The one configuration this package implements (RFC 9807 Section 7, the
// first recommended one): OPRF ristretto255-SHA512 (RFC 9497, modeOPRF),
// HKDF-SHA-512, HMAC-SHA-512, SHA-512 and the 3DH AKE over ristretto255.
// The KSF and the context are the application's (Config).
//
// Sizes in bytes, with the RFC's names (Sections 2 and 7).
const (
	Nn    = 32 // nonce length
	Nseed = 32 // seed length
	Nh    = 64 // Hash output (SHA-512)
	Nm    = 64 // MAC output (HMAC-SHA-512)
	Nx    = 64 // KDF Extract output (HKDF-SHA-512)
	Npk   = 32 // AKE public key (ristretto255 element)
	Nsk   = 32 // AKE private key (ristretto255 scalar)
	Noe   = 32 // serialized OPRF element
	Nok   = 32 // OPRF private key
)

// Sizes of the RFC 9807 messages (Sections 4.1.1, 5.1, 6.1, 6.3.1).
const (
	EnvelopeSize             = Nn + Nm               // Envelope
	RegistrationRequestSize  = Noe                   // RegistrationRequest
	RegistrationResponseSize = Noe + Npk             // RegistrationResponse
	RegistrationRecordSize   = Npk + Nh + Nn + Nm    // RegistrationRecord
	credentialRequestSize    = Noe                   // CredentialRequest
	credentialResponseSize   = Noe + Nn + maskedSize // CredentialResponse
	maskedSize               = Npk + Nn + Nm         // masked_response
	authRequestSize          = Nn + Npk              // AuthRequest
	authResponseSize         = Nn + Npk + Nm         // AuthResponse
	KE1Size                  = credentialRequestSize + authRequestSize
	KE2Size                  = credentialResponseSize + authResponseSize
	KE3Size                  = Nm
	// ServerSetupSize is the size of an exported server setup: oprf_seed
	// (Nh) followed by server_private_key (Nsk).
	ServerSetupSize = Nh + Nsk
)

// maxField is the largest context or identity: their lengths are
// 16-bit (Section 6.4.2.1, CleartextCredentials in Section 4).
const maxField = 1<<16 - 1

var (
	suite = oprf.SuiteRistretto255
	g     = group.Ristretto255
)

// Labels of the RFC 9807 key schedule.
const (
	labelDeriveKeyPair   = "OPAQUE-DeriveKeyPair"              // Section 5.2.2
	labelDeriveDHKeyPair = "OPAQUE-DeriveDiffieHellmanKeyPair" // Section 6.4.1.1
	labelPreamble        = "OPAQUEv1-"                         // Section 6.4.2.1
)

// expand is HKDF-Expand with SHA-512 (Section 2.2). info concatenates
// the parts.
func expand(prk []byte, length int, info ...[]byte) []byte {
	var s []byte
	for _, p := range info {
		s = append(s, p...)
	}
	out, err := hkdf.Expand(sha512.New, prk, string(s), length)
	if err != nil {
		// Only a length above 255*Nx fails; every length here is fixed.
		panic("opaque: " + err.Error())
	}
	return out
}

// extract is HKDF-Extract with SHA-512 and an empty salt (Section 2.2).
func extract(ikm ...[]byte) []byte {
	var s []byte
	for _, p := range ikm {
		s = append(s, p...)
	}
	out, err := hkdf.Extract(sha512.New, s, nil)
	if err != nil {
		panic("opaque: " + err.Error())
	}
	return out
}

// mac is HMAC-SHA-512 (Section 2.2).
func mac(key []byte, msg ...[]byte) []byte {
	h := hmac.New(sha512.New, key)
	for _, p := range msg {
		h.Write(p)
	}
	return h.Sum(nil)
}

// hash is SHA-512 (Section 2.3).
func hash(msg ...[]byte) []byte {
	h := sha512.New()
	for _, p := range msg {
		h.Write(p)
	}
	return h.Sum(nil)
}

// ctEqual is ct_equal (Section 1.2).
func ctEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// xorBytes is xor (Section 1.2); a and b have the same length.
func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	subtle.XORBytes(out, a, b)
	return out
}

// i2osp2 is I2OSP(n, 2).
func i2osp2(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

// deserializeElement is DeserializeElement (RFC 9497 Section 2.1, RFC 9496
// Section 4.3.1): the canonical encoding of a ristretto255 element other
// than the identity. The decoder rejects non-canonical field elements and
// negative s; re-encoding and comparing makes canonicity explicit.
func deserializeElement(b []byte) (group.Element, error) {
	if len(b) != Noe {
		return nil, fmt.Errorf("element of %d bytes, want %d", len(b), Noe)
	}
	e := g.NewElement()
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, errors.New("not a canonical ristretto255 encoding")
	}
	if e.IsIdentity() {
		return nil, errors.New("the identity element")
	}
	if re, _ := e.MarshalBinaryCompress(); !ctEqual(re, b) {
		return nil, errors.New("not a canonical ristretto255 encoding")
	}
	return e, nil
}

// serializeElement is SerializeElement.
func serializeElement(e group.Element) []byte {
	b, err := e.MarshalBinaryCompress()
	if err != nil {
		panic("opaque: " + err.Error())
	}
	return b
}

// deserializeScalar reads a canonical, non-zero scalar (RFC 9496 Section
// 4.4: encodings at or above the group order are rejected).
func deserializeScalar(b []byte) (group.Scalar, error) {
	if len(b) != Nsk {
		return nil, fmt.Errorf("scalar of %d bytes, want %d", len(b), Nsk)
	}
	s := g.NewScalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, errors.New("scalar is not reduced modulo the group order")
	}
	if s.IsZero() {
		return nil, errors.New("scalar is zero")
	}
	return s, nil
}

// serializeScalar is SerializeScalar.
func serializeScalar(s group.Scalar) []byte {
	b, err := s.MarshalBinary()
	if err != nil {
		panic("opaque: " + err.Error())
	}
	return b
}

// deriveDiffieHellmanKeyPair is DeriveDiffieHellmanKeyPair (Section
// 6.4.1.1): DeriveKeyPair(seed, "OPAQUE-DeriveDiffieHellmanKeyPair") of
// RFC 9497 Section 3.2 in modeOPRF, returning the private scalar and the
// public element.
func deriveDiffieHellmanKeyPair(seed []byte) (group.Scalar, group.Element, error) {
	k, err := oprf.DeriveKey(suite, oprf.BaseMode, seed, []byte(labelDeriveDHKeyPair))
	if err != nil {
		return nil, nil, err
	}
	kb, err := k.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	s, err := deserializeScalar(kb)
	clear(kb)
	if err != nil {
		return nil, nil, err
	}
	return s, g.NewElement().MulGen(s), nil
}

// diffieHellman is DiffieHellman(k, B) (Section 6.4.1.1); B has been
// deserialized (and so is not the identity). The result is never the
// identity in a prime-order group with k non-zero; it is checked anyway
// (Section 10.7).
func diffieHellman(k group.Scalar, b group.Element) ([]byte, error) {
	p := g.NewElement().Mul(b, k)
	if p.IsIdentity() {
		return nil, errors.New("Diffie-Hellman result is the identity")
	}
	return serializeElement(p), nil
}

// randomBytes is random(n) from r.
func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("opaque: reading randomness: %w", err)
	}
	return b, nil
}

// randomScalar draws a uniformly random non-zero scalar from r by
// rejection: 32 bytes with the top three bits cleared, kept if canonical
// (below the group order, about half the time) and non-zero. A canonical
// scalar fed by a test reader is taken as is, which is how the RFC's
// vectors inject their blinds.
func randomScalar(r io.Reader) (group.Scalar, error) {
	var b [Nsk]byte
	defer clear(b[:])
	for range 256 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("opaque: reading randomness: %w", err)
		}
		b[Nsk-1] &= 0x1f
		if s, err := deserializeScalar(b[:]); err == nil {
			return s, nil
		}
	}
	return nil, errors.New("opaque: randomness source yields no scalar")
}

// expandLabel is Expand-Label (Section 6.4.2.1).
func expandLabel(secret []byte, label string, context []byte, length int) []byte {
	full := "OPAQUE-" + label
	customLabel := append(i2osp2(length), byte(len(full)))
	customLabel = append(customLabel, full...)
	customLabel = append(customLabel, byte(len(context)))
	customLabel = append(customLabel, context...)
	return expand(secret, length, customLabel)
}

// deriveSecret is Derive-Secret (Section 6.4.2.1).
func deriveSecret(secret []byte, label string, transcriptHash []byte) []byte {
	return expandLabel(secret, label, transcriptHash, Nx)
}
