package opaque

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// ServerSetup is the server's long-term setup (RFC 9807 Section 3.1): the
// oprf_seed from which every client's OPRF key is derived and the AKE key
// pair (server_private_key, server_public_key). It is the server's one
// long-term secret: whoever holds it can impersonate the server and
// attack every record by dictionary. It redacts itself when printed.
//
// Its exported form ([ServerSetup.Bytes], [ParseServerSetup]) is the
// RFC's byte layout, oprf_seed (Nh bytes) followed by server_private_key
// (Nsk bytes), so that an administrator can move a server's accounts
// between RFC 9807 implementations with their records.
type ServerSetup struct {
	oprfSeed   []byte
	privateKey group.Scalar
	publicKey  []byte
	public     group.Element
	// fakeKey derives the fake records of unregistered clients (Section
	// 6.3.2.2); it is derived from oprf_seed.
	fakeKey []byte
}

// GenerateServerSetup draws a fresh setup from r (nil means crypto/rand):
// a random oprf_seed of Nh bytes and an AKE key pair derived with
// DeriveDiffieHellmanKeyPair from a random seed.
func GenerateServerSetup(r io.Reader) (*ServerSetup, error) {
	if r == nil {
		r = rand.Reader
	}
	seed, err := randomBytes(r, Nh)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	keySeed, err := randomBytes(r, Nseed)
	if err != nil {
		return nil, err
	}
	defer clear(keySeed)
	sk, _, err := deriveDiffieHellmanKeyPair(keySeed)
	if err != nil {
		return nil, fmt.Errorf("opaque: deriving the server key pair: %w", err)
	}
	return NewServerSetup(seed, serializeScalar(sk))
}

// NewServerSetup builds a setup from an oprf_seed of Nh bytes and a
// server_private_key of Nsk bytes (a canonical, non-zero ristretto255
// scalar). The inputs are copied.
func NewServerSetup(oprfSeed, serverPrivateKey []byte) (*ServerSetup, error) {
	if len(oprfSeed) != Nh {
		return nil, fmt.Errorf("opaque: oprf_seed of %d bytes, want %d", len(oprfSeed), Nh)
	}
	sk, err := deserializeScalar(serverPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("opaque: server_private_key: %w", err)
	}
	s := &ServerSetup{
		oprfSeed:   append([]byte(nil), oprfSeed...),
		privateKey: sk,
		public:     g.NewElement().MulGen(sk),
	}
	s.publicKey = serializeElement(s.public)
	// A label that no credential_identifier || "OprfKey" can equal (it
	// does not end in "OprfKey"), so the fake-record key is independent
	// of every OPRF key seed.
	s.fakeKey = expand(s.oprfSeed, Nh, []byte("OpenSSPI OPAQUE fake records"))
	return s, nil
}

// ParseServerSetup reads the RFC byte layout written by
// [ServerSetup.Bytes]: oprf_seed || server_private_key.
func ParseServerSetup(b []byte) (*ServerSetup, error) {
	if len(b) != ServerSetupSize {
		return nil, fmt.Errorf("opaque: server setup of %d bytes, want %d", len(b), ServerSetupSize)
	}
	return NewServerSetup(b[:Nh], b[Nh:])
}

// Bytes returns oprf_seed || server_private_key: the server's long-term
// secret. Handle it like a private key.
func (s *ServerSetup) Bytes() []byte {
	return append(append([]byte(nil), s.oprfSeed...), serializeScalar(s.privateKey)...)
}

// PublicKey returns server_public_key.
func (s *ServerSetup) PublicKey() []byte { return append([]byte(nil), s.publicKey...) }

// String describes the setup by its public key only.
func (s *ServerSetup) String() string {
	return fmt.Sprintf("opaque.ServerSetup{public:%x secrets:REDACTED}", s.publicKey)
}

// GoString keeps the secrets out of %#v.
func (s *ServerSetup) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without the secrets.
func (s *ServerSetup) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public_key", fmt.Sprintf("%x", s.publicKey)), slog.String("secrets", "REDACTED"))
}

// blindEvaluate evaluates the OPRF for a client (Section 5.2.2 and
// 6.3.2.2): its key is DeriveKeyPair(Expand(oprf_seed,
// concat(credential_identifier, "OprfKey"), Nok), "OPAQUE-DeriveKeyPair"),
// and BlindEvaluate (RFC 9497 Section 3.3.1) multiplies blinded_element
// by it.
func (s *ServerSetup) blindEvaluate(blinded group.Element, credentialIdentifier []byte) ([]byte, error) {
	seed := expand(s.oprfSeed, Nok, credentialIdentifier, []byte("OprfKey"))
	defer clear(seed)
	key, err := oprf.DeriveKey(suite, oprf.BaseMode, seed, []byte(labelDeriveKeyPair))
	if err != nil {
		return nil, fmt.Errorf("opaque: deriving the OPRF key: %w", err)
	}
	ev, err := oprf.NewServer(suite, key).Evaluate(&oprf.EvaluationRequest{Elements: []oprf.Blinded{blinded}})
	if err != nil || len(ev.Elements) != 1 {
		return nil, fmt.Errorf("opaque: OPRF evaluation failed: %v", err)
	}
	return serializeElement(ev.Elements[0]), nil
}

// fakeRecord is the record the server uses for a client it has none for
// (Section 6.3.2.2, Section 10.9): a client_public_key that is a random
// element, a random masking_key and an all-zero envelope. Both are
// derived from the setup's secret and credential_identifier, so that
// one unknown client always gets the same record and the server keeps
// nothing per unknown client.
func (s *ServerSetup) fakeRecord(credentialIdentifier []byte) *RegistrationRecord {
	h := expand(s.fakeKey, 64, []byte("client_public_key:"), credentialIdentifier)
	pk := g.HashToElement(h, []byte("OpenSSPI-OPAQUE-V1-FakeClientPublicKey"))
	return &RegistrationRecord{
		clientPublicKey: serializeElement(pk),
		clientPK:        pk,
		maskingKey:      expand(s.fakeKey, Nh, []byte("masking_key:"), credentialIdentifier),
		envelope:        make([]byte, EnvelopeSize),
	}
}

// selectRecord returns a copy of real when it is not nil and of fake
// otherwise, without a branch on the secret choice once the pointers are
// taken: the bytes are copied in constant time and the element selected
// with CSelect, so a real and a fake record cost the same (Section 9.1).
func selectRecord(real, fake *RegistrationRecord) *RegistrationRecord {
	choice, src := 0, fake
	if real != nil {
		choice, src = 1, real
	}
	out := &RegistrationRecord{
		clientPublicKey: append([]byte(nil), fake.clientPublicKey...),
		maskingKey:      append([]byte(nil), fake.maskingKey...),
		envelope:        append([]byte(nil), fake.envelope...),
	}
	subtle.ConstantTimeCopy(choice, out.clientPublicKey, src.clientPublicKey)
	subtle.ConstantTimeCopy(choice, out.maskingKey, src.maskingKey)
	subtle.ConstantTimeCopy(choice, out.envelope, src.envelope)
	out.clientPK = g.NewElement().CSelect(choice, src.clientPK, fake.clientPK)
	return out
}
