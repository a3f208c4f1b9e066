package opaque

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// clientStep is where a Client is in its one run.
type clientStep uint8

const (
	clientNew clientStep = iota
	clientRegistering
	clientLoggingIn
	clientDone
)

// Client is one run of the client role of RFC 9807: either a registration
// (CreateRegistrationRequest, then FinalizeRegistrationRequest) or a login
// (GenerateKE1, then GenerateKE3). It holds the ClientState of Section 6
// (the password and the OPRF blind, and for a login the AKE state of
// Section 6.4) and wipes it when the run ends, successfully or not. A
// Client is not safe for concurrent use and cannot be reused.
type Client struct {
	cfg  Config
	step clientStep
	err  error // a setup error, reported by the first call

	password []byte
	fin      *oprf.FinalizeData
	blind    group.Scalar

	// Login only (ClientAkeState, Section 6.4).
	clientSecret group.Scalar
	ke1          []byte
}

// NewClient returns a client for one registration or one login with the
// configuration cfg (nil means the zero Config).
func NewClient(cfg *Config) *Client {
	c, err := cfg.check()
	return &Client{cfg: c, err: err}
}

// String describes the client without its secrets.
func (c *Client) String() string { return "opaque.Client{REDACTED}" }

// GoString keeps the password out of %#v.
func (c *Client) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secrets.
func (c *Client) LogValue() slog.Value { return slog.StringValue("REDACTED") }

var errClientOrder = errors.New("opaque: client used out of order or again")

// begin moves a new client to step.
func (c *Client) begin(step clientStep) error {
	if c.err != nil {
		return c.err
	}
	if c.step != clientNew {
		return errClientOrder
	}
	c.step = step
	return nil
}

// fail ends the run with err, wiping the state.
func (c *Client) fail(err error) error {
	c.wipe()
	c.err = err
	return err
}

// wipe erases the client state (Section 6: "ephemeral and should be
// erased after the protocol completes").
func (c *Client) wipe() {
	clear(c.password)
	c.password, c.fin = nil, nil
	if c.blind != nil {
		c.blind.SetUint64(0)
		c.blind = nil
	}
	if c.clientSecret != nil {
		c.clientSecret.SetUint64(0)
		c.clientSecret = nil
	}
	c.step = clientDone
}

// blind is Blind (RFC 9497 Section 3.3.1) of the password with a blind
// drawn from the configured randomness: the common first step of
// CreateRegistrationRequest (Section 5.2.1) and CreateCredentialRequest
// (Section 6.3.2.1). It returns blinded_message.
func (c *Client) blindPassword(password []byte) ([]byte, error) {
	c.password = append([]byte(nil), password...)
	blind, err := randomScalar(c.cfg.Rand)
	if err != nil {
		return nil, err
	}
	c.blind = blind
	fin, req, err := oprf.NewClient(suite).DeterministicBlind([][]byte{c.password}, []oprf.Blind{blind})
	if err != nil {
		return nil, fmt.Errorf("opaque: blinding the password: %w", err) // InvalidInputError
	}
	c.fin = fin
	return serializeElement(req.Elements[0]), nil
}

// finalize is Finalize (RFC 9497 Section 3.3.1) followed by the
// stretching of Sections 5.2.3 and 6.3.2.3: it returns
// randomized_password = Extract("", concat(oprf_output,
// Stretch(oprf_output))).
func (c *Client) randomizedPassword(evaluated group.Element, stretch func([]byte) ([]byte, error)) ([]byte, error) {
	out, err := oprf.NewClient(suite).Finalize(c.fin, &oprf.Evaluation{Elements: []oprf.Evaluated{evaluated}})
	if err != nil || len(out) != 1 {
		return nil, fmt.Errorf("opaque: finalizing the OPRF: %v", err)
	}
	oprfOutput := out[0]
	defer clear(oprfOutput)
	stretched, err := stretch(oprfOutput)
	if err != nil {
		return nil, err
	}
	defer clear(stretched)
	return extract(oprfOutput, stretched), nil
}

// CreateRegistrationRequest is CreateRegistrationRequest (RFC 9807
// Section 5.2.1): it blinds the password. It draws the blind from
// Config.Rand.
func (c *Client) CreateRegistrationRequest(password []byte) (*RegistrationRequest, error) {
	if err := c.begin(clientRegistering); err != nil {
		return nil, err
	}
	bm, err := c.blindPassword(password)
	if err != nil {
		return nil, c.fail(err)
	}
	return ParseRegistrationRequest(bm)
}

// FinalizeRegistrationRequest is FinalizeRegistrationRequest (Section
// 5.2.3): it stretches the OPRF output with Config.KSF and returns the
// record to upload and export_key. It draws envelope_nonce from
// Config.Rand. It runs the KSF, which takes as long and as much memory as
// its parameters say.
func (c *Client) FinalizeRegistrationRequest(resp *RegistrationResponse) (record *RegistrationRecord, exportKey []byte, err error) {
	return c.finalizeRegistration(resp, c.cfg.KSF.Stretch)
}

func (c *Client) finalizeRegistration(resp *RegistrationResponse, stretch func([]byte) ([]byte, error)) (record *RegistrationRecord, exportKey []byte, err error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if c.step != clientRegistering || resp == nil {
		return nil, nil, c.fail(errClientOrder)
	}
	defer c.wipe()
	rwd, err := c.randomizedPassword(resp.evaluated, stretch)
	if err != nil {
		return nil, nil, c.fail(err)
	}
	defer clear(rwd)
	envelope, clientPublicKey, maskingKey, exportKey, err := store(c.cfg.Rand, rwd, resp.serverPublicKey, c.cfg.ServerIdentity, c.cfg.ClientIdentity)
	if err != nil {
		return nil, nil, c.fail(err)
	}
	record, err = ParseRegistrationRecord(append(append(clientPublicKey, maskingKey...), envelope...))
	clear(maskingKey)
	if err != nil {
		return nil, nil, c.fail(err)
	}
	return record, exportKey, nil
}

// GenerateKE1 is GenerateKE1 (Section 6.2.1): CreateCredentialRequest
// (Section 6.3.2.1) and AuthClientStart (Section 6.4.3). It draws the
// blind, client_nonce and client_keyshare_seed from Config.Rand, in that
// order.
func (c *Client) GenerateKE1(password []byte) (*KE1, error) {
	if err := c.begin(clientLoggingIn); err != nil {
		return nil, err
	}
	bm, err := c.blindPassword(password)
	if err != nil {
		return nil, c.fail(err)
	}
	nonce, err := randomBytes(c.cfg.Rand, Nn)
	if err != nil {
		return nil, c.fail(err)
	}
	seed, err := randomBytes(c.cfg.Rand, Nseed)
	if err != nil {
		return nil, c.fail(err)
	}
	defer clear(seed)
	sk, pk, err := deriveDiffieHellmanKeyPair(seed)
	if err != nil {
		return nil, c.fail(fmt.Errorf("opaque: deriving the client keyshare: %w", err))
	}
	c.clientSecret = sk
	raw := append(append(bm, nonce...), serializeElement(pk)...)
	ke1, err := ParseKE1(raw)
	if err != nil {
		return nil, c.fail(err)
	}
	c.ke1 = ke1.raw
	return ke1, nil
}

// GenerateKE3 is GenerateKE3 (Section 6.2.3): RecoverCredentials (Section
// 6.3.2.3), which stretches the OPRF output with Config.KSF, then
// AuthClientFinalize (Section 6.4.3), which verifies the server's MAC. It
// returns KE3 for the server, session_key and export_key. A wrong
// password or a server without this client's record gives
// ErrEnvelopeRecovery; a disagreement on the context, the identities or
// any message gives ErrServerAuthentication. Either way nothing is to
// be sent to the server.
func (c *Client) GenerateKE3(ke2 *KE2) (ke3 *KE3, sessionKey, exportKey []byte, err error) {
	return c.generateKE3(ke2, loginInputs{
		context:        c.cfg.Context,
		clientIdentity: c.cfg.ClientIdentity,
		serverIdentity: c.cfg.ServerIdentity,
		stretch:        c.cfg.KSF.Stretch,
	})
}

// loginInputs are what GenerateKE3 takes besides KE2; the security
// package supplies them per login (its context depends on KE2's token,
// its KSF runs under the LSA's limits).
type loginInputs struct {
	context, clientIdentity, serverIdentity []byte
	stretch                                 func([]byte) ([]byte, error)
}

func (c *Client) generateKE3(ke2 *KE2, in loginInputs) (*KE3, []byte, []byte, error) {
	if c.err != nil {
		return nil, nil, nil, c.err
	}
	if c.step != clientLoggingIn || ke2 == nil {
		return nil, nil, nil, c.fail(errClientOrder)
	}
	defer c.wipe()
	clientPrivate, cc, exportKey, err := c.recoverCredentials(ke2, in)
	if err != nil {
		return nil, nil, nil, c.fail(err)
	}
	defer clientPrivate.SetUint64(0)
	ke3, sessionKey, err := c.authClientFinalize(&cc, clientPrivate, ke2, in.context)
	if err != nil {
		clear(exportKey)
		return nil, nil, nil, c.fail(err)
	}
	return ke3, sessionKey, exportKey, nil
}

// recoverCredentials is RecoverCredentials (Section 6.3.2.3).
func (c *Client) recoverCredentials(ke2 *KE2, in loginInputs) (group.Scalar, cleartextCredentials, []byte, error) {
	rwd, err := c.randomizedPassword(ke2.evaluated, in.stretch)
	if err != nil {
		return nil, cleartextCredentials{}, nil, err
	}
	defer clear(rwd)
	maskingKey := expand(rwd, Nh, []byte("MaskingKey"))
	defer clear(maskingKey)
	pad := expand(maskingKey, maskedSize, ke2.maskingNonce, []byte("CredentialResponsePad"))
	unmasked := xorBytes(pad, ke2.maskedResponse)
	defer clear(unmasked)
	serverPublicKey, envelope := unmasked[:Npk], unmasked[Npk:]
	sk, cc, exportKey, err := recoverEnvelope(rwd, serverPublicKey, envelope, in.serverIdentity, in.clientIdentity)
	if err != nil {
		return nil, cleartextCredentials{}, nil, err
	}
	cc.serverPublicKey = append([]byte(nil), cc.serverPublicKey...)
	if len(in.serverIdentity) == 0 {
		cc.serverIdentity = cc.serverPublicKey
	}
	return sk, cc, exportKey, nil
}

// authClientFinalize is AuthClientFinalize (Section 6.4.3).
func (c *Client) authClientFinalize(cc *cleartextCredentials, clientPrivate group.Scalar, ke2 *KE2, context []byte) (*KE3, []byte, error) {
	serverPK, err := deserializeElement(cc.serverPublicKey)
	if err != nil {
		// The envelope authenticated it, so the registration was made
		// with a bad key.
		return nil, nil, invalid("envelope", "server_public_key is %v", err)
	}
	dh1, err1 := diffieHellman(c.clientSecret, ke2.serverKeyshare)
	dh2, err2 := diffieHellman(c.clientSecret, serverPK)
	dh3, err3 := diffieHellman(clientPrivate, ke2.serverKeyshare)
	ikm := concatDH(dh1, dh2, dh3)
	defer clear(ikm)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrServerAuthentication, err)
	}
	pre := preamble(context, cc, c.ke1, ke2.credentialResponse(), ke2.serverNonce, ke2.serverPublicKeyshare)
	keys := deriveKeys(ikm, pre)
	defer keys.wipe()
	th := hash(pre)
	expectedServerMAC := mac(keys.km2, th)
	if !ctEqual(ke2.serverMAC, expectedServerMAC) {
		return nil, nil, ErrServerAuthentication
	}
	clientMAC := mac(keys.km3, hash(pre, expectedServerMAC))
	return &KE3{clientMAC: clientMAC}, append([]byte(nil), keys.sessionKey...), nil
}
