package opaque

import (
	"errors"
	"fmt"
	"log/slog"
)

// Server is the server role of RFC 9807 with a long-term setup and a
// configuration. It keeps no per-client state: GenerateKE2 returns a
// [ServerLogin] for that. A Server is safe for concurrent use.
//
// Config.ClientIdentity names the client, so a server that uses client
// identities makes one Server per client (a Server is two pointers).
// Config.KSF is the client's business and is not used here.
type Server struct {
	cfg   Config
	setup *ServerSetup
	err   error
}

// NewServer returns a server with the setup and the configuration cfg
// (nil means the zero Config).
func NewServer(cfg *Config, setup *ServerSetup) *Server {
	c, err := cfg.check()
	if err == nil && setup == nil {
		err = errors.New("opaque: server without a setup")
	}
	return &Server{cfg: c, setup: setup, err: err}
}

// CreateRegistrationResponse is CreateRegistrationResponse (RFC 9807
// Section 5.2.2): it evaluates the OPRF under the key derived from
// oprf_seed and credential_identifier, which must be unique to the
// client and the same at every later login (Section 8).
func (s *Server) CreateRegistrationResponse(req *RegistrationRequest, credentialIdentifier []byte) (*RegistrationResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	if req == nil {
		return nil, errors.New("opaque: no registration request")
	}
	ev, err := s.setup.blindEvaluate(req.blinded, credentialIdentifier)
	if err != nil {
		return nil, err
	}
	return ParseRegistrationResponse(append(ev, s.setup.publicKey...))
}

// ServerLogin is the server's state between KE2 and KE3 (ServerState and
// ServerAkeState, Section 6.4): the expected client MAC and the session
// key. It is used once and redacts itself.
type ServerLogin struct {
	expectedClientMAC []byte
	sessionKey        []byte
	done              bool
}

// String describes the state without its secrets.
func (l *ServerLogin) String() string { return "opaque.ServerLogin{REDACTED}" }

// GoString keeps the secrets out of %#v.
func (l *ServerLogin) GoString() string { return l.String() }

// LogValue implements slog.LogValuer without the secrets.
func (l *ServerLogin) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// GenerateKE2 is GenerateKE2 (Section 6.2.2): CreateCredentialResponse
// (Section 6.3.2.2) and AuthServerRespond (Section 6.4.4). It draws
// masking_nonce, server_nonce and server_keyshare_seed from Config.Rand,
// in that order.
//
// record is the client's RegistrationRecord, or nil when the server has
// none: the server then answers with a fake record derived from its setup
// and credential_identifier (Section 6.3.2.2), at the same cost and with
// the same sizes, so that the reply does not tell an unregistered client
// from a registered one (Section 10.9). The client then fails at KE2.
func (s *Server) GenerateKE2(ke1 *KE1, record *RegistrationRecord, credentialIdentifier []byte) (*ServerLogin, *KE2, error) {
	if s.err != nil {
		return nil, nil, s.err
	}
	if ke1 == nil {
		return nil, nil, errors.New("opaque: no KE1")
	}
	return s.generateKE2(ke1, record, credentialIdentifier, s.cfg.Context)
}

func (s *Server) generateKE2(ke1 *KE1, record *RegistrationRecord, credentialIdentifier, context []byte) (*ServerLogin, *KE2, error) {
	// Both records are always at hand, and one is chosen without a
	// secret-dependent branch (Section 9.1).
	fake := s.setup.fakeRecord(credentialIdentifier)
	rec := selectRecord(record, fake)
	fake.wipe()
	defer rec.wipe()

	credentialResponse, err := s.createCredentialResponse(ke1, rec, credentialIdentifier)
	if err != nil {
		return nil, nil, err
	}
	cc := createCleartextCredentials(s.setup.publicKey, rec.clientPublicKey, s.cfg.ServerIdentity, s.cfg.ClientIdentity)
	login, authResponse, err := s.authServerRespond(&cc, rec, ke1, credentialResponse, context)
	if err != nil {
		return nil, nil, err
	}
	ke2, err := ParseKE2(append(credentialResponse, authResponse...))
	if err != nil {
		login.wipe()
		return nil, nil, err
	}
	return login, ke2, nil
}

// createCredentialResponse is CreateCredentialResponse (Section 6.3.2.2).
func (s *Server) createCredentialResponse(ke1 *KE1, rec *RegistrationRecord, credentialIdentifier []byte) ([]byte, error) {
	evaluated, err := s.setup.blindEvaluate(ke1.blinded, credentialIdentifier)
	if err != nil {
		return nil, err
	}
	maskingNonce, err := randomBytes(s.cfg.Rand, Nn)
	if err != nil {
		return nil, err
	}
	pad := expand(rec.maskingKey, maskedSize, maskingNonce, []byte("CredentialResponsePad"))
	defer clear(pad)
	plain := append(append(make([]byte, 0, maskedSize), s.setup.publicKey...), rec.envelope...)
	masked := xorBytes(pad, plain)
	out := make([]byte, 0, credentialResponseSize)
	out = append(out, evaluated...)
	out = append(out, maskingNonce...)
	return append(out, masked...), nil
}

// authServerRespond is AuthServerRespond (Section 6.4.4).
func (s *Server) authServerRespond(cc *cleartextCredentials, rec *RegistrationRecord, ke1 *KE1, credentialResponse, context []byte) (*ServerLogin, []byte, error) {
	serverNonce, err := randomBytes(s.cfg.Rand, Nn)
	if err != nil {
		return nil, nil, err
	}
	seed, err := randomBytes(s.cfg.Rand, Nseed)
	if err != nil {
		return nil, nil, err
	}
	defer clear(seed)
	eSK, ePK, err := deriveDiffieHellmanKeyPair(seed)
	if err != nil {
		return nil, nil, fmt.Errorf("opaque: deriving the server keyshare: %w", err)
	}
	defer eSK.SetUint64(0)
	serverPublicKeyshare := serializeElement(ePK)
	pre := preamble(context, cc, ke1.raw, credentialResponse, serverNonce, serverPublicKeyshare)

	dh1, err1 := diffieHellman(eSK, ke1.clientKeyshare)
	dh2, err2 := diffieHellman(s.setup.privateKey, ke1.clientKeyshare)
	dh3, err3 := diffieHellman(eSK, rec.clientPK)
	ikm := concatDH(dh1, dh2, dh3)
	defer clear(ikm)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	keys := deriveKeys(ikm, pre)
	defer keys.wipe()
	th := hash(pre)
	serverMAC := mac(keys.km2, th)
	login := &ServerLogin{
		expectedClientMAC: mac(keys.km3, hash(pre, serverMAC)),
		sessionKey:        append([]byte(nil), keys.sessionKey...),
	}
	out := make([]byte, 0, authResponseSize)
	out = append(out, serverNonce...)
	out = append(out, serverPublicKeyshare...)
	return login, append(out, serverMAC...), nil
}

// ServerFinish is ServerFinish (Section 6.2.4), AuthServerFinalize
// (Section 6.4.4): it returns session_key if and only if KE3's client_mac
// verifies, and ErrClientAuthentication otherwise. The state is wiped
// either way; a second call fails.
func (l *ServerLogin) ServerFinish(ke3 *KE3) (sessionKey []byte, err error) {
	if l == nil || l.done || ke3 == nil {
		return nil, errors.New("opaque: ServerFinish without a login in progress")
	}
	defer l.wipe()
	if !ctEqual(ke3.clientMAC, l.expectedClientMAC) {
		return nil, ErrClientAuthentication
	}
	return append([]byte(nil), l.sessionKey...), nil
}

func (l *ServerLogin) wipe() {
	clear(l.expectedClientMAC)
	clear(l.sessionKey)
	l.done = true
}
