package ntlm

import (
	"bytes"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// authOnly asks for no signing or sealing: an authentication-only
// context, the zero ClientConfig of the application API.
const authOnly = secpkg.ISCReqConnection

// TestAuthOnlyClientDropsKeyExchange: without signing or sealing our
// client offers no NTLMSSP_NEGOTIATE_KEY_EXCH, and its
// AUTHENTICATE_MESSAGE carries neither the flag nor an
// EncryptedRandomSessionKey even if the CHALLENGE_MESSAGE sets it (flags
// 0xa2888205, as Windows clients send); ExportedSessionKey is then
// KeyExchangeKey on both sides (MS-NLMP 3.1.5.1.2). Samba's acceptors
// refuse KEY_EXCH with a 0-byte key, and gss-ntlmssp 1.2's, which reads
// the flags of its own CHALLENGE_MESSAGE, crashes on it.
func TestAuthOnlyClientDropsKeyExchange(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{isc: authOnly})
	wantStatus(t, r.err(), secpkg.StatusOK)
	var neg negotiateMsg
	if err := neg.unmarshal(r.neg); err != nil || neg.flags&flagKeyExch != 0 {
		t.Fatalf("auth-only NEGOTIATE flags %v, %v", neg.flags, err)
	}
	var am authenticateMsg
	if err := am.unmarshal(r.auth); err != nil {
		t.Fatal(err)
	}
	if am.flags&flagKeyExch != 0 || len(am.encryptedKey) != 0 || am.flags&(flagSign|flagSeal) != 0 {
		t.Fatalf("auth-only AUTHENTICATE flags %v (%#x) with a %d-byte EncryptedRandomSessionKey", am.flags, uint32(am.flags), len(am.encryptedKey))
	}
	kc, err1 := r.cliUser.SessionKey()
	ks, err2 := r.srvUser.SessionKey()
	if err1 != nil || err2 != nil || !bytes.Equal(kc, ks) {
		t.Fatalf("session keys %x %x (%v %v)", kc, ks, err1, err2)
	}
	// KeyExchangeKey = SessionBaseKey for NTLMv2 (MS-NLMP 3.4.5.1).
	nt := ntowfv1([]byte(testPassword))
	rk := ntowfv2(nt[:], testUser, testDomain)
	sbk := hmacMD5(rk[:], am.ntResponse[:ntProofStrSize])
	if !bytes.Equal(kc, sbk[:]) {
		t.Fatalf("session key %x, want SessionBaseKey %x", kc, sbk)
	}
	// A CHALLENGE_MESSAGE that sets KEY_EXCH unasked does not bring it
	// back (the acceptor then sees a CHALLENGE it did not send).
	r = e.handshake(hsOpts{isc: authOnly, editChal: func(b []byte) []byte {
		b[20+3] |= byte(flagKeyExch >> 24) // NegotiateFlags at offset 20
		return b
	}})
	if r.cliErr != nil || r.auth == nil {
		t.Fatal(r.cliErr)
	}
	if err := am.unmarshal(r.auth); err != nil || am.flags&flagKeyExch != 0 || len(am.encryptedKey) != 0 {
		t.Fatalf("AUTHENTICATE flags %v with a %d-byte key after a KEY_EXCH challenge (%v)", am.flags, len(am.encryptedKey), err)
	}
	// With signing the key exchange stays.
	r = e.handshake(hsOpts{isc: secpkg.ISCReqIntegrity})
	wantStatus(t, r.err(), secpkg.StatusOK)
	if err := am.unmarshal(r.auth); err != nil {
		t.Fatal(err)
	}
	if am.flags&flagKeyExch == 0 || len(am.encryptedKey) != 16 {
		t.Fatalf("signing AUTHENTICATE flags %v with a %d-byte EncryptedRandomSessionKey", am.flags, len(am.encryptedKey))
	}
}

// TestAcceptorKeyExchangeWithoutSigning: a client that keeps KEY_EXCH and
// sends a 16-byte EncryptedRandomSessionKey without signing or sealing
// (Samba's client without NTLMSSP_FEATURE_SIGN, gss-ntlmssp) gets the
// session key it chose: the acceptor decrypts the key whenever KEY_EXCH
// is negotiated, as Samba's and gss-ntlmssp's acceptors do. A 0-byte key
// under KEY_EXCH without signing or sealing is the MS-NLMP 3.2.5.1.2
// case, where the key is KeyExchangeKey; any other length fails.
func TestAcceptorKeyExchangeWithoutSigning(t *testing.T) {
	yes, no := true, false
	e := newEnv(t, nil)
	esk := []byte("0123456789abcdef") // the forger's ExportedSessionKey
	// Offer KEY_EXCH without SIGN or SEAL, as Samba's client does.
	offerKeyExch := func(b []byte) []byte {
		b[12+3] |= byte(flagKeyExch >> 24) // NegotiateFlags at offset 12
		return b
	}

	r := e.handshake(hsOpts{isc: authOnly, editNeg: offerKeyExch, forge: forger(t, forgeOpts{exchangeKey: &yes})})
	wantStatus(t, r.err(), secpkg.StatusOK)
	var am authenticateMsg
	if err := am.unmarshal(r.auth); err != nil || am.flags&flagKeyExch == 0 || am.flags&(flagSign|flagSeal) != 0 || len(am.encryptedKey) != 16 {
		t.Fatalf("forged AUTHENTICATE flags %v, key %d bytes, %v", am.flags, len(am.encryptedKey), err)
	}
	if k, err := r.srvUser.SessionKey(); err != nil || !bytes.Equal(k, esk) {
		t.Fatalf("acceptor session key %x, %v; want the client's %x", k, err, esk)
	}

	r = e.handshake(hsOpts{isc: authOnly, editNeg: offerKeyExch, forge: forger(t, forgeOpts{exchangeKey: &no})})
	wantStatus(t, r.err(), secpkg.StatusOK)
	if err := am.unmarshal(r.auth); err != nil || am.flags&flagKeyExch == 0 || len(am.encryptedKey) != 0 {
		t.Fatalf("forged AUTHENTICATE flags %v, key %d bytes, %v", am.flags, len(am.encryptedKey), err)
	}
	nt := ntowfv1([]byte(testPassword))
	rk := ntowfv2(nt[:], testUser, testDomain)
	sbk := hmacMD5(rk[:], am.ntResponse[:ntProofStrSize])
	if k, err := r.srvUser.SessionKey(); err != nil || !bytes.Equal(k, sbk[:]) {
		t.Fatalf("acceptor session key %x, %v; want KeyExchangeKey %x", k, err, sbk)
	}

	// With signing the key is required.
	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{exchangeKey: &no})})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)
	// A key of the wrong length fails with or without signing.
	for _, isc := range []secpkg.ISCFlags{authOnly, defaultISC} {
		r = e.handshake(hsOpts{isc: isc, editNeg: offerKeyExch, forge: forger(t, forgeOpts{exchangeKey: &yes}), editAuth: func(b []byte) []byte {
			return reauth(t, b, func(m *authenticateMsg) { m.encryptedKey = m.encryptedKey[:15] })
		}})
		wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)
	}
}
