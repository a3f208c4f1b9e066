package opaque

import (
	"io"

	"github.com/cloudflare/circl/group"
)

// cleartextCredentials is CleartextCredentials (RFC 9807 Section 4):
//
//	struct {
//	  uint8 server_public_key[Npk];
//	  uint8 server_identity<1..2^16-1>;
//	  uint8 client_identity<1..2^16-1>;
//	} CleartextCredentials;
type cleartextCredentials struct {
	serverPublicKey []byte
	serverIdentity  []byte
	clientIdentity  []byte
}

// createCleartextCredentials is CreateCleartextCredentials (Section 4):
// an absent (empty) identity is the party's public key.
func createCleartextCredentials(serverPublicKey, clientPublicKey, serverIdentity, clientIdentity []byte) cleartextCredentials {
	if len(serverIdentity) == 0 {
		serverIdentity = serverPublicKey
	}
	if len(clientIdentity) == 0 {
		clientIdentity = clientPublicKey
	}
	return cleartextCredentials{serverPublicKey, serverIdentity, clientIdentity}
}

// bytes is the structure's encoding.
func (c *cleartextCredentials) bytes() []byte {
	b := make([]byte, 0, Npk+4+len(c.serverIdentity)+len(c.clientIdentity))
	b = append(b, c.serverPublicKey...)
	b = append(b, i2osp2(len(c.serverIdentity))...)
	b = append(b, c.serverIdentity...)
	b = append(b, i2osp2(len(c.clientIdentity))...)
	return append(b, c.clientIdentity...)
}

// envelopeKeys are the keys Store and Recover expand from
// randomized_password and envelope_nonce (Sections 4.1.2, 4.1.3).
type envelopeKeys struct {
	authKey, exportKey []byte
	clientPrivate      group.Scalar
	clientPublicKey    []byte
}

func (k *envelopeKeys) wipe() {
	clear(k.authKey)
	clear(k.exportKey)
	if k.clientPrivate != nil {
		k.clientPrivate.SetUint64(0)
	}
}

func deriveEnvelopeKeys(randomizedPassword, nonce []byte) (*envelopeKeys, error) {
	k := &envelopeKeys{
		authKey:   expand(randomizedPassword, Nh, nonce, []byte("AuthKey")),
		exportKey: expand(randomizedPassword, Nh, nonce, []byte("ExportKey")),
	}
	seed := expand(randomizedPassword, Nseed, nonce, []byte("PrivateKey"))
	defer clear(seed)
	sk, pk, err := deriveDiffieHellmanKeyPair(seed)
	if err != nil {
		k.wipe()
		return nil, err
	}
	k.clientPrivate, k.clientPublicKey = sk, serializeElement(pk)
	return k, nil
}

// store is Store (Section 4.1.2). It returns the envelope,
// client_public_key, masking_key and export_key.
func store(r io.Reader, randomizedPassword, serverPublicKey, serverIdentity, clientIdentity []byte) (envelope, clientPublicKey, maskingKey, exportKey []byte, err error) {
	nonce, err := randomBytes(r, Nn)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	maskingKey = expand(randomizedPassword, Nh, []byte("MaskingKey"))
	k, err := deriveEnvelopeKeys(randomizedPassword, nonce)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer k.wipe()
	cc := createCleartextCredentials(serverPublicKey, k.clientPublicKey, serverIdentity, clientIdentity)
	tag := mac(k.authKey, nonce, cc.bytes())
	return append(nonce, tag...), k.clientPublicKey, maskingKey, append([]byte(nil), k.exportKey...), nil
}

// recoverEnvelope is Recover (Section 4.1.3). On ErrEnvelopeRecovery
// every intermediate value has been wiped.
func recoverEnvelope(randomizedPassword, serverPublicKey, envelope, serverIdentity, clientIdentity []byte) (clientPrivate group.Scalar, cc cleartextCredentials, exportKey []byte, err error) {
	nonce, authTag := envelope[:Nn], envelope[Nn:]
	k, err := deriveEnvelopeKeys(randomizedPassword, nonce)
	if err != nil {
		return nil, cc, nil, err
	}
	cc = createCleartextCredentials(serverPublicKey, k.clientPublicKey, serverIdentity, clientIdentity)
	expected := mac(k.authKey, nonce, cc.bytes())
	defer clear(expected)
	if !ctEqual(authTag, expected) {
		k.wipe()
		return nil, cleartextCredentials{}, nil, ErrEnvelopeRecovery
	}
	clear(k.authKey)
	return k.clientPrivate, cc, k.exportKey, nil
}
