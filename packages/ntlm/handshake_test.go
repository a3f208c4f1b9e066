package ntlm

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

const (
	testDomain   = "EXAMPLE"
	testUser     = "alice"
	testPassword = "Passw0rd!"
	testSPN      = "HTTP/server.example.com"
)

// env is a client host and a server host, each with its own LSA.
type env struct {
	t          testing.TB
	cliLSA     *fakeLSA
	srvLSA     *fakeLSA
	cli, srv   *lsaPackage
	user       secpkg.UserPackage
	serverAcct *fakeAccount
}

func newEnv(t testing.TB, cfg *Config) *env {
	t.Helper()
	e := &env{t: t, cliLSA: newFakeLSA("client"), srvLSA: newFakeLSA("server")}
	e.serverAcct = e.srvLSA.addAccount(testDomain, testUser, testPassword)
	e.cli = newLSAPackage(t, cfg, e.cliLSA, "CLIENT1")
	e.srv = newLSAPackage(t, cfg, e.srvLSA, "SERVER1")
	_, up, err := New(cfg).(secpkg.UserModeInitializer).UserModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.InstanceInit(secpkg.InterfaceVersion, nil); err != nil {
		t.Fatal(err)
	}
	e.user = up
	return e
}

// hsOpts varies one handshake.
type hsOpts struct {
	identity    *secpkg.AuthIdentity // default: alice
	isc         secpkg.ISCFlags      // default: defaultISC
	asc         secpkg.ASCFlags
	target      *string // default: testSPN
	principal   *string // default: testSPN
	cliBindings *secpkg.ChannelBindings
	srvBindings *secpkg.ChannelBindings
	editNeg     func([]byte) []byte
	editChal    func([]byte) []byte
	editAuth    func([]byte) []byte
	// forge replaces the client's AUTHENTICATE_MESSAGE entirely.
	forge func(neg, chal []byte) []byte
}

const defaultISC = secpkg.ISCReqConfidentiality | secpkg.ISCReqIntegrity | secpkg.ISCReqReplayDetect | secpkg.ISCReqSequenceDetect

// hsResult is what a handshake produced.
type hsResult struct {
	neg, chal, auth []byte
	cliErr, srvErr  error // the first failure on each side
	cliRes, srvRes  *secpkg.ContextResult
	cliCtx, srvCtx  secpkg.Handle
	cliUser         secpkg.UserContext
	srvUser         secpkg.UserContext
}

// err returns the first failure of the handshake.
func (r *hsResult) err() error {
	if r.cliErr != nil {
		return r.cliErr
	}
	return r.srvErr
}

func str(s string) *string { return &s }

// handshake runs client leg 1, server leg 1, client leg 2, server leg 2,
// stopping at the first failure.
func (e *env) handshake(o hsOpts) *hsResult {
	e.t.Helper()
	ctx := context.Background()
	id := o.identity
	if id == nil {
		id = &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}
	}
	isc := o.isc
	if isc == 0 {
		isc = defaultISC
	}
	target, principal := testSPN, testSPN
	if o.target != nil {
		target = *o.target
	}
	if o.principal != nil {
		principal = *o.principal
	}
	cc, err := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: id})
	if err != nil {
		e.t.Fatal(err)
	}
	sc, err := e.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: principal})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.handshakeWith(cc.Handle, sc.Handle, isc, target, o)
}

func (e *env) handshakeWith(cliCred, srvCred secpkg.Handle, isc secpkg.ISCFlags, target string, o hsOpts) *hsResult {
	e.t.Helper()
	ctx := context.Background()
	r := &hsResult{}
	res, err := e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cliCred, Target: target, Flags: isc, Bindings: o.cliBindings})
	if err != nil {
		r.cliErr = err
		return r
	}
	r.cliCtx, r.neg = res.Context, res.Token
	if res.Status != secpkg.StatusContinueNeeded {
		e.t.Fatalf("client leg 1 status %v", res.Status)
	}
	if o.editNeg != nil {
		r.neg = o.editNeg(append([]byte(nil), r.neg...))
	}
	res, err = e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: srvCred, Flags: o.asc, Token: r.neg, Bindings: o.srvBindings})
	if err != nil {
		r.srvErr = err
		return r
	}
	r.srvCtx, r.chal = res.Context, res.Token
	if res.Status != secpkg.StatusContinueNeeded {
		e.t.Fatalf("server leg 1 status %v", res.Status)
	}
	if o.editChal != nil {
		r.chal = o.editChal(append([]byte(nil), r.chal...))
	}
	if o.forge != nil {
		r.auth = o.forge(r.neg, r.chal)
	} else {
		res, err = e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cliCred, Context: r.cliCtx, Target: target, Flags: isc, Token: r.chal, Bindings: o.cliBindings})
		if err != nil {
			r.cliErr = err
			return r
		}
		r.cliRes, r.auth = res, res.Token
		if res.Status != secpkg.StatusOK || !res.Mapped {
			e.t.Fatalf("client leg 2 status %v mapped %v", res.Status, res.Mapped)
		}
	}
	if o.editAuth != nil {
		r.auth = o.editAuth(append([]byte(nil), r.auth...))
	}
	res, err = e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: srvCred, Context: r.srvCtx, Flags: o.asc, Token: r.auth, Bindings: o.srvBindings})
	if err != nil {
		r.srvErr = err
		return r
	}
	r.srvRes = res
	if res.Status != secpkg.StatusOK || !res.Mapped {
		e.t.Fatalf("server leg 2 status %v mapped %v", res.Status, res.Mapped)
	}
	if r.cliRes != nil {
		if r.cliUser, err = e.user.InitUserModeContext(secpkg.UserContextHandle(r.cliCtx), r.cliRes.ContextData); err != nil {
			e.t.Fatalf("client InitUserModeContext: %v", err)
		}
	}
	if r.srvUser, err = e.user.InitUserModeContext(secpkg.UserContextHandle(r.srvCtx), r.srvRes.ContextData); err != nil {
		e.t.Fatalf("server InitUserModeContext: %v", err)
	}
	return r
}

// wantStatus fails unless err carries exactly st.
func wantStatus(t testing.TB, err error, st secpkg.Status) {
	t.Helper()
	if st == secpkg.StatusOK {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("succeeded, want %v", st)
	}
	if got := secpkg.StatusOf(err); got != st {
		t.Fatalf("status %v (%v), want %v", got, err, st)
	}
}

// sealRoundTrip seals on from and unseals on to.
func sealRoundTrip(t testing.TB, from, to secpkg.UserContext, msg string) {
	t.Helper()
	data := []byte(msg)
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: data}}
	if err := from.SealMessage(0, buf, 0); err != nil {
		t.Fatalf("seal: %v", err)
	}
	if bytes.Equal(buf[1].Data, []byte(msg)) && len(msg) > 4 {
		t.Fatal("sealed data equals plaintext")
	}
	if _, err := to.UnsealMessage(buf, 0); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	if string(buf[1].Data) != msg {
		t.Fatalf("unsealed %q, want %q", buf[1].Data, msg)
	}
}

// signRoundTrip signs on from and verifies on to.
func signRoundTrip(t testing.TB, from, to secpkg.UserContext, msg string) {
	t.Helper()
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte(msg)}, {Type: secpkg.BufferToken, Data: make([]byte, 32)}}
	if err := from.MakeSignature(0, buf, 0); err != nil {
		t.Fatalf("sign: %v", err)
	}
	if len(buf[1].Data) != 16 {
		t.Fatalf("signature of %d bytes", len(buf[1].Data))
	}
	if _, err := to.VerifySignature(buf, 0); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestHandshakeRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{asc: secpkg.ASCReqConfidentiality | secpkg.ASCReqReplayDetect})
	wantStatus(t, r.err(), secpkg.StatusOK)

	for i := range 3 {
		sealRoundTrip(t, r.cliUser, r.srvUser, "client to server")
		sealRoundTrip(t, r.srvUser, r.cliUser, "server to client, reply")
		signRoundTrip(t, r.cliUser, r.srvUser, "signed")
		signRoundTrip(t, r.srvUser, r.cliUser, "signed back")
		_ = i
	}
	want := secpkg.FlagIntegrity | secpkg.FlagConfidentiality | secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect | secpkg.FlagConnection
	if r.cliRes.Flags != want {
		t.Errorf("client flags %v, want %v", r.cliRes.Flags, want)
	}
	if r.srvRes.Flags != want {
		t.Errorf("server flags %v", r.srvRes.Flags)
	}
	k1, err1 := r.cliUser.SessionKey()
	k2, err2 := r.srvUser.SessionKey()
	if err1 != nil || err2 != nil || !bytes.Equal(k1, k2) || len(k1) != 16 {
		t.Errorf("session keys %x %x (%v %v)", k1, k2, err1, err2)
	}
	attrs, err := e.srv.QueryContextAttributes(context.Background(), r.srvCtx)
	if err != nil {
		t.Fatal(err)
	}
	id := attrs.Identity
	if id == nil || id.User != testUser || id.Domain != testDomain || id.Workstation != "CLIENT1" || id.Package != "NTLM" || id.Anonymous {
		t.Fatalf("identity %+v", id)
	}
	if id.Bindings != secpkg.BindingsClientSupport|secpkg.BindingsAbsent {
		t.Errorf("bindings result %v", id.Bindings)
	}
	if attrs.UserName != `EXAMPLE\alice` || attrs.NegotiatedPackage != "NTLM" || attrs.Sizes.MaxSignature != 16 || attrs.Sizes.SecurityTrailer != 16 || attrs.Sizes.BlockSize != 0 {
		t.Errorf("attributes %+v", attrs)
	}
	cattrs, err := e.cli.QueryContextAttributes(context.Background(), r.cliCtx)
	if err != nil || cattrs.ServerName != testSPN || cattrs.UserName != `EXAMPLE\alice` {
		t.Errorf("client attributes %+v, %v", cattrs, err)
	}
	if ev := e.srvLSA.lastAudit(); ev.Kind != secpkg.AuditLogonSuccess || ev.Principal != `EXAMPLE\alice` {
		t.Errorf("audit %+v", ev)
	}
	if len(e.srvLSA.reports) != 1 || !e.srvLSA.reports[0].success {
		t.Errorf("reports %+v", e.srvLSA.reports)
	}
	// The MIC is present and MsvAvFlags announces it.
	var am authenticateMsg
	if err := am.unmarshal(r.auth); err != nil || am.mic == nil {
		t.Fatalf("AUTHENTICATE_MESSAGE without MIC: %v", err)
	}
	if len(r.auth) > maxToken || len(r.neg) > maxToken || len(r.chal) > maxToken {
		t.Errorf("token longer than MaxToken")
	}
}

// TestPackedContextHoldsNoSecret checks that neither packed context holds
// the NT hash, the NTOWFv2 key or the password.
func TestPackedContextHoldsNoSecret(t *testing.T) {
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	nt := ntowfv1([]byte(testPassword))
	v2 := ntowfv2(nt[:], testUser, testDomain)
	for _, data := range [][]byte{r.cliRes.ContextData, r.srvRes.ContextData} {
		for _, secret := range [][]byte{nt[:], v2[:], []byte(testPassword), encodeUTF16(testPassword)} {
			if bytes.Contains(data, secret) {
				t.Fatalf("packed context contains a secret")
			}
		}
	}
}

func TestGetInfo(t *testing.T) {
	e := newEnv(t, nil)
	info := e.srv.GetInfo()
	want := secpkg.PackageInfo{
		Capabilities: secpkg.CapIntegrity | secpkg.CapPrivacy | secpkg.CapTokenOnly | secpkg.CapConnection |
			secpkg.CapMultiRequired | secpkg.CapImpersonation | secpkg.CapAcceptWin32Name | secpkg.CapNegotiable | secpkg.CapLogon,
		Version: 1, RPCID: 10, MaxToken: 2888, Name: "NTLM", Comment: "NTLM Security Package",
	}
	if info != want {
		t.Fatalf("GetInfo = %+v, want %+v", info, want)
	}
}

func TestCredentialRedacts(t *testing.T) {
	e := newEnv(t, nil)
	res, err := e.cli.AcquireCredentialsHandle(context.Background(), &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.cli.creds.Get(res.Handle)
	nt := ntowfv1([]byte(testPassword))
	if c.ntHash != nt {
		t.Fatal("credential does not hold the NT hash")
	}
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
		if !bytes.Contains([]byte(s), []byte("REDACTED")) || bytes.Contains([]byte(s), []byte(string(nt[:]))) {
			t.Fatalf("credential prints %q", s)
		}
	}
	q, err := e.cli.QueryCredentialsAttributes(context.Background(), res.Handle)
	if err != nil || q.Name != `EXAMPLE\alice` {
		t.Fatalf("QueryCredentialsAttributes = %+v, %v", q, err)
	}
	if err := e.cli.FreeCredentialsHandle(context.Background(), res.Handle); err != nil {
		t.Fatal(err)
	}
	if c.ntHash != ([16]byte{}) {
		t.Fatal("freed credential not wiped")
	}
	if _, err := e.cli.QueryCredentialsAttributes(context.Background(), res.Handle); !errors.Is(err, secpkg.StatusInvalidHandle) {
		t.Fatalf("query after free: %v", err)
	}
}
