package opaque

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/opensspi/sspi/secpkg"
)

// The security package's own encodings around the RFC 9807 messages
// (doc/opaque.md, "Tokens"). All integers are big-endian, as in the RFC.

// tokenVersion is the first byte of every token and stored structure.
const tokenVersion = 1

// tokenType is the second byte of a token.
type tokenType uint8

// Token types.
const (
	tokenKE1                  tokenType = 0x01 // Initialize leg 1 -> Accept
	tokenKE2                  tokenType = 0x02 // Accept leg 1 -> Initialize
	tokenKE3                  tokenType = 0x03 // Initialize leg 2 -> Accept
	tokenRegistrationRequest  tokenType = 0x11 // client -> LSA
	tokenRegistrationResponse tokenType = 0x12 // LSA -> client
	tokenRegistrationUpload   tokenType = 0x13 // client -> LSA
)

// Per-message services either side asks for in its token (the flags
// byte); the context gives those both sides asked for together.
const (
	wireReplayDetect   uint8 = 0x01
	wireSequenceDetect uint8 = 0x02
	wireKnownFlags           = wireReplayDetect | wireSequenceDetect
)

// maxNameBytes bounds each name in a KE1 token: the target, the domain
// and the user.
const maxNameBytes = 1024

// Token sizes.
const (
	ke1HeaderFixed = 3 + 32                                        // version, type, flags, bindings hash
	maxKE1Token    = ke1HeaderFixed + 3*(2+maxNameBytes) + KE1Size // the largest token: cbMaxToken
	ke2HeaderSize  = 3 + ksfSize
	ke2TokenSize   = ke2HeaderSize + KE2Size
	ke3TokenSize   = 2 + KE3Size
)

// contextLabel starts the RFC 9807 context of every login.
const contextLabel = "OpenSSPI-OPAQUE-v1"

// loginContext is the context of the preamble (RFC 9807 Section
// 6.4.2.1) of a login: the label, then every byte of the KE1 token before
// KE1 and every byte of the KE2 token before KE2. It binds the target
// principal, the client's names, both sides' flags, the channel bindings
// and the KSF into both MACs and the session key.
func loginContext(ke1Header, ke2Header []byte) []byte {
	b := make([]byte, 0, len(contextLabel)+len(ke1Header)+len(ke2Header))
	b = append(b, contextLabel...)
	b = append(b, ke1Header...)
	return append(b, ke2Header...)
}

// errToken is the error of a malformed token: SEC_E_INVALID_TOKEN.
func errToken(format string, args ...any) error {
	return secpkg.Errorf(secpkg.StatusInvalidToken, "opaque: "+format, args...)
}

// readHeader checks the version and type of a token.
func readHeader(s *cryptobyte.String, want tokenType) error {
	var v, t uint8
	if !s.ReadUint8(&v) || !s.ReadUint8(&t) {
		return errToken("token shorter than its header")
	}
	if v != tokenVersion {
		return errToken("token version %d, want %d", v, tokenVersion)
	}
	if tokenType(t) != want {
		return errToken("token type %#x, want %#x", t, want)
	}
	return nil
}

// ke1Token is the first token: Initialize's, answered by Accept.
//
//	version(1) type(1)=0x01 flags(1) bindings(32)
//	target_len(2) target  domain_len(2) domain  user_len(2) user
//	KE1(96)
type ke1Token struct {
	flags          uint8
	bindings       [32]byte // SHA-256 of the channel bindings; zero: none
	target, domain string
	user           string
	ke1            *KE1
	header         []byte // the bytes before KE1
}

func (t *ke1Token) marshal() []byte {
	b := make([]byte, 0, ke1HeaderFixed+6+len(t.target)+len(t.domain)+len(t.user)+KE1Size)
	b = append(b, tokenVersion, byte(tokenKE1), t.flags)
	b = append(b, t.bindings[:]...)
	for _, n := range []string{t.target, t.domain, t.user} {
		b = append(b, i2osp2(len(n))...)
		b = append(b, n...)
	}
	t.header = b[:len(b):len(b)]
	return append(b, t.ke1.raw...)
}

// checkName checks a name of a KE1 token: at most maxNameBytes of UTF-8
// without control characters.
func checkName(what string, b []byte) error {
	if len(b) > maxNameBytes {
		return fmt.Errorf("%s of %d bytes", what, len(b))
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("%s is not UTF-8", what)
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s has a control character", what)
		}
	}
	return nil
}

func parseKE1Token(b []byte) (*ke1Token, error) {
	if len(b) > maxKE1Token {
		return nil, errToken("KE1 token of %d bytes", len(b))
	}
	s := cryptobyte.String(b)
	if err := readHeader(&s, tokenKE1); err != nil {
		return nil, err
	}
	t := new(ke1Token)
	if !s.ReadUint8(&t.flags) || !s.CopyBytes(t.bindings[:]) {
		return nil, errToken("truncated KE1 token")
	}
	if t.flags&^wireKnownFlags != 0 {
		return nil, errToken("KE1 token flags %#x", t.flags)
	}
	names := []*string{&t.target, &t.domain, &t.user}
	for i, what := range []string{"target", "domain", "user"} {
		var v cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&v) {
			return nil, errToken("truncated KE1 token")
		}
		if err := checkName(what, v); err != nil {
			return nil, errToken("KE1 token: %v", err)
		}
		*names[i] = string(v)
	}
	if t.user == "" {
		return nil, errToken("KE1 token without a user name")
	}
	t.header = append([]byte(nil), b[:len(b)-len(s)]...)
	ke1, err := ParseKE1(s)
	if err != nil {
		return nil, errToken("%v", err)
	}
	t.ke1 = ke1
	return t, nil
}

// ke2Token is the second token: Accept's answer to KE1.
//
//	version(1) type(1)=0x02 flags(1) KSF(10) KE2(320)
type ke2Token struct {
	flags  uint8
	ksf    KSF
	ke2    *KE2
	header []byte
}

func (t *ke2Token) marshal() []byte {
	b := make([]byte, 0, ke2TokenSize)
	b = append(b, tokenVersion, byte(tokenKE2), t.flags)
	b = appendKSF(b, t.ksf)
	t.header = b[:len(b):len(b)]
	return append(b, t.ke2.raw...)
}

// parseKE2Token parses the second token. A KSF that does not parse is
// SEC_E_INVALID_TOKEN; policy on a valid one is the caller's.
func parseKE2Token(b []byte) (*ke2Token, error) {
	if len(b) != ke2TokenSize {
		return nil, errToken("KE2 token of %d bytes, want %d", len(b), ke2TokenSize)
	}
	s := cryptobyte.String(b)
	if err := readHeader(&s, tokenKE2); err != nil {
		return nil, err
	}
	t := new(ke2Token)
	var k []byte
	s.ReadUint8(&t.flags)
	s.ReadBytes(&k, ksfSize)
	if t.flags&^wireKnownFlags != 0 {
		return nil, errToken("KE2 token flags %#x", t.flags)
	}
	ksf, err := parseKSF(k)
	if err != nil {
		return nil, errToken("KE2 token: %v", err)
	}
	t.ksf = ksf
	t.header = append([]byte(nil), b[:ke2HeaderSize]...)
	if t.ke2, err = ParseKE2(s); err != nil {
		return nil, errToken("%v", err)
	}
	return t, nil
}

// ke3Token is the third token: version(1) type(1)=0x03 KE3(64).
func marshalKE3Token(ke3 *KE3) []byte {
	return append([]byte{tokenVersion, byte(tokenKE3)}, ke3.clientMAC...)
}

func parseKE3Token(b []byte) (*KE3, error) {
	if len(b) != ke3TokenSize {
		return nil, errToken("KE3 token of %d bytes, want %d", len(b), ke3TokenSize)
	}
	s := cryptobyte.String(b)
	if err := readHeader(&s, tokenKE3); err != nil {
		return nil, err
	}
	ke3, err := ParseKE3(s)
	if err != nil {
		return nil, errToken("%v", err)
	}
	return ke3, nil
}

// storedRecord is the account store's verifier for OPAQUE: the record
// with what a login needs besides it (doc/opaque.md, "Stored record").
//
//	version(1)=1 KSF(10) server_public_key(32)
//	credential_identifier_len(2) credential_identifier
//	RegistrationRecord(192)
type storedRecord struct {
	ksf                  KSF
	serverPublicKey      []byte
	credentialIdentifier []byte
	record               *RegistrationRecord
}

// maxCredentialIdentifier bounds credential_identifier in a stored
// record.
const maxCredentialIdentifier = 4096

func (r *storedRecord) marshal() []byte {
	b := make([]byte, 0, 1+ksfSize+Npk+2+len(r.credentialIdentifier)+RegistrationRecordSize)
	b = append(b, tokenVersion)
	b = appendKSF(b, r.ksf)
	b = append(b, r.serverPublicKey...)
	b = append(b, i2osp2(len(r.credentialIdentifier))...)
	b = append(b, r.credentialIdentifier...)
	return append(b, r.record.Bytes()...)
}

var errStoredRecord = errors.New("opaque: malformed stored record")

func parseStoredRecord(b []byte) (*storedRecord, error) {
	s := cryptobyte.String(b)
	var v uint8
	var k, pk []byte
	var cid cryptobyte.String
	if !s.ReadUint8(&v) || v != tokenVersion || !s.ReadBytes(&k, ksfSize) || !s.ReadBytes(&pk, Npk) ||
		!s.ReadUint16LengthPrefixed(&cid) || len(cid) == 0 || len(cid) > maxCredentialIdentifier ||
		len(s) != RegistrationRecordSize {
		return nil, errStoredRecord
	}
	ksf, err := parseKSF(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStoredRecord, err)
	}
	rec, err := ParseRegistrationRecord(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStoredRecord, err)
	}
	return &storedRecord{
		ksf:                  ksf,
		serverPublicKey:      append([]byte(nil), pk...),
		credentialIdentifier: append([]byte(nil), cid...),
		record:               rec,
	}, nil
}

// Registration tokens between the client (the CLI) and the LSA:
//
//	request:  version(1) type(1)=0x11 RegistrationRequest(32)
//	response: version(1) type(1)=0x12 KSF(10) RegistrationResponse(64)
//	upload:   version(1) type(1)=0x13 KSF(10) RegistrationRecord(192)
//
// The response's KSF is the one the LSA asks for; the upload's is the one
// the client used.
const (
	registrationRequestTokenSize  = 2 + RegistrationRequestSize
	registrationResponseTokenSize = 2 + ksfSize + RegistrationResponseSize
	registrationUploadTokenSize   = 2 + ksfSize + RegistrationRecordSize
)

func parseRegistrationToken(b []byte, want tokenType) (KSF, cryptobyte.String, error) {
	size := map[tokenType]int{
		tokenRegistrationRequest:  registrationRequestTokenSize,
		tokenRegistrationResponse: registrationResponseTokenSize,
		tokenRegistrationUpload:   registrationUploadTokenSize,
	}[want]
	if len(b) != size {
		return KSF{}, nil, errToken("registration token of %d bytes, want %d", len(b), size)
	}
	s := cryptobyte.String(b)
	if err := readHeader(&s, want); err != nil {
		return KSF{}, nil, err
	}
	if want == tokenRegistrationRequest {
		return KSF{}, s, nil
	}
	var k []byte
	s.ReadBytes(&k, ksfSize)
	ksf, err := parseKSF(k)
	if err != nil {
		return KSF{}, nil, errToken("registration token: %v", err)
	}
	return ksf, s, nil
}
