package ntlm

import (
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// forgeOpts builds an AUTHENTICATE_MESSAGE the way a client that knows the
// password would, with knobs a well-behaved client never turns: a test can
// then give the acceptor a response that is valid except for one thing.
type forgeOpts struct {
	user, domain, password string
	timestamp              *uint64               // TimeStamp of the blob; default: the server's
	editPairs              func(avPairs) avPairs // after the client pairs are added
	flags                  func(negotiateFlags) negotiateFlags
	noMIC                  bool   // omit the MIC field
	micFlag                *bool  // MsvAvFlags 0x2; default true
	kind                   string // "v2" (default), "v1", "v1ess", "lmv2", "lmv1", "anonymous"
	clientChallenge        []byte
	// oem sends the names in the OEM character set (NTLM_NEGOTIATE_OEM
	// instead of NTLMSSP_NEGOTIATE_UNICODE); rawUser, if set, is the
	// UserName field as sent (the response still uses user).
	oem     bool
	rawUser []byte
	// exchangeKey says when the AUTHENTICATE_MESSAGE carries an
	// EncryptedRandomSessionKey: by default under KEY_EXCH with sign or
	// seal; true: whenever KEY_EXCH is set (Samba's and python
	// ntlm-auth's clients); false: never.
	exchangeKey *bool
}

func forger(t testing.TB, o forgeOpts) func(neg, chal []byte) []byte {
	return func(neg, chal []byte) []byte { return forgeAuth(t, neg, chal, o) }
}

func forgeAuth(t testing.TB, negRaw, chalRaw []byte, o forgeOpts) []byte {
	t.Helper()
	if o.user == "" && o.kind != "anonymous" {
		o.user, o.domain, o.password = testUser, testDomain, testPassword
	}
	var neg negotiateMsg
	var chal challengeMsg
	if err := neg.unmarshal(negRaw); err != nil {
		t.Fatal(err)
	}
	if err := chal.unmarshal(chalRaw); err != nil {
		t.Fatal(err)
	}
	flags := neg.flags&chal.flags&sessionSecurityFlags | flagUnicode | flagNTLM | flagVersion
	encode := encodeUTF16
	if o.oem {
		flags = flags&^flagUnicode | flagOEM
		encode = func(s string) []byte { return []byte(s) } // ASCII
	}
	if o.kind == "v1" {
		flags &^= flagExtendedSessionSecurity
	}
	if o.flags != nil {
		flags = o.flags(flags)
	}
	cc := o.clientChallenge
	if cc == nil {
		cc = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	}
	nt := ntowfv1([]byte(o.password))
	sc := chal.serverChallenge[:]
	m := authenticateMsg{
		domain: encode(o.domain), user: encode(o.user), workstation: encode("FORGER"),
		flags: flags, version: ourVersion.marshal(),
	}
	if o.rawUser != nil {
		m.user = o.rawUser
	}
	var kx [16]byte
	switch o.kind {
	case "", "v2":
		pairs := append(avPairs(nil), chal.avPairs...)
		ts, _ := pairs.timestamp()
		if o.timestamp != nil {
			ts = *o.timestamp
		}
		micFlag := o.micFlag == nil || *o.micFlag
		var fl uint32
		if micFlag {
			fl = avFlagMICPresent
		}
		pairs = pairs.set(avFlags, le32(fl))
		pairs = pairs.set(avChannelBindings, make([]byte, 16))
		pairs = pairs.set(avTargetName, encodeUTF16(testSPN))
		if o.editPairs != nil {
			pairs = o.editPairs(pairs)
		}
		blob := ntlmv2ClientChallenge{timestamp: ts, avPairs: pairs}
		copy(blob.clientChallenge[:], cc)
		key := ntowfv2(nt[:], o.user, o.domain)
		_, sbk, resp := ntlmv2Response(key[:], sc, blob.marshal())
		m.ntResponse = resp
		kx = sbk
	case "v1":
		m.ntResponse = ntlmv1Response(nt[:], sc, nil)
		m.lmResponse = append([]byte(nil), m.ntResponse...)
		sbk := ntlmv1SessionBaseKey(nt[:])
		kx = kxkeyV1(flags, sbk[:], m.lmResponse, sc, nil)
	case "v1ess":
		m.lmResponse = append(append([]byte(nil), cc...), make([]byte, 16)...)
		m.ntResponse = ntlmv1Response(nt[:], sc, cc)
		sbk := ntlmv1SessionBaseKey(nt[:])
		kx = kxkeyV1(flags, sbk[:], m.lmResponse, sc, nil)
	case "lmv2":
		key := ntowfv2(nt[:], o.user, o.domain)
		m.lmResponse = lmv2Response(key[:], sc, cc)
	case "lmv1":
		lm := lmowfv1(o.password)
		m.lmResponse = desl(lm[:], sc)
	case "anonymous":
		m.lmResponse = []byte{0}
	default:
		t.Fatalf("unknown kind %q", o.kind)
	}
	esk := kx[:]
	exchange := flags&flagKeyExch != 0 && flags&(flagSign|flagSeal) != 0
	if o.exchangeKey != nil {
		exchange = *o.exchangeKey && flags&flagKeyExch != 0
	}
	if exchange && o.kind != "anonymous" {
		esk = []byte("0123456789abcdef")
		m.encryptedKey = rc4k(kx[:], esk)
	}
	if !o.noMIC {
		m.mic = make([]byte, micSize)
	}
	raw, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !o.noMIC {
		mic := computeMIC(esk, negRaw, chalRaw, raw)
		copy(raw[micOffset:], mic[:])
	}
	return raw
}

// Check the forger against the real client: a forged default
// AUTHENTICATE_MESSAGE is accepted.
func TestForgerIsFaithful(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{forge: forger(t, forgeOpts{})})
	wantStatus(t, r.err(), secpkg.StatusOK)
}
