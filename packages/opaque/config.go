package opaque

import (
	"crypto/rand"
	"fmt"
	"io"
)

// Config is what both roles of one OPAQUE-3DH deployment must agree on
// beyond the fixed cryptographic suite (RFC 9807 Section 7): the context
// of the key schedule, the identities and the key stretching function.
// Another RFC 9807 implementation interoperates when it uses the same
// configuration ristretto255-SHA512 and the same values here.
//
// The zero Config is usable: an empty context, both identities defaulting
// to the public keys, [DefaultKSF], and crypto/rand. A Config must not be
// modified while a Client or Server made from it is in use.
type Config struct {
	// Context is the context of the preamble (Section 6.4.2.1): any
	// bytes, empty allowed, at most 65535. It is not sent; both sides must
	// know it. It is not part of the envelope, so it may differ from one
	// login to the next.
	Context []byte
	// ClientIdentity and ServerIdentity are client_identity and
	// server_identity (Sections 4 and 10.3). Empty means absent: the
	// identity is then the party's public key, as the RFC says. They are
	// bound into the envelope at registration, so every login must use
	// the values the registration used. At most 65535 bytes each.
	ClientIdentity []byte
	ServerIdentity []byte
	// KSF is the key stretching function the client applies (Section
	// 2.3); the zero KSF is DefaultKSF. Only the client uses it. A login
	// must use the KSF of the registration.
	KSF KSF
	// Rand is the source of every random value the protocol draws
	// (blinds, nonces, keyshare seeds, in the order of the RFC's
	// functions); nil means crypto/rand. A Server used concurrently
	// needs a Rand that is safe for concurrent use.
	Rand io.Reader
}

// config returns a copy of cfg (or the zero Config) after checking it.
func (cfg *Config) check() (Config, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	switch {
	case len(c.Context) > maxField:
		return c, fmt.Errorf("opaque: context of %d bytes, at most %d", len(c.Context), maxField)
	case len(c.ClientIdentity) > maxField:
		return c, fmt.Errorf("opaque: client identity of %d bytes, at most %d", len(c.ClientIdentity), maxField)
	case len(c.ServerIdentity) > maxField:
		return c, fmt.Errorf("opaque: server identity of %d bytes, at most %d", len(c.ServerIdentity), maxField)
	}
	if err := c.KSF.Validate(); err != nil {
		return c, err
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c, nil
}
