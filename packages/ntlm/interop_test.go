package ntlm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Interoperability with gss-ntlmssp, the NTLM mechanism of MIT GSS-API,
// through testdata/interop/gss_peer.c. Skipped unless NTLM_GSS_PEER names
// the built peer:
//
//	gcc -O2 -o /tmp/gss_peer testdata/interop/gss_peer.c $(krb5-config --cflags --libs gssapi)
//	NTLM_GSS_PEER=/tmp/gss_peer go test -run Interop -v
//
// (Debian: apt-get install gss-ntlmssp libkrb5-dev gcc.)

type gssPeer struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startGSSPeer(t *testing.T, args ...string) *gssPeer {
	t.Helper()
	bin := os.Getenv("NTLM_GSS_PEER")
	if bin == "" {
		t.Skip("NTLM_GSS_PEER not set")
	}
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(testDomain+":"+testUser+":"+testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"NTLM_USER_FILE="+users,
		"NETBIOS_COMPUTER_NAME=GSSPEER", "NETBIOS_DOMAIN_NAME="+testDomain,
		"KRB5_CONFIG="+filepath.Join(dir, "none.conf"), "KRB5CCNAME=FILE:"+filepath.Join(dir, "none"),
		"KRB5_KTNAME=FILE:"+filepath.Join(dir, "none.kt"))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return &gssPeer{t: t, cmd: cmd, in: in, out: bufio.NewReader(out)}
}

func (p *gssPeer) send(s string) {
	if _, err := io.WriteString(p.in, s+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

func (p *gssPeer) sendHex(prefix string, b []byte) {
	h := hex.EncodeToString(b)
	if h == "" {
		h = "-"
	}
	p.send(prefix + h)
}

func (p *gssPeer) line() string {
	l, err := p.out.ReadString('\n')
	if err != nil {
		p.t.Fatalf("gss peer: %v", err)
	}
	return strings.TrimSpace(l)
}

func (p *gssPeer) hexLine() []byte {
	l := p.line()
	if l == "error" {
		p.t.Fatal("gss peer reported an error")
	}
	b, err := hex.DecodeString(l)
	if err != nil {
		p.t.Fatalf("gss peer: %q", l)
	}
	return b
}

// gssWrap seals with our context into gss-ntlmssp's wrap token layout:
// the signature, then the sealed data.
func gssWrap(t *testing.T, u secpkg.UserContext, msg []byte) []byte {
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, 16)}, {Type: secpkg.BufferData, Data: append([]byte(nil), msg...)}}
	if err := u.SealMessage(0, buf, 0); err != nil {
		t.Fatal(err)
	}
	return append(buf[0].Data, buf[1].Data...)
}

func gssUnwrap(t *testing.T, u secpkg.UserContext, tok []byte) []byte {
	buf := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: tok[:16]}, {Type: secpkg.BufferData, Data: tok[16:]}}
	if _, err := u.UnsealMessage(buf, 0); err != nil {
		t.Fatalf("unsealing gss-ntlmssp's token: %v", err)
	}
	return buf[1].Data
}

func exchangeMessages(t *testing.T, p *gssPeer, u secpkg.UserContext) {
	for i, msg := range []string{"hello from Go", "second message", strings.Repeat("x", 5000)} {
		p.sendHex("unwrap ", gssWrap(t, u, []byte(msg)))
		if got := p.hexLine(); string(got) != msg {
			t.Fatalf("message %d: gss-ntlmssp unwrapped %q", i, got)
		}
		p.sendHex("wrap ", []byte(msg+" back"))
		if got := gssUnwrap(t, u, p.hexLine()); string(got) != msg+" back" {
			t.Fatalf("message %d: we unwrapped %q", i, got)
		}
	}
	// Signatures both ways.
	p.sendHex("mic ", []byte("signed by gss"))
	mic := p.hexLine()
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("signed by gss")}, {Type: secpkg.BufferToken, Data: mic}}
	if _, err := u.VerifySignature(buf, 0); err != nil {
		t.Fatalf("verifying gss-ntlmssp's MIC: %v", err)
	}
	buf = []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("signed by Go")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	if err := u.MakeSignature(0, buf, 0); err != nil {
		t.Fatal(err)
	}
	p.send("verify " + hex.EncodeToString([]byte("signed by Go")) + " " + hex.EncodeToString(buf[1].Data))
	if l := p.line(); l != "ok" {
		t.Fatalf("gss-ntlmssp did not verify our MIC: %s", l)
	}
	// A tampered token is refused by the peer.
	tok := gssWrap(t, u, []byte("tampered"))
	tok[len(tok)-1] ^= 1
	p.sendHex("unwrap ", tok)
	if l := p.line(); l != "error" {
		t.Fatalf("gss-ntlmssp accepted a tampered token: %s", l)
	}
}

// TestInteropGoClientGSSServer: our initiator, gss-ntlmssp's acceptor.
func TestInteropGoClientGSSServer(t *testing.T) {
	p := startGSSPeer(t, "accept")
	e := newEnv(t, nil)
	ctx := context.Background()
	cc, _ := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
	res, err := e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: "HTTP/gsspeer", Flags: defaultISC})
	if err != nil {
		t.Fatal(err)
	}
	p.sendHex("", res.Token)
	chal := p.hexLine()
	res, err = e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: res.Context, Target: "HTTP/gsspeer", Flags: defaultISC, Token: chal})
	if err != nil {
		t.Fatal(err)
	}
	p.sendHex("", res.Token)
	if l := p.line(); !strings.HasPrefix(l, "done ") || !strings.Contains(strings.ToLower(l), testUser) {
		t.Fatalf("gss-ntlmssp acceptor: %q", l)
	}
	u, err := e.user.InitUserModeContext(secpkg.UserContextHandle(res.Context), res.ContextData)
	if err != nil {
		t.Fatal(err)
	}
	exchangeMessages(t, p, u)
}

// TestInteropGSSClientGoServer: gss-ntlmssp's initiator, our acceptor.
// gss-ntlmssp 1.2 sends no MIC, which the default configuration accepts
// (it announces none) and RequireMIC refuses.
func TestInteropGSSClientGoServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want secpkg.Status
	}{
		{"default", Config{}, secpkg.StatusOK},
		{"require-mic", Config{RequireMIC: true}, secpkg.StatusInvalidToken},
	} {
		t.Run(tt.name, func(t *testing.T) { interopGSSClient(t, &tt.cfg, tt.want) })
	}
}

// TestInteropChannelBindings: gss-ntlmssp's MsvAvChannelBindings hash of
// the gss_channel_bindings_struct equals ours.
func TestInteropChannelBindings(t *testing.T) {
	cb := &secpkg.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789")}
	other := &secpkg.ChannelBindings{ApplicationData: []byte("tls-server-end-point:9876543210")}
	cfg := &Config{}
	arg := hex.EncodeToString(cb.ApplicationData)
	t.Run("match", func(t *testing.T) { interopGSSClientCB(t, cfg, secpkg.StatusOK, cb, arg) })
	t.Run("mismatch", func(t *testing.T) { interopGSSClientCB(t, cfg, secpkg.StatusBadBindings, other, arg) })
}

func interopGSSClient(t *testing.T, cfg *Config, want secpkg.Status) {
	interopGSSClientCB(t, cfg, want, nil, "")
}

func interopGSSClientCB(t *testing.T, cfg *Config, want secpkg.Status, bindings *secpkg.ChannelBindings, cbArg string) {
	args := []string{"init", "HTTP@server.example.com"}
	if cbArg != "" {
		args = append(args, cbArg)
	}
	p := startGSSPeer(t, args...)
	e := newEnv(t, cfg)
	e.srvLSA.now = time.Now() // gss-ntlmssp checks our MsvAvTimestamp against its clock
	ctx := context.Background()
	sc, _ := e.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})
	neg := p.hexLine()
	res, err := e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: neg, Bindings: bindings})
	if err != nil {
		t.Fatal(err)
	}
	p.sendHex("", res.Token)
	auth := p.hexLine()
	res, err = e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: res.Context, Token: auth, Bindings: bindings})
	if want != secpkg.StatusOK {
		wantStatus(t, err, want)
		return
	}
	if err != nil {
		var am authenticateMsg
		am.unmarshal(auth)
		var blob ntlmv2ClientChallenge
		blob.unmarshal(am.ntResponse[ntProofStrSize:])
		t.Fatalf("accepting gss-ntlmssp: %v (flags %v, MIC %v, len %d, header %x, pairs %v)", err, am.flags, am.mic != nil, len(auth), auth[:96], blob.avPairs)
	}
	if l := p.line(); l != "done" {
		t.Fatalf("gss-ntlmssp initiator: %q", l)
	}
	attrs, _ := e.srv.QueryContextAttributes(ctx, res.Context)
	if bindings != nil && !attrs.Identity.Bindings.Matched() {
		t.Fatalf("bindings result %v", attrs.Identity.Bindings)
	}
	if attrs.Identity.User != testUser {
		t.Fatalf("identity %+v", attrs.Identity)
	}
	u, err := e.user.InitUserModeContext(secpkg.UserContextHandle(res.Context), res.ContextData)
	if err != nil {
		t.Fatal(err)
	}
	exchangeMessages(t, p, u)
}

// TestInteropMechListMIC: the mechListMIC of RFC 4178 section 5 against
// gss-ntlmssp, whose side is driven as MIT's SPNEGO drives it (gss_get_mic
// or gss_verify_mic, then GSS_NTLMSSP_RESET_CRYPTO_OID), in the order of
// the exchange: the initiator's MIC first, then the acceptor's. Each side
// checks the other's; then the context, mapped with the ContextData of
// our last MIC call, exchanges messages with the peer (MS-SPNG 3.3.5.1:
// the first is sequence number 1 under the RC4 state of before the MIC).
func TestInteropMechListMIC(t *testing.T) {
	ctx := context.Background()
	mechList := ntlmMechList
	t.Run("GoClient", func(t *testing.T) {
		p := startGSSPeer(t, "accept")
		e := newEnv(t, nil)
		cc, _ := e.cli.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: testUser, Domain: testDomain, Password: []byte(testPassword)}})
		res, err := e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Target: "HTTP/gsspeer", Flags: defaultISC})
		if err != nil {
			t.Fatal(err)
		}
		p.sendHex("", res.Token)
		chal := p.hexLine()
		res, err = e.cli.InitLsaModeContext(ctx, &secpkg.InitContextRequest{Credential: cc.Handle, Context: res.Context, Target: "HTTP/gsspeer", Flags: defaultISC, Token: chal})
		if err != nil {
			t.Fatal(err)
		}
		p.sendHex("", res.Token)
		if l := p.line(); !strings.HasPrefix(l, "done ") {
			t.Fatalf("gss-ntlmssp acceptor: %q", l)
		}
		mic, _, err := e.cli.MakeMechListMIC(ctx, res.Context, mechList)
		if err != nil {
			t.Fatal(err)
		}
		p.send("spnegoverify " + hex.EncodeToString(mechList) + " " + hex.EncodeToString(mic))
		if l := p.line(); l != "ok" {
			t.Fatalf("gss-ntlmssp refused our mechListMIC: %s", l)
		}
		p.sendHex("spnegomic ", mechList)
		theirs := p.hexLine()
		bad := bytes.Clone(theirs)
		bad[5] ^= 0x01
		_, err = e.cli.VerifyMechListMIC(ctx, res.Context, mechList, bad)
		wantStatus(t, err, secpkg.StatusMessageAltered)
		data, err := e.cli.VerifyMechListMIC(ctx, res.Context, mechList, theirs)
		if err != nil {
			t.Fatalf("verifying gss-ntlmssp's mechListMIC: %v", err)
		}
		u, err := e.user.InitUserModeContext(secpkg.UserContextHandle(res.Context), data)
		if err != nil {
			t.Fatal(err)
		}
		exchangeMessages(t, p, u)
	})
	t.Run("GoServer", func(t *testing.T) {
		p := startGSSPeer(t, "init", "HTTP@server.example.com")
		e := newEnv(t, nil)
		e.srvLSA.now = time.Now() // gss-ntlmssp checks our MsvAvTimestamp against its clock
		sc, _ := e.srv.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{Use: secpkg.CredentialInbound, Principal: testSPN})
		res, err := e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Token: p.hexLine()})
		if err != nil {
			t.Fatal(err)
		}
		p.sendHex("", res.Token)
		auth := p.hexLine()
		res, err = e.srv.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{Credential: sc.Handle, Context: res.Context, Token: auth})
		if err != nil {
			t.Fatal(err)
		}
		if l := p.line(); l != "done" {
			t.Fatalf("gss-ntlmssp initiator: %q", l)
		}
		p.sendHex("spnegomic ", mechList)
		if _, err := e.srv.VerifyMechListMIC(ctx, res.Context, mechList, p.hexLine()); err != nil {
			t.Fatalf("verifying gss-ntlmssp's mechListMIC: %v", err)
		}
		mic, data, err := e.srv.MakeMechListMIC(ctx, res.Context, mechList)
		if err != nil {
			t.Fatal(err)
		}
		p.send("spnegoverify " + hex.EncodeToString(mechList) + " " + hex.EncodeToString(mic))
		if l := p.line(); l != "ok" {
			t.Fatalf("gss-ntlmssp refused our mechListMIC: %s", l)
		}
		u, err := e.user.InitUserModeContext(secpkg.UserContextHandle(res.Context), data)
		if err != nil {
			t.Fatal(err)
		}
		exchangeMessages(t, p, u)
	})
}
