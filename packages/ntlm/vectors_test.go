package ntlm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// The MS-NLMP section 4.2 examples, as data (testdata/ms-nlmp-4.2.json,
// transcribed from the specification's hexadecimal dumps).

type vectorValue struct {
	Hex        string `json:"hex"`
	Text       string `json:"text"`
	UnicodeHex string `json:"unicode_hex"`
}

type vectorSection struct {
	ChallengeFlags struct {
		Hex string `json:"hex"`
	} `json:"challenge_flags"`
	AVPairs      map[string]vectorValue `json:"av_pairs"`
	Calculations map[string]vectorValue `json:"calculations"`
	Results      map[string]vectorValue `json:"results"`
	Messages     map[string]vectorValue `json:"messages"`
	GSSWrapEx    map[string]vectorValue `json:"gss_wrapex"`
	Derived      map[string]vectorValue `json:"derived"`
}

type vectorFile struct {
	Common struct {
		Values map[string]vectorValue `json:"values"`
	} `json:"4.2.1"`
	V1    vectorSection `json:"4.2.2"`
	V1ESS vectorSection `json:"4.2.3"`
	V2    vectorSection `json:"4.2.4"`
}

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/ms-nlmp-4.2.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// h decodes the hex of a named value, failing the test if it is missing.
func h(t testing.TB, m map[string]vectorValue, name string) []byte {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Fatalf("vector %q missing", name)
	}
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatalf("vector %q: %v", name, err)
	}
	return b
}

func eq(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

type common struct {
	user, domain, password, workstation string
	randomSessionKey, clientChallenge   []byte
	serverChallenge, time               []byte
}

func commonValues(t *testing.T, v *vectorFile) common {
	c := v.Common.Values
	return common{
		user: c["User"].Text, domain: c["UserDom"].Text, password: c["Passwd"].Text,
		workstation:      c["WorkstationName"].Text,
		randomSessionKey: h(t, c, "RandomSessionKey"), clientChallenge: h(t, c, "ClientChallenge"),
		serverChallenge: h(t, c, "ServerChallenge"), time: h(t, c, "Time"),
	}
}

// TestVectorsNTLMv1 checks MS-NLMP 4.2.2: NTLMv1 responses and keys, and
// the GSS_WrapEx result of session security without extended session
// security. None of these are reachable without an Insecure… option.
func TestVectorsNTLMv1(t *testing.T) {
	v := loadVectors(t)
	c := commonValues(t, v)
	s := v.V1
	lm := lmowfv1(c.password)
	nt := ntowfv1([]byte(c.password))
	eq(t, "LMOWFv1", lm[:], h(t, s.Calculations, "LMOWFv1"))
	eq(t, "NTOWFv1", nt[:], h(t, s.Calculations, "NTOWFv1"))
	sbk := ntlmv1SessionBaseKey(nt[:])
	eq(t, "SessionBaseKey", sbk[:], h(t, s.Calculations, "SessionBaseKey"))
	ntResp := ntlmv1Response(nt[:], c.serverChallenge, nil)
	eq(t, "NTLMv1 response", ntResp, h(t, s.Results, "NtChallengeResponse"))
	lmResp := desl(lm[:], c.serverChallenge)
	eq(t, "LMv1 response", lmResp, h(t, s.Results, "LmChallengeResponse"))

	flags := negotiateFlags(0xe2028233)
	kx := kxkeyV1(flags, sbk[:], lmResp, c.serverChallenge, lm[:])
	eq(t, "KeyExchangeKey", kx[:], h(t, s.Derived, "KeyExchangeKey"))
	kxLM := kxkeyV1(flags|flagLMKey, sbk[:], lmResp, c.serverChallenge, lm[:])
	eq(t, "KeyExchangeKey LM_KEY", kxLM[:], h(t, s.Results, "KeyExchangeKey_NEGOTIATE_LM_KEY"))
	kxNonNT := kxkeyV1(flags|flagRequestNonNTSessionKey, sbk[:], lmResp, c.serverChallenge, lm[:])
	eq(t, "KeyExchangeKey NON_NT_SESSION_KEY", kxNonNT[:], h(t, s.Derived, "KeyExchangeKey_REQUEST_NON_NT_SESSION_KEY"))
	eq(t, "EncryptedRandomSessionKey", rc4k(kx[:], c.randomSessionKey), h(t, s.Results, "EncryptedRandomSessionKey"))
	eq(t, "EncryptedRandomSessionKey NON_NT", rc4k(kxNonNT[:], c.randomSessionKey), h(t, s.Results, "EncryptedRandomSessionKey_REQUEST_NON_NT_SESSION_KEY"))
	eq(t, "EncryptedRandomSessionKey LM_KEY", rc4k(kxLM[:], c.randomSessionKey), h(t, s.Results, "EncryptedRandomSessionKey_NEGOTIATE_LM_KEY"))
	eq(t, "SealingKey", sealKey(flags, c.randomSessionKey, true), h(t, s.Derived, "SealingKey"))

	// 4.2.2.4: one RC4 handle keyed with the exported session key seals
	// the data, then RandomPad, CRC32 and SeqNum.
	ss := newSessionSecurity(flags, c.randomSessionKey, true, false)
	data := h(t, s.GSSWrapEx, "Plaintext")
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: data}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := ss.sign(msg, 0, true); err != nil {
		t.Fatal(err)
	}
	eq(t, "sealed data", msg[0].Data, h(t, s.GSSWrapEx, "SealedData"))
	eq(t, "signature", msg[1].Data, h(t, s.Derived, "Signature_RandomPad_zeroed"))

	// Without extended session security the two directions share one
	// handle (half duplex), so a fresh peer context unseals it.
	peer := newSessionSecurity(flags, c.randomSessionKey, false, false)
	if err := peer.verify(msg, 0, true); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	eq(t, "unsealed", msg[0].Data, h(t, s.GSSWrapEx, "Plaintext"))

	checkMessages(t, s, c)
}

// TestVectorsNTLMv1ESS checks MS-NLMP 4.2.3: NTLMv1 with client
// challenge (extended session security, 56-bit, no key exchange).
func TestVectorsNTLMv1ESS(t *testing.T) {
	v := loadVectors(t)
	c := commonValues(t, v)
	s := v.V1ESS
	nt := ntowfv1([]byte(c.password))
	eq(t, "NTOWFv1", nt[:], h(t, s.Calculations, "NTOWFv1"))
	sbk := ntlmv1SessionBaseKey(nt[:])
	eq(t, "SessionBaseKey", sbk[:], h(t, s.Calculations, "SessionBaseKey"))
	lmResp := append(append([]byte(nil), c.clientChallenge...), make([]byte, 16)...)
	eq(t, "LMv1 response", lmResp, h(t, s.Results, "LmChallengeResponse"))
	ntResp := ntlmv1Response(nt[:], c.serverChallenge, c.clientChallenge)
	eq(t, "NTLMv1 response", ntResp, h(t, s.Results, "NtChallengeResponse"))
	flags := negotiateFlags(0x820a8233)
	kx := kxkeyV1(flags, sbk[:], lmResp, c.serverChallenge, nil)
	eq(t, "KeyExchangeKey", kx[:], h(t, s.Calculations, "KeyExchangeKey"))
	eq(t, "client SealingKey", sealKey(flags, kx[:], true), h(t, s.GSSWrapEx, "SealingKey"))
	eq(t, "client SigningKey", signKey(flags, kx[:], true), h(t, s.GSSWrapEx, "SigningKey"))
	eq(t, "server SealingKey", sealKey(flags, kx[:], false), h(t, s.Derived, "ServerSealingKey"))
	eq(t, "server SigningKey", signKey(flags, kx[:], false), h(t, s.Derived, "ServerSigningKey"))

	ss := newSessionSecurity(flags, kx[:], true, false)
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: h(t, s.GSSWrapEx, "Plaintext")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := ss.sign(msg, 0, true); err != nil {
		t.Fatal(err)
	}
	eq(t, "sealed data", msg[0].Data, h(t, s.GSSWrapEx, "SealedData"))
	eq(t, "signature", msg[1].Data, h(t, s.GSSWrapEx, "Signature"))
	peer := newSessionSecurity(flags, kx[:], false, false)
	if err := peer.verify(msg, 0, true); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	eq(t, "unsealed", msg[0].Data, h(t, s.GSSWrapEx, "Plaintext"))

	checkMessages(t, s, c)
}

// TestVectorsNTLMv2 checks MS-NLMP 4.2.4: NTLMv2 responses, keys, both
// messages byte for byte, and the GSS_WrapEx result.
func TestVectorsNTLMv2(t *testing.T) {
	v := loadVectors(t)
	c := commonValues(t, v)
	s := v.V2
	nt := ntowfv1([]byte(c.password))
	key := ntowfv2(nt[:], c.user, c.domain)
	eq(t, "NTOWFv2", key[:], h(t, s.Calculations, "NTOWFv2"))
	eq(t, "LMOWFv2", key[:], h(t, s.Calculations, "LMOWFv2"))

	info := avPairs{
		{avNbDomainName, encodeUTF16(s.AVPairs["NetBIOS_Domain_name"].Text)},
		{avNbComputerName, encodeUTF16(s.AVPairs["NetBIOS_Server_name"].Text)},
	}
	eq(t, "TargetInfo", info.marshal(), h(t, s.AVPairs, "TargetInfo"))
	cc := ntlmv2ClientChallenge{avPairs: info}
	copy(cc.clientChallenge[:], c.clientChallenge)
	temp := cc.marshal()
	eq(t, "temp", temp, h(t, s.Calculations, "temp"))
	proof, sbk, resp := ntlmv2Response(key[:], c.serverChallenge, temp)
	eq(t, "SessionBaseKey", sbk[:], h(t, s.Calculations, "SessionBaseKey"))
	eq(t, "NTProofStr", proof[:], h(t, s.Results, "NTProofStr"))
	eq(t, "NtChallengeResponse", resp, h(t, s.Derived, "NtChallengeResponse"))
	eq(t, "LMv2 response", lmv2Response(key[:], c.serverChallenge, c.clientChallenge), h(t, s.Results, "LmChallengeResponse"))
	eq(t, "EncryptedRandomSessionKey", rc4k(sbk[:], c.randomSessionKey), h(t, s.Results, "EncryptedRandomSessionKey"))

	flags := negotiateFlags(0xe28a8233)
	esk := c.randomSessionKey
	eq(t, "client SealingKey", sealKey(flags, esk, true), h(t, s.GSSWrapEx, "SealingKey"))
	eq(t, "client SigningKey", signKey(flags, esk, true), h(t, s.GSSWrapEx, "SigningKey"))
	eq(t, "server SealingKey", sealKey(flags, esk, false), h(t, s.Derived, "ServerSealingKey"))
	eq(t, "server SigningKey", signKey(flags, esk, false), h(t, s.Derived, "ServerSigningKey"))

	ss := newSessionSecurity(flags, esk, true, false)
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: h(t, s.GSSWrapEx, "Plaintext")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := ss.sign(msg, 0, true); err != nil {
		t.Fatal(err)
	}
	eq(t, "sealed data", msg[0].Data, h(t, s.GSSWrapEx, "SealedData"))
	eq(t, "signature", msg[1].Data, h(t, s.GSSWrapEx, "Signature"))
	peer := newSessionSecurity(flags, esk, false, false)
	if err := peer.verify(msg, 0, true); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	eq(t, "unsealed", msg[0].Data, h(t, s.GSSWrapEx, "Plaintext"))

	checkMessages(t, s, c)
}

// checkMessages parses the example's CHALLENGE_MESSAGE and
// AUTHENTICATE_MESSAGE, checks their fields, and rebuilds the
// AUTHENTICATE_MESSAGE byte for byte (the CHALLENGE_MESSAGE too when its
// empty fields are laid out as we lay them out).
func checkMessages(t *testing.T, s vectorSection, c common) {
	t.Helper()
	chalRaw := h(t, s.Messages, "CHALLENGE_MESSAGE")
	var chal challengeMsg
	if err := chal.unmarshal(chalRaw); err != nil {
		t.Fatalf("CHALLENGE_MESSAGE: %v", err)
	}
	eq(t, "ServerChallenge", chal.serverChallenge[:], c.serverChallenge)
	eq(t, "NegotiateFlags", []byte{byte(chal.flags), byte(chal.flags >> 8), byte(chal.flags >> 16), byte(chal.flags >> 24)}, h(t, map[string]vectorValue{"f": {Hex: s.ChallengeFlags.Hex}}, "f"))
	if name, _ := decodeUTF16(chal.targetName); name != "Server" {
		t.Errorf("TargetName = %q", name)
	}
	if chal.version == nil || chal.version.String() != "6.0.6000 rev 15" {
		t.Errorf("Version = %v", chal.version)
	}
	out, err := chal.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(chal.targetInfo) > 0 {
		eq(t, "rebuilt CHALLENGE_MESSAGE", out, chalRaw)
	}
	var again challengeMsg
	if err := again.unmarshal(out); err != nil || again.serverChallenge != chal.serverChallenge || !bytes.Equal(again.targetInfo, chal.targetInfo) {
		t.Errorf("re-parsed CHALLENGE_MESSAGE differs: %v", err)
	}

	authRaw := h(t, s.Messages, "AUTHENTICATE_MESSAGE")
	var auth authenticateMsg
	if err := auth.unmarshal(authRaw); err != nil {
		t.Fatalf("AUTHENTICATE_MESSAGE: %v", err)
	}
	user, domain, ws, err := auth.names()
	if err != nil || user != c.user || domain != c.domain || ws != c.workstation {
		t.Errorf("names = %q %q %q, %v", user, domain, ws, err)
	}
	if auth.mic != nil {
		t.Error("MS-NLMP 4.2 AUTHENTICATE_MESSAGE has no MIC, but one was found")
	}
	out, err = auth.marshal()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "rebuilt AUTHENTICATE_MESSAGE", out, authRaw)
}
