package krb5

// Wire compatibility with MIT krb5 1.20's GSS-API mechanism, both ways:
// MIT's initiator against our VerifyAPReq and NewAPRep, our NewAPReq and
// VerifyAPRep against MIT's acceptor; delegation, channel bindings and
// error tokens included. MIT runs in testdata/mit_peer.py
// (python3-gssapi); the tokens cross a pipe.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/opensspi/sspi/secpkg"
)

const mitPython = "/usr/bin/python3"

// krb5OID is the Kerberos mechanism's OID, DER (RFC 1964 1.1).
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// GSS token identifiers (RFC 4121 4.1).
var (
	tokAPReq  = []byte{0x01, 0x00}
	tokAPRep  = []byte{0x02, 0x00}
	tokKRBErr = []byte{0x03, 0x00}
)

// gssWrap frames a Kerberos message as an RFC 2743 3.1 token.
func gssWrap(tokID, msg []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0).Constructed()|0x40, func(b *cryptobyte.Builder) {
		b.AddBytes(krb5OID)
		b.AddBytes(tokID)
		b.AddBytes(msg)
	})
	return b.BytesOrPanic()
}

// gssUnwrap removes the framing, checking the mechanism and token id.
func gssUnwrap(t testing.TB, tok []byte, tokID []byte) []byte {
	t.Helper()
	s := cryptobyte.String(tok)
	var inner cryptobyte.String
	if !s.ReadASN1(&inner, cbasn1.Tag(0).Constructed()|0x40) || !s.Empty() ||
		!bytes.HasPrefix(inner, krb5OID) || !bytes.HasPrefix(inner[len(krb5OID):], tokID) {
		t.Fatalf("not a Kerberos GSS token of type %x: %x", tokID, tok)
	}
	return inner[len(krb5OID)+2:]
}

// mitPeer is one run of testdata/mit_peer.py.
type mitPeer struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startMIT starts the MIT peer with the realm's environment, a fresh
// ccache and a fresh replay cache directory.
func startMIT(t testing.TB, r *liveRealm, args ...string) *mitPeer {
	t.Helper()
	if _, err := os.Stat(mitPython); err != nil {
		needPeer(t, "Debian's /usr/bin/python3")
	}
	if err := exec.Command(mitPython, "-c", "import gssapi").Run(); err != nil {
		needPeer(t, "python3-gssapi")
	}
	dir := t.TempDir()
	cmd := exec.Command(mitPython, append([]string{"testdata/mit_peer.py"}, args...)...)
	cmd.Env = append(os.Environ(), "KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"), "KRB5RCACHEDIR="+dir)
	cmd.Stderr = &testWriter{t}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &mitPeer{t: t, cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	return p
}

func needPeer(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
		t.Fatalf("MIT peer needs %s (scripts/setup.sh installs it)", what)
	}
	t.Skipf("MIT peer needs %s", what)
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (p *mitPeer) send(tok []byte) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, "TOK "+base64.StdEncoding.EncodeToString(tok)+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// line reads one line: TOK returns the token, DONE and FAIL their JSON.
func (p *mitPeer) line() (kind string, tok []byte, result map[string]any) {
	p.t.Helper()
	l, err := p.out.ReadString('\n')
	if err != nil {
		p.t.Fatalf("MIT peer: %v", err)
	}
	kind, rest, _ := strings.Cut(strings.TrimSpace(l), " ")
	switch kind {
	case "TOK":
		if tok, err = base64.StdEncoding.DecodeString(rest); err != nil {
			p.t.Fatal(err)
		}
	case "DONE", "FAIL":
		if err := json.Unmarshal([]byte(rest), &result); err != nil {
			p.t.Fatal(err)
		}
	default:
		p.t.Fatalf("MIT peer said %q", l)
	}
	return kind, tok, result
}

func (p *mitPeer) token() []byte {
	p.t.Helper()
	kind, tok, res := p.line()
	if kind != "TOK" {
		p.t.Fatalf("expected a token, got %s %v", kind, res)
	}
	return tok
}

func (p *mitPeer) done() map[string]any {
	p.t.Helper()
	kind, _, res := p.line()
	if kind != "DONE" {
		p.t.Fatalf("MIT peer: %s %v", kind, res)
	}
	return res
}

func (p *mitPeer) fail() string {
	p.t.Helper()
	kind, _, res := p.line()
	if kind != "FAIL" {
		p.t.Fatalf("MIT peer succeeded: %v", res)
	}
	return res["error"].(string)
}

func flat(appData []byte) []byte {
	return (&secpkg.ChannelBindings{ApplicationData: appData}).GSSEncoding()
}

func TestMITInitiatorOurAcceptor(t *testing.T) {
	t.Parallel()
	r := realm(t)
	cb := []byte("tls-server-end-point:0123")
	p := startMIT(t, r, "initiate", r.Service, "--flags", "mutual,replay,sequence,conf,integ", "--cb-hex", hex.EncodeToString(cb))
	req := gssUnwrap(t, p.token(), tokAPReq)
	acc := r.acceptor(t)
	acc.Bindings = flat(cb)
	got, err := acc.VerifyAPReq(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := GSSMutual | GSSReplay | GSSSequence | GSSConf | GSSInteg
	if !got.Client.Equal(r.principal(t, r.User)) || !got.Server.Equal(HostBasedService("host", "localhost", r.Realm)) ||
		got.Flags&want != want || !got.MutualRequired || got.Bindings != BindingsMatched || got.Subkey.IsZero() {
		t.Fatalf("accepted %v", got)
	}
	rep, err := got.NewAPRep(APRepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.send(gssWrap(tokAPRep, rep.Message))
	res := p.done()
	// MIT's initiator uses our acceptor subkey.
	if res["session_key"] != hex.EncodeToString(rep.Subkey.Bytes()) {
		t.Fatalf("MIT's session key %v, our subkey differs", res["session_key"])
	}
	t.Logf("MIT initiator: %v", res)
}

func TestMITInitiatorBindingsMismatch(t *testing.T) {
	t.Parallel()
	r := realm(t)
	p := startMIT(t, r, "initiate", r.Service, "--cb-hex", hex.EncodeToString([]byte("theirs")))
	acc := r.acceptor(t)
	acc.Bindings = flat([]byte("ours"))
	_, err := acc.VerifyAPReq(context.Background(), gssUnwrap(t, p.token(), tokAPReq))
	if !errors.Is(err, ErrBadBindings) {
		t.Fatalf("got %v", err)
	}
}

// TestMITInitiatorErrorToken sends MIT's initiator our KRB-ERROR for an
// AP-REQ refused for clock skew; it must report the skew.
func TestMITInitiatorErrorToken(t *testing.T) {
	t.Parallel()
	r := realm(t)
	p := startMIT(t, r, "initiate", r.Service)
	acc := r.acceptor(t)
	acc.Time = func() time.Time { return time.Now().Add(time.Hour) }
	_, err := acc.VerifyAPReq(context.Background(), gssUnwrap(t, p.token(), tokAPReq))
	wantCode(t, err, APErrSkew)
	p.send(gssWrap(tokKRBErr, MarshalKRBError(err, HostBasedService("host", "localhost", r.Realm), acc.Time())))
	if msg := p.fail(); !strings.Contains(msg, "Clock skew too great") {
		t.Fatalf("MIT says %q", msg)
	}
}

func TestMITInitiatorDelegation(t *testing.T) {
	t.Parallel()
	r := realm(t)
	p := startMIT(t, r, "initiate", r.Service, "--flags", "mutual,deleg")
	msg := gssUnwrap(t, p.token(), tokAPReq)
	got, err := r.acceptor(t).VerifyAPReq(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	// Which key MIT encrypts the KRB-CRED in (RFC 4121 4.1.1 says the
	// session key; ParseKRBCred also takes the subkey and etype 0).
	var m apReq
	_ = m.unmarshal(msg)
	pt, _ := m.Authenticator.open(got.SessionKey, usageAPReqAuth)
	var auth authenticator
	_ = auth.unmarshal(pt)
	gc, _ := parseGSSChecksum(auth.Cksum.Sum)
	var kc krbCred
	_ = kc.unmarshal(gc.Deleg)
	_, errSession := kc.EncPart.open(got.SessionKey, usageKRBCred)
	if errSession != nil {
		t.Errorf("MIT's KRB-CRED (etype %v) does not open with the session key", kc.EncPart.EType)
	}
	d := got.Delegated
	if d == nil || got.Flags&GSSDeleg == 0 || !d.Client.Equal(got.Client) || !d.Flags.Has(FlagForwarded) {
		t.Fatalf("delegated %v, flags %v", d, got.Flags)
	}
	rep, _ := got.NewAPRep(APRepOptions{})
	p.send(gssWrap(tokAPRep, rep.Message))
	if res := p.done(); res["delegated"] != true {
		t.Fatalf("MIT: %v", res)
	}
	// The delegated TGT gets us a ticket from the KDC...
	cred := r.serviceTicket(t, d, r.HTTPService)
	// ... and, written as a ccache, MIT's kvno uses it too.
	cc := filepath.Join(t.TempDir(), "delegated")
	if err := os.WriteFile(cc, (&CCache{Principal: d.Client, Credentials: []*Credential{d}}).Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("kvno", "-c", "FILE:"+cc, "host/localhost").CombinedOutput()
	if err != nil {
		t.Fatalf("kvno with the delegated TGT: %v\n%s", err, out)
	}
	t.Logf("kvno: %s; HTTP ticket %v", bytes.TrimSpace(out), cred)
}

func TestOurInitiatorMITAcceptor(t *testing.T) {
	t.Parallel()
	r := realm(t)
	tgt := r.tgt(t)
	c := r.client(t)
	sp, _ := c.Config.ServicePrincipal(r.Service)
	for _, e := range DefaultETypes {
		t.Run(e.String(), func(t *testing.T) {
			t.Parallel()
			cred, err := c.GetServiceTicket(testContext(t), tgt, sp, &TGSOptions{ETypes: []EType{e}})
			if err != nil {
				t.Fatal(err)
			}
			cb := []byte("bindings")
			p := startMIT(t, r, "accept", "--cb-hex", hex.EncodeToString(cb))
			req, err := NewAPReq(cred, APReqOptions{Flags: GSSMutual | GSSInteg | GSSConf | GSSSequence | GSSReplay, MutualRequired: true, Bindings: flat(cb)})
			if err != nil {
				t.Fatal(err)
			}
			p.send(gssWrap(tokAPReq, req.Message))
			rep, err := req.VerifyAPRep(gssUnwrap(t, p.token(), tokAPRep))
			if err != nil {
				t.Fatal(err)
			}
			res := p.done()
			if res["initiator"] != r.User+"@"+r.Realm || res["session_key"] != hex.EncodeToString(rep.Subkey.Bytes()) || rep.Subkey.EType() != e {
				t.Fatalf("MIT acceptor: %v; our AP-REP %v", res, rep)
			}
		})
	}
}

func TestOurInitiatorMITAcceptorBindingsMismatch(t *testing.T) {
	t.Parallel()
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	p := startMIT(t, r, "accept", "--cb-hex", hex.EncodeToString([]byte("theirs")))
	req, _ := NewAPReq(cred, APReqOptions{Flags: GSSMutual, MutualRequired: true, Bindings: flat([]byte("ours"))})
	p.send(gssWrap(tokAPReq, req.Message))
	// MIT answers with a KRB-ERROR token (KRB_ERR_GENERIC), then fails.
	_, err := req.VerifyAPRep(gssUnwrap(t, p.token(), tokKRBErr))
	var ke *KRBError
	if !errors.As(err, &ke) || ke.Code != KRBErrGeneric || !ke.Server.Equal(cred.Server) {
		t.Fatalf("got %v", err)
	}
	if msg := p.fail(); !strings.Contains(strings.ToLower(msg), "channel bindings") {
		t.Fatalf("MIT says %q", msg)
	}
}

// TestOurInitiatorMITAcceptorSkew sends MIT's acceptor an authenticator
// an hour ahead: its KRB-ERROR token must reach us as KRB_AP_ERR_SKEW.
func TestOurInitiatorMITAcceptorSkew(t *testing.T) {
	t.Parallel()
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	p := startMIT(t, r, "accept")
	req, _ := NewAPReq(cred, APReqOptions{Flags: GSSMutual, MutualRequired: true, Time: func() time.Time { return time.Now().Add(time.Hour) }})
	p.send(gssWrap(tokAPReq, req.Message))
	_, err := req.VerifyAPRep(gssUnwrap(t, p.token(), tokKRBErr))
	wantCode(t, err, APErrSkew)
	if msg := p.fail(); !strings.Contains(msg, "Clock skew too great") {
		t.Fatalf("MIT says %q", msg)
	}
}

func TestOurInitiatorMITAcceptorDelegation(t *testing.T) {
	t.Parallel()
	r := realm(t)
	c := r.client(t)
	tgt := r.tgt(t)
	cred := r.serviceTicket(t, tgt, r.Service)
	fwd, err := c.GetForwardedTGT(testContext(t), tgt)
	if err != nil {
		t.Fatal(err)
	}
	cc := filepath.Join(t.TempDir(), "deleg")
	p := startMIT(t, r, "accept", "--deleg-ccache", cc)
	req, _ := NewAPReq(cred, APReqOptions{Flags: GSSMutual | GSSDeleg, MutualRequired: true, Delegate: fwd})
	p.send(gssWrap(tokAPReq, req.Message))
	if _, err := req.VerifyAPRep(gssUnwrap(t, p.token(), tokAPRep)); err != nil {
		t.Fatal(err)
	}
	if res := p.done(); res["delegated"] != true {
		t.Fatalf("MIT: %v", res)
	}
	// MIT stored the TGT we delegated; read its ccache and use the TGT.
	b, err := os.ReadFile(cc)
	if err != nil {
		t.Fatal(err)
	}
	ccache, err := ParseCCache(b)
	if err != nil {
		t.Fatal(err)
	}
	d := ccache.TGT()
	if d == nil || !d.SessionKey.Equal(fwd.SessionKey) || !bytes.Equal(d.Ticket, fwd.Ticket) {
		t.Fatalf("MIT stored %v", ccache)
	}
	r.serviceTicket(t, d, r.HTTPService)
}

// TestMITCCache reads ccaches that MIT's kinit and kvno wrote, in both
// versions, and uses their tickets.
func TestMITCCache(t *testing.T) {
	t.Parallel()
	r := realm(t)
	for _, version := range []int{3, 4} {
		t.Run("v"+string(rune('0'+version)), func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "krb5.conf")
			if err := os.WriteFile(conf, []byte("[libdefaults]\n\tccache_type = "+string(rune('0'+version))+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cc := "FILE:" + filepath.Join(dir, "ccache")
			env := append(os.Environ(), "KRB5_CONFIG="+conf+":"+r.Config, "KRB5CCNAME="+cc)
			kinit := exec.Command("kinit", r.User)
			kinit.Env, kinit.Stdin = env, strings.NewReader(r.Password+"\n")
			if out, err := kinit.CombinedOutput(); err != nil {
				t.Fatalf("kinit: %v %s", err, out)
			}
			kvno := exec.Command("kvno", "host/localhost")
			kvno.Env = env
			if out, err := kvno.CombinedOutput(); err != nil {
				t.Fatalf("kvno: %v %s", err, out)
			}
			b, err := os.ReadFile(strings.TrimPrefix(cc, "FILE:"))
			if err != nil {
				t.Fatal(err)
			}
			ccache, err := ParseCCache(b)
			if err != nil {
				t.Fatal(err)
			}
			svc := ccache.Get(HostBasedService("host", "localhost", r.Realm))
			if ccache.Version != version || ccache.TGT() == nil || svc == nil || !ccache.Principal.Equal(r.principal(t, r.User)) {
				t.Fatalf("read %v", ccache)
			}
			// The TGT works with our TGS exchange, the service ticket with
			// our acceptor.
			r.serviceTicket(t, ccache.TGT(), r.HTTPService)
			req, err := NewAPReq(svc, APReqOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message); err != nil {
				t.Fatal(err)
			}
			// Our writer round-trips what we read.
			again, err := ParseCCache(ccache.Marshal())
			if err != nil || len(again.Credentials) != len(ccache.Credentials) {
				t.Fatalf("round trip: %v %v", again, err)
			}
		})
	}
}
