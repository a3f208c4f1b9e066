package ntlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Known attacks on NTLM, each asserting the exact status: MIC removal
// (CVE-2019-1040, MS-NLMP 3.1.5.1.2), flag downgrades (MS-NLMP 2.2.2.5,
// 3.2.5.1.2), AV pair edits (MS-NLMP 2.2.2.1), replay and expiry of the
// challenge, target names and channel bindings (MS-NLMP 3.2.5.1.2,
// Extended Protection for Authentication), NTLMv1/LM downgrades (MS-NLMP
// 3.3.1), reflection (MS08-068, CVE-2025-33073), user enumeration and
// anonymous logon (MS-NLMP 3.2.5.1.2). Every test here fails if the
// defence it names is removed.

// reauth re-encodes an AUTHENTICATE_MESSAGE after f edits it; the MIC
// bytes stay what they were.
func reauth(t testing.TB, raw []byte, f func(*authenticateMsg)) []byte {
	t.Helper()
	var m authenticateMsg
	if err := m.unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	f(&m)
	out, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// clearFlag returns an editor clearing bit in the NegotiateFlags at off.
func clearFlag(off int, bit negotiateFlags) func([]byte) []byte {
	return func(b []byte) []byte {
		v := binary.LittleEndian.Uint32(b[off:])
		binary.LittleEndian.PutUint32(b[off:], v&^uint32(bit))
		return b
	}
}

func TestMICStripped(t *testing.T) {
	// Drop the MIC field (and with it the 16 bytes), keeping MsvAvFlags
	// 0x2 inside the NTProofStr-protected blob (CVE-2019-1040).
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) { m.mic = nil })
	}})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	// Also drop the VERSION, as the "Drop the MIC" exploit does.
	r = e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) { m.mic, m.version = nil, nil; m.flags &^= flagVersion })
	}})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	// A client that neither sends nor announces a MIC (gss-ntlmssp 1.2)
	// is accepted by default, but never one whose MsvAvFlags announces
	// the MIC it lacks.
	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{noMIC: true, micFlag: new(bool)})})
	wantStatus(t, r.err(), secpkg.StatusOK)
	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{noMIC: true})})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	// RequireMIC refuses the client without a MIC too.
	strict := newEnv(t, &Config{RequireMIC: true})
	r = strict.handshake(hsOpts{forge: forger(t, forgeOpts{noMIC: true, micFlag: new(bool)})})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)
	r = strict.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) { m.mic = nil })
	}})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)

	// Clearing MsvAvFlags 0x2 in flight breaks the NTProofStr.
	r = e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		i := bytes.Index(b, []byte{0x06, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00})
		if i < 0 {
			t.Fatal("MsvAvFlags not found")
		}
		b[i+4] = 0
		return b
	}})
	wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)
}

func TestMICZeroedOrFlipped(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		clear(b[micOffset : micOffset+micSize])
		return b
	}})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	for i := range micSize {
		for _, bit := range []byte{0x01, 0x80} {
			r := e.handshake(hsOpts{editAuth: func(b []byte) []byte { b[micOffset+i] ^= bit; return b }})
			wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
		}
	}
}

// TestSecurityFlagCleared clears each security flag in each message in
// flight. The client asked for confidentiality and integrity; the server
// asked for nothing, so that only the MIC and the client's own checks can
// catch the edit.
func TestSecurityFlagCleared(t *testing.T) {
	const (
		negOff  = 12
		chalOff = 20
		authOff = 60
	)
	tests := []struct {
		msg  string
		flag negotiateFlags
		want secpkg.Status
	}{
		{"negotiate", flagExtendedSessionSecurity, secpkg.StatusAlgorithmMismatch}, // server refuses at once
		{"negotiate", flagSign, secpkg.StatusMessageAltered},                       // MIC covers NEGOTIATE
		{"negotiate", flagSeal, secpkg.StatusSecurityQOSFailed},                    // client wanted sealing
		{"negotiate", flagKeyExch, secpkg.StatusMessageAltered},
		{"negotiate", flag128, secpkg.StatusAlgorithmMismatch}, // client refuses weak keys
		{"negotiate", flag56, secpkg.StatusMessageAltered},
		{"negotiate", flagAlwaysSign, secpkg.StatusMessageAltered},
		{"negotiate", flagVersion, secpkg.StatusMessageAltered},
		{"challenge", flagExtendedSessionSecurity, secpkg.StatusAlgorithmMismatch},
		{"challenge", flagSign, secpkg.StatusMessageAltered}, // MIC covers CHALLENGE
		{"challenge", flagSeal, secpkg.StatusSecurityQOSFailed},
		{"challenge", flagKeyExch, secpkg.StatusMessageAltered},
		{"challenge", flag128, secpkg.StatusAlgorithmMismatch},
		{"challenge", flag56, secpkg.StatusMessageAltered},
		{"challenge", flagAlwaysSign, secpkg.StatusMessageAltered},
		{"challenge", flagTargetInfo, secpkg.StatusMessageAltered},
		{"authenticate", flagExtendedSessionSecurity, secpkg.StatusAlgorithmMismatch},
		{"authenticate", flagSign, secpkg.StatusMessageAltered},
		{"authenticate", flagSeal, secpkg.StatusMessageAltered},
		{"authenticate", flagKeyExch, secpkg.StatusMessageAltered},
		{"authenticate", flag128, secpkg.StatusAlgorithmMismatch},
		{"authenticate", flag56, secpkg.StatusMessageAltered},
		{"authenticate", flagAlwaysSign, secpkg.StatusMessageAltered},
	}
	for _, tt := range tests {
		t.Run(tt.msg+"/"+tt.flag.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			var o hsOpts
			switch tt.msg {
			case "negotiate":
				o.editNeg = clearFlag(negOff, tt.flag)
			case "challenge":
				o.editChal = clearFlag(chalOff, tt.flag)
			case "authenticate":
				o.editAuth = clearFlag(authOff, tt.flag)
			}
			wantStatus(t, e.handshake(o).err(), tt.want)
		})
	}
	// The server side of the same: a server that asked for
	// confidentiality refuses a client that did not negotiate sealing.
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{isc: secpkg.ISCReqIntegrity, asc: secpkg.ASCReqConfidentiality})
	wantStatus(t, r.srvErr, secpkg.StatusSecurityQOSFailed)
}

// TestMICCoversEveryMessage flips one byte in the payload of NEGOTIATE
// and CHALLENGE (where nothing else would notice) and in the VERSION of
// AUTHENTICATE.
func TestMICCoversEveryMessage(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editNeg: func(b []byte) []byte { b[negotiateHeaderSize] ^= 1; return b }})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	r = e.handshake(hsOpts{editChal: func(b []byte) []byte { b[challengeHeaderSize+1] ^= 1; return b }})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	r = e.handshake(hsOpts{editChal: func(b []byte) []byte {
		// The TargetName, which the NTLMv2 blob does not echo.
		var m challengeMsg
		if err := m.unmarshal(b); err != nil {
			t.Fatal(err)
		}
		m.targetName = encodeUTF16("EVIL")
		out, _ := m.marshal()
		return out
	}})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	r = e.handshake(hsOpts{editAuth: func(b []byte) []byte { b[authenticateHeaderSize] ^= 1; return b }})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	r = e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) { m.workstation = encodeUTF16("OTHER") })
	}})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
}

// TestAVPairEdited edits each AV pair of the client's blob in flight, and
// also has a password-holding client drop or change server pairs.
func TestAVPairEdited(t *testing.T) {
	e := newEnv(t, nil)
	base := e.handshake(hsOpts{})
	wantStatus(t, base.err(), secpkg.StatusOK)
	var am authenticateMsg
	if err := am.unmarshal(base.auth); err != nil {
		t.Fatal(err)
	}
	var blob ntlmv2ClientChallenge
	if err := blob.unmarshal(am.ntResponse[ntProofStrSize:]); err != nil {
		t.Fatal(err)
	}
	for i, p := range blob.avPairs {
		t.Run("in-flight/"+p.id.String(), func(t *testing.T) {
			r := e.handshake(hsOpts{editAuth: func(b []byte) []byte {
				return reauth(t, b, func(m *authenticateMsg) {
					var bl ntlmv2ClientChallenge
					if err := bl.unmarshal(m.ntResponse[ntProofStrSize:]); err != nil {
						t.Fatal(err)
					}
					v := append([]byte(nil), bl.avPairs[i].value...)
					v[0] ^= 0x20
					bl.avPairs[i].value = v
					m.ntResponse = append(append([]byte(nil), m.ntResponse[:ntProofStrSize]...), bl.marshal()...)
				})
			}})
			wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)
		})
	}
	// A client with the password that drops or changes a server pair,
	// with a valid NTProofStr and MIC: Samba's echo rule.
	var chal challengeMsg
	if err := chal.unmarshal(base.chal); err != nil {
		t.Fatal(err)
	}
	for _, sp := range chal.avPairs {
		t.Run("dropped/"+sp.id.String(), func(t *testing.T) {
			r := e.handshake(hsOpts{forge: forger(t, forgeOpts{editPairs: func(l avPairs) avPairs {
				var out avPairs
				for _, p := range l {
					if p.id != sp.id {
						out = append(out, p)
					}
				}
				return out
			}})})
			wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)
		})
		t.Run("changed/"+sp.id.String(), func(t *testing.T) {
			r := e.handshake(hsOpts{forge: forger(t, forgeOpts{editPairs: func(l avPairs) avPairs {
				v, _ := l.get(sp.id)
				v = append([]byte(nil), v...)
				v[len(v)-1] ^= 1
				if sp.id != avTimestamp {
					v[len(v)-2] ^= 1 // keep UTF-16 valid: flip a low byte
					v[len(v)-1] ^= 1
				}
				return l.set(sp.id, v)
			}})})
			wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)
		})
	}
}

func TestMsvAvEOLDropped(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) {
			// Remove MsvAvEOL and the Z(4) after it.
			m.ntResponse = m.ntResponse[:len(m.ntResponse)-8]
		})
	}})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)
	// Data after MsvAvEOL other than zero padding.
	r = e.handshake(hsOpts{editAuth: func(b []byte) []byte {
		return reauth(t, b, func(m *authenticateMsg) {
			m.ntResponse = append(append([]byte(nil), m.ntResponse...), 0x41)
		})
	}})
	wantStatus(t, r.srvErr, secpkg.StatusInvalidToken)
}

// TestAuthenticateReplayed replays a good AUTHENTICATE_MESSAGE into a new
// context, and into the same one again.
func TestAuthenticateReplayed(t *testing.T) {
	e := newEnv(t, nil)
	first := e.handshake(hsOpts{})
	wantStatus(t, first.err(), secpkg.StatusOK)
	r := e.handshake(hsOpts{forge: func(neg, chal []byte) []byte { return first.auth }})
	wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)

	// The established context refuses a second AUTHENTICATE_MESSAGE.
	_, err := e.srv.AcceptLsaModeContext(context.Background(), &secpkg.AcceptContextRequest{Context: first.srvCtx, Token: first.auth})
	wantStatus(t, err, secpkg.StatusInvalidHandle)
}

// TestChallengeSingleUse runs two LSAs that share a replay cache and, by
// an unlucky random source, issue the same challenge: the answer accepted
// by one is refused by the other.
func TestChallengeSingleUse(t *testing.T) {
	e := newEnv(t, nil)
	twinLSA := newFakeLSA("server") // same seed: same challenges
	twinLSA.replay = e.srvLSA.replay
	twinLSA.addAccount(testDomain, testUser, testPassword)
	twin := newLSAPackage(t, nil, twinLSA, "SERVER1")

	first := e.handshake(hsOpts{})
	wantStatus(t, first.err(), secpkg.StatusOK)

	ctx := context.Background()
	sc, _ := twin.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})
	res, err := twin.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: first.neg})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Token, first.chal) {
		t.Fatal("twin LSA issued a different challenge; the test needs the same one")
	}
	_, err = twin.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: res.Context, Token: first.auth})
	wantStatus(t, err, secpkg.StatusInvalidToken)
}

func TestChallengeExpired(t *testing.T) {
	e := newEnv(t, &Config{ChallengeLifetime: time.Minute})
	r := e.handshake(hsOpts{editChal: func(b []byte) []byte { e.srvLSA.advance(61 * time.Second); return b }})
	wantStatus(t, r.srvErr, secpkg.StatusContextExpired)
	e.srvLSA.now = epoch
	r = e.handshake(hsOpts{editChal: func(b []byte) []byte { e.srvLSA.advance(59 * time.Second); return b }})
	wantStatus(t, r.err(), secpkg.StatusOK)
}

func TestTimestampWindow(t *testing.T) {
	e := newEnv(t, &Config{TimestampSkew: 2 * time.Minute})
	for _, tt := range []struct {
		offset time.Duration
		want   secpkg.Status
	}{
		{-3 * time.Minute, secpkg.StatusTimeSkew},
		{-24 * time.Hour, secpkg.StatusTimeSkew},
		{3 * time.Minute, secpkg.StatusTimeSkew},
		{-90 * time.Second, secpkg.StatusOK},
		{90 * time.Second, secpkg.StatusOK},
	} {
		t.Run(tt.offset.String(), func(t *testing.T) {
			ts := toFileTime(e.srvLSA.Now().Add(tt.offset))
			// The server's own MsvAvTimestamp pair is still echoed;
			// only the blob's TimeStamp field moves.
			r := e.handshake(hsOpts{forge: forger(t, forgeOpts{timestamp: &ts})})
			wantStatus(t, r.err(), tt.want)
		})
	}
}

func TestTargetName(t *testing.T) {
	untrusted := func(l avPairs) avPairs { return l.set(avFlags, le32(avFlagMICPresent|avFlagUntrustedSPN)) }
	noTarget := func(l avPairs) avPairs {
		var out avPairs
		for _, p := range l {
			if p.id != avTargetName {
				out = append(out, p)
			}
		}
		return out
	}
	tests := []struct {
		name      string
		policy    TargetNamePolicy
		principal string
		target    string
		edit      func(avPairs) avPairs
		want      secpkg.Status
	}{
		{"default/match", TargetNameDefault, testSPN, testSPN, nil, secpkg.StatusOK},
		{"default/case-insensitive", TargetNameDefault, testSPN, strings.ToUpper(testSPN), nil, secpkg.StatusOK},
		{"default/mismatch", TargetNameDefault, testSPN, "HTTP/evil.example.com", nil, secpkg.StatusWrongPrincipal},
		{"default/missing", TargetNameDefault, testSPN, "", nil, secpkg.StatusWrongPrincipal},
		{"default/no-principal", TargetNameDefault, "", "HTTP/anything", nil, secpkg.StatusOK},
		{"required/untrusted", TargetNameRequired, testSPN, testSPN, untrusted, secpkg.StatusWrongPrincipal},
		{"required/no-principal", TargetNameRequired, "", testSPN, nil, secpkg.StatusWrongPrincipal},
		{"if-present/missing", TargetNameIfPresent, testSPN, "", nil, secpkg.StatusOK},
		{"if-present/mismatch", TargetNameIfPresent, testSPN, "HTTP/evil", nil, secpkg.StatusWrongPrincipal},
		{"if-present/untrusted-mismatch", TargetNameIfPresent, testSPN, "HTTP/evil", untrusted, secpkg.StatusOK},
		{"off/mismatch", TargetNameOff, testSPN, "HTTP/evil", nil, secpkg.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Config{TargetNamePolicy: tt.policy})
			o := hsOpts{target: &tt.target, principal: &tt.principal}
			if tt.edit != nil {
				edit := tt.edit
				o.forge = forger(t, forgeOpts{editPairs: func(l avPairs) avPairs {
					l = l.set(avTargetName, encodeUTF16(tt.target))
					if tt.target == "" {
						l = noTarget(l)
					}
					return edit(l)
				}})
			}
			wantStatus(t, e.handshake(o).err(), tt.want)
		})
	}
}

func TestChannelBindings(t *testing.T) {
	a := &secpkg.ChannelBindings{ApplicationData: []byte("tls-server-end-point:AAAA")}
	x := &secpkg.ChannelBindings{ApplicationData: []byte("tls-server-end-point:XXXX")}
	const (
		ok       = secpkg.StatusOK
		bad      = secpkg.StatusBadBindings
		support  = secpkg.BindingsClientSupport
		absent   = secpkg.BindingsAbsent
		matched  = secpkg.BindingsValidMatched
		vmissing = secpkg.BindingsValidMissing
	)
	tests := []struct {
		name       string
		policy     ChannelBindingPolicy
		allowMiss  bool
		cli, srv   *secpkg.ChannelBindings
		want       secpkg.Status
		wantResult secpkg.ChannelBindingResult
	}{
		{"default/none-none", ChannelBindingDefault, false, nil, nil, ok, support | absent},
		{"default/A-none", ChannelBindingDefault, false, a, nil, ok, support | absent},
		{"default/none-A", ChannelBindingDefault, false, nil, a, bad, 0},
		{"default/A-A", ChannelBindingDefault, false, a, a, ok, support | matched},
		{"default/A-X", ChannelBindingDefault, false, a, x, bad, 0},
		{"default/none-A/allow-missing", ChannelBindingDefault, true, nil, a, ok, support | vmissing},
		{"default/A-X/allow-missing", ChannelBindingDefault, true, a, x, bad, 0},
		{"required/none-none", ChannelBindingRequired, false, nil, nil, bad, 0},
		{"required/A-A", ChannelBindingRequired, false, a, a, ok, support | matched},
		{"if-present/none-A", ChannelBindingIfPresent, false, nil, a, ok, support | vmissing},
		{"if-present/A-X", ChannelBindingIfPresent, false, a, x, bad, 0},
		{"if-present/A-A", ChannelBindingIfPresent, false, a, a, ok, support | matched},
		{"off/A-X", ChannelBindingOff, false, a, x, ok, support | secpkg.BindingsNotValidMismatch},
		{"off/none-A", ChannelBindingOff, false, nil, a, ok, support | vmissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Config{ChannelBindingPolicy: tt.policy})
			o := hsOpts{cliBindings: tt.cli, srvBindings: tt.srv}
			if tt.allowMiss {
				o.asc = secpkg.ASCReqAllowMissingBindings
			}
			r := e.handshake(o)
			wantStatus(t, r.err(), tt.want)
			if tt.want != ok {
				return
			}
			attrs, err := e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
			if err != nil {
				t.Fatal(err)
			}
			if attrs.Identity.Bindings != tt.wantResult {
				t.Fatalf("result %v, want %v", attrs.Identity.Bindings, tt.wantResult)
			}
		})
	}
	// An all-zero MsvAvChannelBindings counts as missing.
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{srvBindings: a, forge: forger(t, forgeOpts{})}) // the forger sends Z(16)
	wantStatus(t, r.srvErr, secpkg.StatusBadBindings)
}

func TestNTLMv1AndLMRefused(t *testing.T) {
	for _, tt := range []struct {
		kind string
		cfg  Config
		want secpkg.Status
	}{
		{"v1", Config{}, secpkg.StatusLogonDenied},
		{"v1ess", Config{}, secpkg.StatusLogonDenied},
		{"lmv2", Config{}, secpkg.StatusLogonDenied},
		{"lmv1", Config{}, secpkg.StatusLogonDenied},
		{"v1", Config{InsecureAllowNTLMv1: true, TargetNamePolicy: TargetNameOff}, secpkg.StatusOK},
		{"v1ess", Config{InsecureAllowNTLMv1: true, TargetNamePolicy: TargetNameOff}, secpkg.StatusOK},
		{"lmv2", Config{InsecureAllowLM: true, TargetNamePolicy: TargetNameOff}, secpkg.StatusOK},
		{"lmv1", Config{InsecureAllowLM: true, TargetNamePolicy: TargetNameOff}, secpkg.StatusLogonDenied}, // needs an LM hash
		{"v1", Config{InsecureAllowNTLMv1: true}, secpkg.StatusWrongPrincipal},                             // no target name in NTLMv1
	} {
		t.Run(fmt.Sprintf("%s/%+v", tt.kind, tt.cfg), func(t *testing.T) {
			e := newEnv(t, &tt.cfg)
			isc := secpkg.ISCReqIntegrity
			if tt.kind == "lmv2" || tt.kind == "lmv1" {
				isc = secpkg.ISCReqConnection
			}
			r := e.handshake(hsOpts{isc: isc, forge: forger(t, forgeOpts{kind: tt.kind})})
			wantStatus(t, r.err(), tt.want)
			if tt.want == secpkg.StatusOK && tt.kind != "lmv2" {
				// The forger's session keys are not the client's; check
				// only that the server has session security.
				if _, err := r.srvUser.SessionKey(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestDowngradeWithoutESS strips extended session security from a
// client's messages end to end: refused unless NTLMv1 is allowed.
func TestDowngradeWithoutESS(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{forge: forger(t, forgeOpts{flags: func(f negotiateFlags) negotiateFlags { return f &^ flagExtendedSessionSecurity }})})
	wantStatus(t, r.srvErr, secpkg.StatusAlgorithmMismatch)
	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{flags: func(f negotiateFlags) negotiateFlags { return f &^ flag128 }})})
	wantStatus(t, r.srvErr, secpkg.StatusAlgorithmMismatch)
}

// TestReflection uses one LSA as both initiator and acceptor.
func TestReflection(t *testing.T) {
	fake := newFakeLSA("self")
	fake.addAccount(testDomain, testUser, testPassword)
	self := newLSAPackage(t, nil, fake, "HOST")
	ctx := context.Background()
	cc, _ := self.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	sc, _ := self.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})

	// The attacker opens a context on our acceptor and passes its
	// challenge to our initiator, which was sent to another service: it
	// refuses to answer.
	neg1, err := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testSPN})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: neg1.Token})
	if err != nil {
		t.Fatal(err)
	}
	victim, err := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: "cifs/attacker.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: victim.Context, Target: "cifs/attacker.example.com", Token: srv.Token})
	wantStatus(t, err, secpkg.StatusInvalidToken)
	if !strings.Contains(err.Error(), "reflection") {
		t.Fatalf("error %v does not name reflection", err)
	}

	// An acceptor without a principal cannot tell whom a loopback client
	// meant: its challenges are never answered by our initiator.
	anyc, _ := self.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound})
	srv2, err := self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: anyc.Handle, Token: neg1.Token})
	if err != nil {
		t.Fatal(err)
	}
	victim2, _ := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testSPN})
	_, err = self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: victim2.Context, Target: testSPN, Token: srv2.Token})
	wantStatus(t, err, secpkg.StatusInvalidToken)

	// A client of this host authenticating to this host's own service
	// under the service's name (loopback) completes.
	neg3, _ := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: strings.ToLower(testSPN)})
	chal3, err := self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: neg3.Token})
	if err != nil {
		t.Fatal(err)
	}
	auth3, err := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: neg3.Context, Target: strings.ToLower(testSPN), Token: chal3.Token})
	if err != nil {
		t.Fatalf("loopback client: %v", err)
	}
	if _, err := self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: chal3.Context, Token: auth3.Token}); err != nil {
		t.Fatalf("loopback acceptor: %v", err)
	}

	// Our initiator's answer to a foreign server, reflected to our
	// acceptor, proves nothing there: it answers another challenge.
	foreign := newEnv(t, nil)
	fneg, _ := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testSPN})
	fsc, _ := foreign.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound})
	fchal, err := foreign.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: fsc.Handle, Token: fneg.Token})
	if err != nil {
		t.Fatal(err)
	}
	fauth, err := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: fneg.Context, Target: testSPN, Token: fchal.Token})
	if err != nil {
		t.Fatal(err)
	}
	neg4, _ := self.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: testSPN})
	srv4, err := self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: neg4.Token})
	if err != nil {
		t.Fatal(err)
	}
	_, err = self.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: srv4.Context, Token: fauth.Token})
	wantStatus(t, err, secpkg.StatusLogonDenied)
}

// TestUnknownUserLikeWrongPassword checks that the two failures are one
// error, and that only the known account is charged a failure.
func TestUnknownUserLikeWrongPassword(t *testing.T) {
	e := newEnv(t, nil)
	wrong := e.handshake(hsOpts{identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("wrong")}})
	unknown := e.handshake(hsOpts{identity: &secpkg.AuthIdentity{User: "mallory", Domain: testDomain, Password: []byte("wrong")}})
	wantStatus(t, wrong.srvErr, secpkg.StatusLogonDenied)
	wantStatus(t, unknown.srvErr, secpkg.StatusLogonDenied)
	if wrong.srvErr.Error() != unknown.srvErr.Error() {
		t.Fatalf("errors differ:\n%v\n%v", wrong.srvErr, unknown.srvErr)
	}
	if len(e.srvLSA.reports) != 1 || e.srvLSA.reports[0] != (logonReport{testUser, false}) {
		t.Fatalf("reports %+v", e.srvLSA.reports)
	}
	// Disabled and locked accounts fail the same way, and are audited
	// with their reason.
	e.srvLSA.accounts[testUser].Disabled = true
	disabled := e.handshake(hsOpts{})
	wantStatus(t, disabled.srvErr, secpkg.StatusLogonDenied)
	if disabled.srvErr.Error() != wrong.srvErr.Error() || e.srvLSA.lastAudit().Reason != "account disabled" {
		t.Fatalf("disabled: %v, audit %+v", disabled.srvErr, e.srvLSA.lastAudit())
	}
	e.srvLSA.accounts[testUser].Disabled = false
	e.srvLSA.lockAfter = 2
	e.handshake(hsOpts{identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("wrong")}})
	if e.srvLSA.lastAudit().Kind != secpkg.AuditLogonFailure {
		t.Fatal("no failure audit")
	}
	locked := e.handshake(hsOpts{})
	wantStatus(t, locked.srvErr, secpkg.StatusLogonDenied)
	if e.srvLSA.lastAudit().Reason != "account locked out" {
		t.Fatalf("audit %+v", e.srvLSA.lastAudit())
	}
}

func TestAnonymous(t *testing.T) {
	anon := &secpkg.AuthIdentity{}
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{identity: anon, isc: secpkg.ISCReqConnection})
	wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)

	e = newEnv(t, &Config{AllowAnonymous: true})
	r = e.handshake(hsOpts{identity: anon, isc: secpkg.ISCReqConnection})
	wantStatus(t, r.err(), secpkg.StatusOK)
	attrs, _ := e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
	if !attrs.Identity.Anonymous || attrs.Identity.User != "" || attrs.UserName != "ANONYMOUS" {
		t.Fatalf("identity %+v", attrs.Identity)
	}
	if r.srvRes.Flags&secpkg.FlagNullSession == 0 || r.srvRes.Flags&(secpkg.FlagIntegrity|secpkg.FlagConfidentiality) != 0 {
		t.Fatalf("flags %v", r.srvRes.Flags)
	}
	if _, err := r.srvUser.SessionKey(); err == nil {
		t.Fatal("anonymous context has a session key")
	}
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("x")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	wantStatus(t, r.srvUser.MakeSignature(0, buf, 0), secpkg.StatusUnsupportedFunction)
	wantStatus(t, r.cliUser.SealMessage(0, buf, 0), secpkg.StatusUnsupportedFunction)

	// Asking for integrity with anonymous credentials fails on the
	// client; a server that asks for it refuses an anonymous client.
	r = e.handshake(hsOpts{identity: anon, isc: secpkg.ISCReqIntegrity})
	wantStatus(t, r.cliErr, secpkg.StatusSecurityQOSFailed)
	r = e.handshake(hsOpts{identity: anon, isc: secpkg.ISCReqConnection, asc: secpkg.ASCReqIntegrity})
	wantStatus(t, r.srvErr, secpkg.StatusSecurityQOSFailed)
	// An empty user with responses is not anonymous.
	r = e.handshake(hsOpts{forge: forger(t, forgeOpts{kind: "lmv1", user: "", password: "x"})})
	wantStatus(t, r.srvErr, secpkg.StatusLogonDenied)
}

// TestReflectionTables covers the bounds of the table of outstanding
// challenges.
func TestReflectionTables(t *testing.T) {
	fake := newFakeLSA("tables")
	p := newLSAPackage(t, nil, fake, "HOST")
	c := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := p.noteIssued(c, fake.Now().Add(time.Minute), testSPN); err != nil {
		t.Fatal(err)
	}
	if principal, ok := p.issuedFor(c); !ok || principal != testSPN {
		t.Fatalf("issuedFor = %q, %v", principal, ok)
	}
	// Our acceptor never issues the same challenge twice.
	wantStatus(t, p.noteIssued(c, fake.Now().Add(time.Minute), testSPN), secpkg.StatusInternalError)
	// Expired entries no longer count and are pruned.
	fake.advance(2 * time.Minute)
	if _, ok := p.issuedFor(c); ok {
		t.Fatal("expired entry still counts")
	}
	for i := range 2000 {
		var k [8]byte
		binary.LittleEndian.PutUint64(k[:], uint64(i)+100)
		if err := p.noteIssued(k, fake.Now().Add(time.Second), ""); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			p.forgetIssued(k) // a finished handshake
		}
	}
	fake.advance(2 * time.Second)
	if err := p.noteIssued([8]byte{9}, fake.Now().Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	if n := len(p.issued.m); n != 1 {
		t.Fatalf("%d issued entries after pruning", n)
	}
	if n := len(p.issued.order); n > 2 {
		t.Fatalf("issue order holds %d entries after pruning", n)
	}
	// A table full of live entries refuses new handshakes.
	for i := range maxSelfChallenges - 1 { // one is there already
		var k [8]byte
		binary.LittleEndian.PutUint64(k[:], uint64(i)+1<<40)
		if err := p.noteIssued(k, fake.Now().Add(time.Hour), ""); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, p.noteIssued([8]byte{10}, fake.Now().Add(time.Second), ""), secpkg.StatusInsufficientMemory)
}
