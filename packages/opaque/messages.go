package opaque

import (
	"errors"
	"fmt"

	"github.com/cloudflare/circl/group"
	"golang.org/x/crypto/cryptobyte"
)

// Errors of the protocol (RFC 9807 Section 9.3). Every error this
// package's protocol functions return wraps one of them.
var (
	// ErrInvalidMessage: a message has the wrong size or carries an
	// element that is not a canonical encoding of a ristretto255 element
	// other than the identity (the DeserializeError of RFC 9497).
	ErrInvalidMessage = errors.New("opaque: invalid message")
	// ErrEnvelopeRecovery is EnvelopeRecoveryError (Section 4.1.3): the
	// password is wrong, or the server does not hold this client's
	// record (an impostor, or the fake record of Section 6.3.2.2).
	ErrEnvelopeRecovery = errors.New("opaque: envelope recovery failed")
	// ErrServerAuthentication is ServerAuthenticationError (Section
	// 6.4.3): the server's MAC does not verify; the two sides disagree on
	// the context, an identity or a message.
	ErrServerAuthentication = errors.New("opaque: server authentication failed")
	// ErrClientAuthentication is ClientAuthenticationError (Section
	// 6.4.4): the client's MAC in KE3 does not verify.
	ErrClientAuthentication = errors.New("opaque: client authentication failed")
)

func invalid(msg, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidMessage, msg, fmt.Sprintf(format, args...))
}

// readElement reads a serialized element (Noe bytes) from s.
func readElement(s *cryptobyte.String, msg, field string, raw *[]byte, e *group.Element) error {
	var b []byte
	if !s.ReadBytes(&b, Noe) {
		return invalid(msg, "truncated %s", field)
	}
	el, err := deserializeElement(b)
	if err != nil {
		return invalid(msg, "%s is %v", field, err)
	}
	*raw, *e = b, el
	return nil
}

// parseFixed copies b after checking its length; the caller's buffer may
// change afterwards.
func parseFixed(b []byte, size int, msg string) (cryptobyte.String, error) {
	if len(b) != size {
		return nil, invalid(msg, "%d bytes, want %d", len(b), size)
	}
	return cryptobyte.String(append([]byte(nil), b...)), nil
}

// RegistrationRequest is RegistrationRequest (RFC 9807 Section 5.1): the
// client's blinded password.
//
//	struct {
//	  uint8 blinded_message[Noe];
//	} RegistrationRequest;
type RegistrationRequest struct {
	blindedMessage []byte
	blinded        group.Element
}

// ParseRegistrationRequest parses a RegistrationRequest strictly.
func ParseRegistrationRequest(b []byte) (*RegistrationRequest, error) {
	s, err := parseFixed(b, RegistrationRequestSize, "RegistrationRequest")
	if err != nil {
		return nil, err
	}
	m := new(RegistrationRequest)
	if err := readElement(&s, "RegistrationRequest", "blinded_message", &m.blindedMessage, &m.blinded); err != nil {
		return nil, err
	}
	return m, nil
}

// Bytes returns the encoded message.
func (m *RegistrationRequest) Bytes() []byte { return append([]byte(nil), m.blindedMessage...) }

// RegistrationResponse is RegistrationResponse (Section 5.1).
//
//	struct {
//	  uint8 evaluated_message[Noe];
//	  uint8 server_public_key[Npk];
//	} RegistrationResponse;
type RegistrationResponse struct {
	evaluatedMessage []byte
	evaluated        group.Element
	serverPublicKey  []byte
	serverPK         group.Element
}

// ParseRegistrationResponse parses a RegistrationResponse strictly,
// validating both elements.
func ParseRegistrationResponse(b []byte) (*RegistrationResponse, error) {
	const name = "RegistrationResponse"
	s, err := parseFixed(b, RegistrationResponseSize, name)
	if err != nil {
		return nil, err
	}
	m := new(RegistrationResponse)
	if err := readElement(&s, name, "evaluated_message", &m.evaluatedMessage, &m.evaluated); err != nil {
		return nil, err
	}
	if err := readElement(&s, name, "server_public_key", &m.serverPublicKey, &m.serverPK); err != nil {
		return nil, err
	}
	return m, nil
}

// Bytes returns the encoded message.
func (m *RegistrationResponse) Bytes() []byte {
	return append(append([]byte(nil), m.evaluatedMessage...), m.serverPublicKey...)
}

// ServerPublicKey returns server_public_key, which a client may pin.
func (m *RegistrationResponse) ServerPublicKey() []byte {
	return append([]byte(nil), m.serverPublicKey...)
}

// RegistrationRecord is RegistrationRecord (Section 5.1): what the server
// stores for a client. It holds no password equivalent, but its
// masking_key is secret (Section 10.10) and it admits a dictionary
// attack, so it is stored as a secret; it redacts itself when printed.
//
//	struct {
//	  uint8 client_public_key[Npk];
//	  uint8 masking_key[Nh];
//	  Envelope envelope;    // envelope_nonce[Nn], auth_tag[Nm]
//	} RegistrationRecord;
type RegistrationRecord struct {
	clientPublicKey []byte
	clientPK        group.Element
	maskingKey      []byte
	envelope        []byte // Envelope (Section 4.1.1)
}

// ParseRegistrationRecord parses a RegistrationRecord strictly: its
// client_public_key must be a valid element. The envelope is not
// checked: a fake record's is all zeros (Section 6.3.2.2).
func ParseRegistrationRecord(b []byte) (*RegistrationRecord, error) {
	const name = "RegistrationRecord"
	s, err := parseFixed(b, RegistrationRecordSize, name)
	if err != nil {
		return nil, err
	}
	r := new(RegistrationRecord)
	if err := readElement(&s, name, "client_public_key", &r.clientPublicKey, &r.clientPK); err != nil {
		return nil, err
	}
	s.ReadBytes(&r.maskingKey, Nh)
	s.ReadBytes(&r.envelope, EnvelopeSize)
	return r, nil
}

// Bytes returns the encoded record.
func (r *RegistrationRecord) Bytes() []byte {
	b := make([]byte, 0, RegistrationRecordSize)
	b = append(b, r.clientPublicKey...)
	b = append(b, r.maskingKey...)
	return append(b, r.envelope...)
}

// String keeps the masking key out of logs.
func (r *RegistrationRecord) String() string { return "opaque.RegistrationRecord{REDACTED}" }

// GoString keeps the masking key out of %#v.
func (r *RegistrationRecord) GoString() string { return r.String() }

// wipe zeroes the record's secret.
func (r *RegistrationRecord) wipe() { clear(r.maskingKey) }

// KE1 is KE1 (Section 6.1): a CredentialRequest (Section 6.3.1) and an
// AuthRequest.
//
//	struct {
//	  uint8 blinded_message[Noe];         // CredentialRequest
//	  uint8 client_nonce[Nn];             // AuthRequest
//	  uint8 client_public_keyshare[Npk];
//	} KE1;
type KE1 struct {
	raw                  []byte
	blindedMessage       []byte
	blinded              group.Element
	clientNonce          []byte
	clientPublicKeyshare []byte
	clientKeyshare       group.Element
}

// ParseKE1 parses a KE1 message strictly, validating both elements.
func ParseKE1(b []byte) (*KE1, error) {
	s, err := parseFixed(b, KE1Size, "KE1")
	if err != nil {
		return nil, err
	}
	m := &KE1{raw: []byte(s)}
	if err := readElement(&s, "KE1", "blinded_message", &m.blindedMessage, &m.blinded); err != nil {
		return nil, err
	}
	s.ReadBytes(&m.clientNonce, Nn)
	if err := readElement(&s, "KE1", "client_public_keyshare", &m.clientPublicKeyshare, &m.clientKeyshare); err != nil {
		return nil, err
	}
	return m, nil
}

// Bytes returns the encoded message.
func (m *KE1) Bytes() []byte { return append([]byte(nil), m.raw...) }

// KE2 is KE2 (Section 6.1): a CredentialResponse (Section 6.3.1) and an
// AuthResponse.
//
//	struct {
//	  uint8 evaluated_message[Noe];             // CredentialResponse
//	  uint8 masking_nonce[Nn];
//	  uint8 masked_response[Npk + Nn + Nm];
//	  uint8 server_nonce[Nn];                   // AuthResponse
//	  uint8 server_public_keyshare[Npk];
//	  uint8 server_mac[Nm];
//	} KE2;
type KE2 struct {
	raw                  []byte
	evaluatedMessage     []byte
	evaluated            group.Element
	maskingNonce         []byte
	maskedResponse       []byte
	serverNonce          []byte
	serverPublicKeyshare []byte
	serverKeyshare       group.Element
	serverMAC            []byte
}

// ParseKE2 parses a KE2 message strictly, validating both elements.
func ParseKE2(b []byte) (*KE2, error) {
	s, err := parseFixed(b, KE2Size, "KE2")
	if err != nil {
		return nil, err
	}
	m := &KE2{raw: []byte(s)}
	if err := readElement(&s, "KE2", "evaluated_message", &m.evaluatedMessage, &m.evaluated); err != nil {
		return nil, err
	}
	s.ReadBytes(&m.maskingNonce, Nn)
	s.ReadBytes(&m.maskedResponse, maskedSize)
	s.ReadBytes(&m.serverNonce, Nn)
	if err := readElement(&s, "KE2", "server_public_keyshare", &m.serverPublicKeyshare, &m.serverKeyshare); err != nil {
		return nil, err
	}
	s.ReadBytes(&m.serverMAC, Nm)
	return m, nil
}

// Bytes returns the encoded message.
func (m *KE2) Bytes() []byte { return append([]byte(nil), m.raw...) }

// credentialResponse returns the CredentialResponse part of KE2, which
// the preamble covers.
func (m *KE2) credentialResponse() []byte { return m.raw[:credentialResponseSize] }

// KE3 is KE3 (Section 6.1).
//
//	struct {
//	  uint8 client_mac[Nm];
//	} KE3;
type KE3 struct {
	clientMAC []byte
}

// ParseKE3 parses a KE3 message strictly.
func ParseKE3(b []byte) (*KE3, error) {
	s, err := parseFixed(b, KE3Size, "KE3")
	if err != nil {
		return nil, err
	}
	return &KE3{clientMAC: []byte(s)}, nil
}

// Bytes returns the encoded message.
func (m *KE3) Bytes() []byte { return append([]byte(nil), m.clientMAC...) }
