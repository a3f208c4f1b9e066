package ntlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// sealed returns a message sealed by from, as the receiver gets it.
func sealed(t testing.TB, from secpkg.UserContext, msg string) []secpkg.Buffer {
	t.Helper()
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte(msg)}}
	if err := from.SealMessage(0, buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf
}

func cloneBufs(b []secpkg.Buffer) []secpkg.Buffer {
	out := make([]secpkg.Buffer, len(b))
	for i := range b {
		out[i] = secpkg.Buffer{Type: b[i].Type, Data: append([]byte(nil), b[i].Data...)}
	}
	return out
}

func established(t testing.TB, o hsOpts) *hsResult {
	t.Helper()
	e := newEnv(t, nil)
	r := e.handshake(o)
	wantStatus(t, r.err(), secpkg.StatusOK)
	return r
}

// TestSealedFrameAttacks: replay, reorder, direction swap, truncation.
// After each refused frame the session goes on: the key state is intact.
func TestSealedFrameAttacks(t *testing.T) {
	r := established(t, hsOpts{})
	m0 := sealed(t, r.cliUser, "frame zero")
	m1 := sealed(t, r.cliUser, "frame one")
	m2 := sealed(t, r.cliUser, "frame two")

	// Reorder: frame one before frame zero.
	_, err := r.srvUser.UnsealMessage(cloneBufs(m1), 0)
	wantStatus(t, err, secpkg.StatusOutOfSequence)
	// Direction swap: the client's own frame fed back to the client.
	_, err = r.cliUser.UnsealMessage(cloneBufs(m0), 0)
	wantStatus(t, err, secpkg.StatusMessageAltered)
	// Truncated signature and truncated data.
	trunc := cloneBufs(m0)
	trunc[0].Data = trunc[0].Data[:15]
	_, err = r.srvUser.UnsealMessage(trunc, 0)
	wantStatus(t, err, secpkg.StatusMessageAltered)
	trunc = cloneBufs(m0)
	trunc[1].Data = trunc[1].Data[:3]
	_, err = r.srvUser.UnsealMessage(trunc, 0)
	wantStatus(t, err, secpkg.StatusMessageAltered)

	// In order: accepted.
	for i, m := range [][]secpkg.Buffer{m0, m1} {
		c := cloneBufs(m)
		if _, err := r.srvUser.UnsealMessage(c, 0); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// Replay of frame zero and of frame one.
	_, err = r.srvUser.UnsealMessage(cloneBufs(m0), 0)
	wantStatus(t, err, secpkg.StatusOutOfSequence)
	_, err = r.srvUser.UnsealMessage(cloneBufs(m1), 0)
	wantStatus(t, err, secpkg.StatusOutOfSequence)
	c := cloneBufs(m2)
	if _, err := r.srvUser.UnsealMessage(c, 0); err != nil || string(c[1].Data) != "frame two" {
		t.Fatalf("frame two after attacks: %v", err)
	}
}

// TestEveryByteFlipped flips each bit position class of every byte of the
// signature and of the sealed data; each must be refused, leaving the
// buffers unchanged, and the untouched frame must then still verify.
func TestEveryByteFlipped(t *testing.T) {
	r := established(t, hsOpts{})
	for _, mode := range []string{"seal", "sign"} {
		var m []secpkg.Buffer
		if mode == "seal" {
			m = sealed(t, r.cliUser, "a message of some length, to flip")
		} else {
			m = []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("signed message")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
			if err := r.cliUser.MakeSignature(0, m, 0); err != nil {
				t.Fatal(err)
			}
		}
		for bi := range m {
			for i := range m[bi].Data {
				for _, bit := range []byte{0x01, 0x80} {
					c := cloneBufs(m)
					c[bi].Data[i] ^= bit
					before := cloneBufs(c)
					var err error
					if mode == "seal" {
						_, err = r.srvUser.UnsealMessage(c, 0)
					} else {
						_, err = r.srvUser.VerifySignature(c, 0)
					}
					want := secpkg.StatusMessageAltered
					if c[bi].Type == secpkg.BufferToken && i >= 12 {
						want = secpkg.StatusOutOfSequence // SeqNum bytes
					}
					wantStatus(t, err, want)
					for k := range c {
						if !bytes.Equal(c[k].Data, before[k].Data) {
							t.Fatalf("%s: refused message was modified", mode)
						}
					}
				}
			}
		}
		c := cloneBufs(m)
		var err error
		if mode == "seal" {
			_, err = r.srvUser.UnsealMessage(c, 0)
		} else {
			_, err = r.srvUser.VerifySignature(c, 0)
		}
		if err != nil {
			t.Fatalf("%s: original refused after the flips: %v", mode, err)
		}
	}
}

// TestOutOfSequenceNeedsDetection: without replay or sequence detection
// a wrong SeqNum is just an altered message.
func TestOutOfSequenceNeedsDetection(t *testing.T) {
	r := established(t, hsOpts{isc: secpkg.ISCReqConfidentiality})
	sealed(t, r.srvUser, "skipped")
	m := sealed(t, r.srvUser, "second")
	_, err := r.cliUser.UnsealMessage(m, 0)
	wantStatus(t, err, secpkg.StatusMessageAltered)
}

func TestSequenceNumberWrap(t *testing.T) {
	r := established(t, hsOpts{})
	cli := r.cliUser.(*userContext).s.sec
	srv := r.srvUser.(*userContext).s.sec
	cli.send.seq, srv.recv.seq = 0xFFFFFFFF, 0xFFFFFFFF
	m := sealed(t, r.cliUser, "last")
	if _, err := r.srvUser.UnsealMessage(m, 0); err != nil {
		t.Fatal(err)
	}
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("one too many")}}
	wantStatus(t, r.cliUser.SealMessage(0, buf, 0), secpkg.StatusContextExpired)
	_, err := r.srvUser.UnsealMessage(m, 0)
	wantStatus(t, err, secpkg.StatusContextExpired)
	// Export and import keep the spent counter.
	exp, err := r.cliUser.ExportContext()
	if err != nil {
		t.Fatal(err)
	}
	imp, err := newEnv(t, nil).user.ImportContext(1, exp)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, imp.SealMessage(0, buf, 0), secpkg.StatusContextExpired)
}

func TestBufferKinds(t *testing.T) {
	r := established(t, hsOpts{})
	header := []byte("header signed, in clear")
	ignored := []byte("read-only, not signed")
	data := []byte("sealed payload")
	buf := []secpkg.Buffer{
		{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: append([]byte(nil), header...)},
		{Type: secpkg.BufferData | secpkg.BufferReadOnly, Data: append([]byte(nil), ignored...)},
		{Type: secpkg.BufferData, Data: append([]byte(nil), data...)},
		{Type: secpkg.BufferToken, Data: make([]byte, 16)},
	}
	if err := r.cliUser.SealMessage(0, buf, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[0].Data, header) || !bytes.Equal(buf[1].Data, ignored) || bytes.Equal(buf[2].Data, data) {
		t.Fatal("wrong buffers encrypted")
	}
	// The READONLY buffer is not covered: changing it is not noticed.
	c := cloneBufs(buf)
	c[1].Data[0] ^= 1
	if _, err := r.srvUser.UnsealMessage(c, 0); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	if !bytes.Equal(c[2].Data, data) {
		t.Fatal("payload not decrypted")
	}
	// The READONLY_WITH_CHECKSUM buffer is covered.
	buf2 := []secpkg.Buffer{
		{Type: secpkg.BufferData | secpkg.BufferReadOnlyWithChecksum, Data: append([]byte(nil), header...)},
		{Type: secpkg.BufferData, Data: append([]byte(nil), data...)},
		{Type: secpkg.BufferToken, Data: make([]byte, 16)},
	}
	if err := r.cliUser.SealMessage(0, buf2, 0); err != nil {
		t.Fatal(err)
	}
	buf2[0].Data[0] ^= 1
	_, err := r.srvUser.UnsealMessage(buf2, 0)
	wantStatus(t, err, secpkg.StatusMessageAltered)

	// Missing or short token buffers.
	wantStatus(t, r.cliUser.SealMessage(0, []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("x")}}, 0), secpkg.StatusInvalidToken)
	wantStatus(t, r.cliUser.MakeSignature(0, []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 15)}}, 0), secpkg.StatusBufferTooSmall)
	wantStatus(t, r.cliUser.MakeSignature(1, []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}}, 0), secpkg.StatusQOPNotSupported)
}

// TestWrapNoEncrypt: QOPWrapNoEncrypt signs without sealing; the receiver
// verifies the signature.
func TestWrapNoEncrypt(t *testing.T) {
	r := established(t, hsOpts{})
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("in clear")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := r.cliUser.SealMessage(secpkg.QOPWrapNoEncrypt, buf, 0); err != nil {
		t.Fatal(err)
	}
	if string(buf[0].Data) != "in clear" {
		t.Fatal("data encrypted")
	}
	if _, err := r.srvUser.VerifySignature(buf, 0); err != nil {
		t.Fatal(err)
	}
}

func TestSealNotNegotiated(t *testing.T) {
	r := established(t, hsOpts{isc: secpkg.ISCReqIntegrity})
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("x")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	wantStatus(t, r.cliUser.SealMessage(0, buf, 0), secpkg.StatusUnsupportedFunction)
	signRoundTrip(t, r.cliUser, r.srvUser, "integrity only")
}

func TestDatagram(t *testing.T) {
	r := established(t, hsOpts{isc: secpkg.ISCReqDatagram | secpkg.ISCReqConfidentiality | secpkg.ISCReqSequenceDetect})
	if r.cliRes.Flags&secpkg.FlagDatagram == 0 {
		t.Fatalf("flags %v", r.cliRes.Flags)
	}
	var msgs [][]secpkg.Buffer
	for seq := uint32(10); seq < 13; seq++ {
		buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte{byte(seq), 'd', 'g'}}}
		if err := r.cliUser.SealMessage(0, buf, seq); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, buf)
	}
	// Out of order is fine in datagram mode; each message has its key.
	for _, i := range []int{2, 0, 1} {
		c := cloneBufs(msgs[i])
		if _, err := r.srvUser.UnsealMessage(c, uint32(10+i)); err != nil || c[1].Data[0] != byte(10+i) {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	_, err := r.srvUser.UnsealMessage(cloneBufs(msgs[0]), 11)
	wantStatus(t, err, secpkg.StatusOutOfSequence)
	// A sender may not reuse a sequence number: it would reuse the
	// per-message key stream.
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("again")}}
	wantStatus(t, r.cliUser.SealMessage(0, buf, 12), secpkg.StatusOutOfSequence)
	wantStatus(t, r.cliUser.SealMessage(0, buf, 3), secpkg.StatusOutOfSequence)
	if err := r.cliUser.SealMessage(0, buf, 13); err != nil {
		t.Fatal(err)
	}
}

// TestLMKeyNeverNegotiated: a client offering NTLMSSP_NEGOTIATE_LM_KEY
// does not get it back.
func TestLMKeyNeverNegotiated(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editNeg: func(b []byte) []byte {
		v := binary.LittleEndian.Uint32(b[12:])
		binary.LittleEndian.PutUint32(b[12:], v|uint32(flagLMKey))
		return b
	}})
	var c challengeMsg
	if err := c.unmarshal(r.chal); err != nil {
		t.Fatal(err)
	}
	if c.flags&flagLMKey != 0 {
		t.Fatal("server granted LM_KEY")
	}
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered) // and the MIC notices the edit
}

// TestExportImport exports a context mid-session and goes on in the
// importing "process".
func TestExportImport(t *testing.T) {
	r := established(t, hsOpts{})
	sealRoundTrip(t, r.cliUser, r.srvUser, "before export")
	sealRoundTrip(t, r.srvUser, r.cliUser, "before export, back")
	exp, err := r.srvUser.ExportContext()
	if err != nil {
		t.Fatal(err)
	}
	worker := newEnv(t, nil).user
	imported, err := worker.ImportContext(2, exp)
	if err != nil {
		t.Fatal(err)
	}
	sealRoundTrip(t, r.cliUser, imported, "after export")
	sealRoundTrip(t, imported, r.cliUser, "after export, back")
	// The exported original is dead.
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("x")}}
	wantStatus(t, r.srvUser.SealMessage(0, buf, 0), secpkg.StatusInvalidHandle)
	_, err = r.srvUser.ExportContext()
	wantStatus(t, err, secpkg.StatusInvalidHandle)
	// Each entry point accepts only its own origin.
	_, err = worker.InitUserModeContext(3, exp)
	wantStatus(t, err, secpkg.StatusInvalidToken)
	_, err = worker.ImportContext(3, r.cliRes.ContextData)
	wantStatus(t, err, secpkg.StatusInvalidToken)
	// Delete wipes.
	if err := imported.DeleteUserModeContext(); err != nil {
		t.Fatal(err)
	}
	_, err = imported.SessionKey()
	wantStatus(t, err, secpkg.StatusInvalidHandle)
}

func TestPackedContextStrict(t *testing.T) {
	r := established(t, hsOpts{})
	good := r.cliRes.ContextData
	if _, err := unpackSession(good, originEstablished); err != nil {
		t.Fatal(err)
	}
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"fixed part only": good[:packedFixedSize],
		"trailing byte":   append(append([]byte(nil), good...), 0),
		"bad magic":       mut(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version 2":       mut(func(b []byte) []byte { b[4] = 2; return b }),
		"role 3":          mut(func(b []byte) []byte { b[6] = 3; return b }),
		"keys flag 2":     mut(func(b []byte) []byte { b[7] = 2; return b }),
		"unknown ctxflag": mut(func(b []byte) []byte { b[15] = 0x80; return b }),
		"seq past 2^32":   mut(func(b []byte) []byte { b[116] = 2; return b }),
		"rc4 not a perm":  mut(func(b []byte) []byte { b[128] = b[129]; return b }),
		"keys without flag": mut(func(b []byte) []byte {
			b[7] = 0
			return b
		}),
		"name too long": mut(func(b []byte) []byte { b[packedFixedSize] = 0xFF; b[packedFixedSize+1] = 0xFF; return b }),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := unpackSession(b, originEstablished)
			wantStatus(t, err, secpkg.StatusInvalidToken)
		})
	}
	// Round trip: pack(unpack(x)) == x.
	s, _ := unpackSession(good, originEstablished)
	if !bytes.Equal(s.pack(originEstablished), good) {
		t.Fatal("packed context does not round-trip")
	}
}

// TestLSASlowPath seals in the LSA (unmapped) and unseals in user mode.
func TestLSASlowPath(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	ctx := context.Background()
	// Use the LSA copy of the client instead of its mapped one.
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: []byte("slow path")}}
	if err := e.cli.SealMessage(ctx, r.cliCtx, 0, buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.srvUser.UnsealMessage(buf, 0); err != nil || string(buf[1].Data) != "slow path" {
		t.Fatalf("unseal: %v", err)
	}
	sbuf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("sig")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := r.srvUser.MakeSignature(0, sbuf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.VerifySignature(ctx, r.cliCtx, sbuf, 0); err != nil {
		t.Fatal(err)
	}
	k, err := e.cli.QuerySessionKey(ctx, r.cliCtx)
	k2, _ := r.srvUser.SessionKey()
	if err != nil || !bytes.Equal(k, k2) {
		t.Fatalf("QuerySessionKey: %v", err)
	}
	if err := e.cli.DeleteContext(ctx, r.cliCtx); err != nil {
		t.Fatal(err)
	}
	_, err = e.cli.QuerySessionKey(ctx, r.cliCtx)
	wantStatus(t, err, secpkg.StatusInvalidHandle)
}

// TestLogonUserAndDefaultCredentials: an interactive logon stores the NT
// hash in a logon session, and outbound credentials without an identity
// take it from there.
func TestLogonUserAndDefaultCredentials(t *testing.T) {
	e := newEnv(t, nil)
	e.cliLSA.addAccount(testDomain, testUser, testPassword)
	ctx := context.Background()
	_, err := e.cli.LogonUser(ctx, &secpkg.LogonRequest{Identity: secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("bad")}})
	wantStatus(t, err, secpkg.StatusLogonDenied)
	if len(e.cliLSA.reports) != 1 || e.cliLSA.reports[0].success {
		t.Fatalf("reports %+v", e.cliLSA.reports)
	}
	res, err := e.cli.LogonUser(ctx, &secpkg.LogonRequest{Identity: secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.cliLSA.GetCredential(ctx, res.LogonID, logonCredentialKey)
	if bytes.Contains(stored, []byte(testPassword)) {
		t.Fatal("logon session holds the password")
	}
	cc, err := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, LogonID: res.LogonID})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := e.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})
	r := e.handshakeWith(cc.Handle, sc.Handle, defaultISC, testSPN, hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)

	// No identity and no logon session.
	_, err = e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound})
	wantStatus(t, err, secpkg.StatusNoCredentials)
	// The caller's logon session is used when the request names none.
	e.cliLSA.callInfo.LogonID = res.LogonID
	if _, err := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound}); err != nil {
		t.Fatal(err)
	}
	// An account the store does not know is refused as a wrong password
	// is (same status, same error, audited as unknown), unless the
	// caller asks for new credentials ("runas /netonly"): kept
	// unverified, for outbound use.
	bob := secpkg.AuthIdentity{User: "bob", Domain: "REMOTE", Password: []byte("pw")}
	_, unknown := e.cli.LogonUser(ctx, &secpkg.LogonRequest{Identity: bob})
	wantStatus(t, unknown, secpkg.StatusLogonDenied)
	_, wrong := e.cli.LogonUser(ctx, &secpkg.LogonRequest{Identity: secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte("bad")}})
	if unknown.Error() != wrong.Error() || e.cliLSA.lastAudit().Reason != "wrong password" {
		t.Fatalf("unknown account %v, wrong password %v (audit %+v)", unknown, wrong, e.cliLSA.lastAudit())
	}
	netonly, err := e.cli.LogonUser(ctx, &secpkg.LogonRequest{Identity: bob, Type: secpkg.LogonNewCredentials})
	if err != nil || netonly.User != "bob" || netonly.Domain != "REMOTE" {
		t.Fatalf("new credentials logon: %+v, %v", netonly, err)
	}
	v, _ := e.cli.MakeVerifier(ctx, testUser, testDomain, []byte(testPassword))
	if nt := ntowfv1([]byte(testPassword)); !bytes.Equal(v, nt[:]) {
		t.Fatal("verifier is not the NT hash")
	}
}

func TestErrorsAreSticky(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{editAuth: func(b []byte) []byte { b[micOffset] ^= 1; return b }})
	wantStatus(t, r.srvErr, secpkg.StatusMessageAltered)
	_, err := e.srv.AcceptLsaModeContext(context.Background(), &secpkg.AcceptContextRequest{Context: r.srvCtx, Token: r.auth})
	wantStatus(t, err, secpkg.StatusMessageAltered)
	_, err = e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
	wantStatus(t, err, secpkg.StatusMessageAltered)
	if err := e.srv.DeleteContext(context.Background(), r.srvCtx); err != nil {
		t.Fatal(err)
	}
	// Deleting a half-built context works too.
	r = e.handshake(hsOpts{editChal: func(b []byte) []byte { return b[:10] }})
	wantStatus(t, r.cliErr, secpkg.StatusInvalidToken)
	if err := e.srv.DeleteContext(context.Background(), r.srvCtx); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.DeleteContext(context.Background(), r.cliCtx); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownWipes: SpShutdown drops every credential and context handle
// and wipes the NT hashes and session keys they held.
func TestShutdownWipes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	if err := r.err(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cc, err := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := e.cli.creds.Get(cc.Handle)
	lc, _ := e.cli.ctxs.Get(r.cliCtx)
	sess := lc.sess
	if cred.ntHash == ([16]byte{}) || !sess.hasKeys {
		t.Fatal("nothing to wipe")
	}
	if err := e.cli.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if cred.ntHash != ([16]byte{}) || sess.hasKeys || sess.exportedKey != ([16]byte{}) {
		t.Fatal("Shutdown left secrets behind")
	}
	_, err = e.cli.QueryCredentialsAttributes(ctx, cc.Handle)
	wantStatus(t, err, secpkg.StatusInvalidHandle)
	_, err = e.cli.QueryContextAttributes(ctx, r.cliCtx)
	wantStatus(t, err, secpkg.StatusInvalidHandle)
}
