package opaque

// preamble is Preamble (RFC 9807 Section 6.4.2.1), the transcript both
// MACs and the session key cover:
//
//	concat("OPAQUEv1-", I2OSP(len(context), 2), context,
//	       I2OSP(len(client_identity), 2), client_identity,
//	       ke1,
//	       I2OSP(len(server_identity), 2), server_identity,
//	       credential_response, server_nonce, server_public_keyshare)
func preamble(context []byte, cc *cleartextCredentials, ke1, credentialResponse, serverNonce, serverPublicKeyshare []byte) []byte {
	b := make([]byte, 0, len(labelPreamble)+6+len(context)+len(cc.clientIdentity)+len(cc.serverIdentity)+KE1Size+credentialResponseSize+Nn+Npk)
	b = append(b, labelPreamble...)
	b = append(b, i2osp2(len(context))...)
	b = append(b, context...)
	b = append(b, i2osp2(len(cc.clientIdentity))...)
	b = append(b, cc.clientIdentity...)
	b = append(b, ke1...)
	b = append(b, i2osp2(len(cc.serverIdentity))...)
	b = append(b, cc.serverIdentity...)
	b = append(b, credentialResponse...)
	b = append(b, serverNonce...)
	return append(b, serverPublicKeyshare...)
}

// akeKeys are the outputs of DeriveKeys (Section 6.4.2.2).
type akeKeys struct {
	km2, km3, sessionKey []byte
}

func (k *akeKeys) wipe() {
	clear(k.km2)
	clear(k.km3)
	clear(k.sessionKey)
}

// deriveKeys is DeriveKeys (Section 6.4.2.2).
func deriveKeys(ikm, preamble []byte) *akeKeys {
	prk := extract(ikm)
	defer clear(prk)
	th := hash(preamble)
	handshakeSecret := deriveSecret(prk, "HandshakeSecret", th)
	defer clear(handshakeSecret)
	return &akeKeys{
		sessionKey: deriveSecret(prk, "SessionKey", th),
		km2:        deriveSecret(handshakeSecret, "ServerMAC", nil),
		km3:        deriveSecret(handshakeSecret, "ClientMAC", nil),
	}
}

// concatDH concatenates dh1, dh2 and dh3 into ikm and wipes them.
func concatDH(dh ...[]byte) []byte {
	var ikm []byte
	for _, d := range dh {
		ikm = append(ikm, d...)
		clear(d)
	}
	return ikm
}
