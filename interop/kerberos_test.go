package interop

// Kerberos against MIT krb5 1.20's GSS-API mechanism (driven through
// python3-gssapi by peers/gss_peer.py --mech krb5), with the MIT KDC of
// scripts/dev-realm.sh: our initiator to their acceptor and theirs to
// ours, in both provider modes, with and without mutual authentication;
// protected messages both ways (sealed and integrity-only wrap tokens,
// MICs) at 0 B, 1 B, 1 KiB and 64 KiB; channel bindings matching,
// mismatched and absent; each AES encryption type as the ticket's
// session key and the subkeys; and delegation both ways.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

func init() { secpkg.Register(kerberos.Name, kerberos.New(nil)) }

// krbRealm is the MIT realm of scripts/dev-realm.sh (the SSPI_KRB5_*
// variables of `dev-realm.sh env`).
type krbRealm struct {
	Realm, Config, Keytab   string
	User, Password          string
	Service, HTTPService    string // host@localhost, HTTP@localhost
	DelegateService         string // host@trusted.localhost, ok-as-delegate
	UserPrincipal           string // alice@OPENSSPI.TEST
	ServiceSPN, DelegateSPN string // host/localhost, host/trusted.localhost
}

// requireRealm returns the realm, or skips the test without one (fails it
// under SSPI_INTEROP_REQUIRED=1), and checks that the MIT peer can run.
func requireRealm(t *testing.T) *krbRealm {
	t.Helper()
	r := &krbRealm{
		Realm: os.Getenv("SSPI_KRB5_REALM"), Config: os.Getenv("KRB5_CONFIG"), Keytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"),
		User: os.Getenv("SSPI_KRB5_USER"), Password: os.Getenv("SSPI_KRB5_PASSWORD"),
		Service: os.Getenv("SSPI_KRB5_SERVICE"), HTTPService: os.Getenv("SSPI_KRB5_HTTP_SERVICE"),
		DelegateService: os.Getenv("SSPI_KRB5_DELEGATE_SERVICE"),
	}
	if r.Realm == "" || r.Config == "" || r.Keytab == "" || r.User == "" || r.Service == "" || r.HTTPService == "" || r.DelegateService == "" {
		peerMissing(t, "the MIT realm (eval \"$(scripts/dev-realm.sh up)\")", errors.New("SSPI_KRB5_* variables unset"))
	}
	r.UserPrincipal = r.User + "@" + r.Realm
	r.ServiceSPN = strings.Replace(r.Service, "@", "/", 1)
	r.DelegateSPN = strings.Replace(r.DelegateService, "@", "/", 1)
	out, err := execPython(t, "check", "--mech", "krb5")
	if err != nil || strings.TrimSpace(out) != "ok" {
		peerMissing(t, "MIT GSS-API through python3-gssapi", errors.New(out))
	}
	return r
}

// env is the environment of an MIT peer: the realm's configuration (or
// conf), its service keytab, a replay cache of the test's own, and
// nothing of gss-ntlmssp's.
func (r *krbRealm) env(t *testing.T, conf string) []string {
	if conf == "" {
		conf = r.Config
	}
	dir := t.TempDir()
	env := []string{
		"KRB5_CONFIG=" + conf, "KRB5_KTNAME=FILE:" + r.Keytab,
		"KRB5CCNAME=MEMORY:peer", "KRB5RCACHEDIR=" + dir,
		"KRB5_CLIENT_KTNAME=FILE:" + filepath.Join(dir, "no-client-keytab"),
		"GSS_PEER_PASSWORD=" + r.Password,
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "KRB5"), strings.HasPrefix(k, "NTLM_"), strings.HasPrefix(k, "GSS"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

// startMIT runs gss_peer.py --mech krb5 in role with args.
func startMIT(t *testing.T, r *krbRealm, conf, role string, args ...string) *peer {
	t.Helper()
	cmd := execPeer(role, append([]string{"--mech", "krb5"}, args...)...)
	cmd.Env = r.env(t, conf)
	return startCmd(t, "MIT krb5 "+role, cmd)
}

// mitInitiator runs an MIT initiator as the realm's user (password from
// the environment, acquire_cred_with_password) towards target.
func mitInitiator(t *testing.T, r *krbRealm, conf, target, flags string, extra ...string) *peer {
	t.Helper()
	args := append([]string{"--user", r.UserPrincipal, "--password-env", "GSS_PEER_PASSWORD", "--target", target, "--flags", flags}, extra...)
	return startMIT(t, r, conf, "initiator", args...)
}

// forEachKrbMode runs f with an LSA holding the Kerberos package (the
// realm's configuration and service keytab) in each provider mode.
func forEachKrbMode(t *testing.T, r *krbRealm, adjust func(*kerberos.Config), f func(t *testing.T, p *sspi.Provider)) {
	for _, mode := range secpkgtest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			p := krbProvider(t, r, mode.Harness, adjust)
			f(t, p)
		})
	}
}

// krbProvider is a provider on a new LSA with the Kerberos package.
func krbProvider(t *testing.T, r *krbRealm, harness func(testing.TB, *engine.Engine) secpkgtest.Harness, adjust func(*kerberos.Config)) *sspi.Provider {
	t.Helper()
	kc := kerberos.Config{ConfigFiles: []string{r.Config}, Keytabs: []string{r.Keytab}}
	if adjust != nil {
		adjust(&kc)
	}
	e, err := engine.New(&engine.Config{
		Packages:   []string{kerberos.Name},
		Configured: map[string]secpkg.Package{kerberos.Name: kerberos.New(&kc)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	p := sspi.NewProvider(harness(t, e).Connect(t), nil)
	t.Cleanup(func() { p.Close() })
	return p
}

// krbClient is our client context as the realm's user (password
// credentials) towards target.
func krbClient(t *testing.T, p *sspi.Provider, r *krbRealm, target string, flags sspi.ISCFlags, cb *sspi.ChannelBindings) *sspi.ClientContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), kerberos.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: r.User, Domain: r.Realm, Password: []byte(r.Password)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target, Flags: flags, Bindings: cb})
	t.Cleanup(func() { c.Delete() })
	return c
}

// krbServer is our server context accepting as principal.
func krbServer(t *testing.T, p *sspi.Provider, principal string, cb *sspi.ChannelBindings) *sspi.ServerContext {
	t.Helper()
	cred, err := p.AcquireCredentials(context.Background(), kerberos.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: principal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cred.Free() })
	s := sspi.NewServerContext(cred, &sspi.ServerConfig{Bindings: cb})
	t.Cleanup(func() { s.Delete() })
	return s
}

const krbFlags = sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect

// ourInitiator runs our client against an MIT acceptor: the AP-REQ, and
// with mutual authentication the AP-REP. It returns the acceptor's DONE.
func ourInitiator(t *testing.T, c *sspi.ClientContext, peer *peer) peerDoneKrb {
	t.Helper()
	ctx := context.Background()
	tok, st, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatalf("AP-REQ: %v", err)
	}
	peer.send("TOK", tok)
	if st == sspi.StatusContinueNeeded {
		if _, st, err = c.Initialize(ctx, peer.token()); err != nil || st != sspi.StatusOK {
			t.Fatalf("AP-REP: %v %v", st, err)
		}
	}
	return doneKrb(t, peer)
}

// theirInitiator runs an MIT initiator against our server: it returns the
// initiator's DONE, or the error of our Accept.
func theirInitiator(t *testing.T, s *sspi.ServerContext, peer *peer) (peerDoneKrb, error) {
	t.Helper()
	out, st, err := s.Accept(context.Background(), peer.token())
	if err != nil {
		return peerDoneKrb{}, err
	}
	if st != sspi.StatusOK {
		t.Fatalf("Accept: status %v", st)
	}
	if len(out) > 0 {
		peer.send("TOK", out)
	}
	return doneKrb(t, peer), nil
}

// peerDoneKrb is the DONE line of an MIT peer.
type peerDoneKrb struct {
	peerDone
	Delegated bool `json:"delegated"`
}

func doneKrb(t *testing.T, p *peer) peerDoneKrb {
	t.Helper()
	var d peerDoneKrb
	if err := jsonUnmarshal(p.expect("DONE")[0], &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// sameKey checks that MIT's context key (GSS_C_INQ_SSPI_SESSION_KEY) is
// ours (SECPKG_ATTR_SESSION_KEY), of n bytes.
func sameKey(t *testing.T, c *sspi.Context, d peerDoneKrb, n int) {
	t.Helper()
	ours, err := c.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(ours) != d.SessionKey || (n != 0 && len(ours) != n) {
		t.Fatalf("context keys: ours %d bytes, theirs %q", len(ours), d.SessionKey)
	}
}

// krbSizes are the message sizes of the proof.
var krbSizes = []int{0, 1, 1024, 64 << 10}

// krbMessages exchanges protected messages with an MIT peer on an
// established context, both ways, then tampered tokens, and quits the
// peer.
func krbMessages(t *testing.T, c *sspi.Context, p *peer) {
	t.Helper()
	for _, n := range krbSizes {
		msg := bytes.Repeat([]byte{byte(n), 'k', 'r', 'b'}, n/4+1)[:n]
		// Our wrap, sealed and integrity-only -> their gss_unwrap.
		for _, seal := range []bool{true, false} {
			tok, err := c.Wrap(msg, seal)
			if err != nil {
				t.Fatal(err)
			}
			if seal && n > 8 && bytes.Contains(tok, msg) {
				t.Fatal("sealed token holds the plaintext")
			}
			p.send("UNWRAP", tok)
			f := p.expect("DATA")
			if got := p.bytes(f, 0); !bytes.Equal(got, msg) || f[1] != map[bool]string{true: "1", false: "0"}[seal] {
				t.Fatalf("%d bytes, sealed %v: MIT unwrapped %d bytes, conf_state %s", n, seal, len(got), f[1])
			}
		}
		// Their gss_wrap, conf_req 1 and 0 -> our Unwrap.
		for _, conf := range []string{"1", "0"} {
			p.send("WRAP", conf, msg)
			tok := p.bytes(p.expect("WRAPPED"), 0)
			pt, enc, err := c.Unwrap(tok)
			if err != nil || !bytes.Equal(pt, msg) || enc != (conf == "1") {
				t.Fatalf("%d bytes, conf_req %s: our Unwrap: %d bytes, encrypted %v, %v", n, conf, len(pt), enc, err)
			}
		}
		// Our MIC -> their gss_verify_mic; theirs -> our Verify.
		sig, err := c.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		p.send("VERIFY", msg, sig)
		p.expect("VERIFIED")
		p.send("MIC", msg)
		if err := c.Verify(msg, p.bytes(p.expect("MIC"), 0)); err != nil {
			t.Fatalf("%d bytes: their MIC: %v", n, err)
		}
	}
	// Their tokens with a byte changed: refused, and the genuine ones
	// still verify (a refused token leaves our state alone).
	msg := []byte("tamper with me")
	p.send("WRAP", "1", msg)
	tok := p.bytes(p.expect("WRAPPED"), 0)
	for _, i := range []int{3, 10, 20, len(tok) - 1} {
		bad := slices.Clone(tok)
		bad[i] ^= 0x01
		if _, _, err := c.Unwrap(bad); !errors.Is(err, sspi.StatusMessageAltered) && !errors.Is(err, sspi.StatusInvalidToken) {
			t.Fatalf("their wrap token with byte %d changed: %v", i, err)
		}
	}
	if pt, _, err := c.Unwrap(tok); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("their genuine wrap token: %v", err)
	}
	if _, _, err := c.Unwrap(tok); !errors.Is(err, sspi.StatusOutOfSequence) {
		t.Fatalf("their wrap token replayed: %v, want SEC_E_OUT_OF_SEQUENCE", err)
	}
	p.send("MIC", msg)
	mic := p.bytes(p.expect("MIC"), 0)
	for i := range mic {
		bad := slices.Clone(mic)
		bad[i] ^= 0x80
		if err := c.Verify(msg, bad); err == nil {
			t.Fatalf("their MIC with byte %d changed verified", i)
		}
	}
	if err := c.Verify(msg, mic); err != nil {
		t.Fatalf("their genuine MIC after the tampered ones: %v", err)
	}
	// Ours, tampered: MIT refuses it.
	tok, err := c.Wrap(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	tok[len(tok)-1] ^= 0x01
	p.send("UNWRAP", tok)
	if f := p.failed("BAD"); f.Major != gssBadSig {
		t.Fatalf("MIT refused our tampered token with major %#x, want GSS_S_BAD_SIG: %s", f.Major, f.Error)
	}
	p.quit()
}

// TestKerberosOurInitiatorMITAcceptor: our initiator, MIT's acceptor, with
// and without mutual authentication.
func TestKerberosOurInitiatorMITAcceptor(t *testing.T) {
	r := requireRealm(t)
	forEachKrbMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		for _, mutual := range []bool{true, false} {
			t.Run("mutual="+strconv.FormatBool(mutual), func(t *testing.T) {
				flags := krbFlags
				if !mutual {
					flags &^= sspi.ISCReqMutualAuth
				}
				peer := startMIT(t, r, "", "acceptor")
				c := krbClient(t, p, r, r.Service, flags, nil)
				d := ourInitiator(t, c, peer)
				if d.Peer != r.UserPrincipal {
					t.Fatalf("MIT accepted %q", d.Peer)
				}
				if slices.Contains(d.Flags, "mutual_authentication") != mutual {
					t.Fatalf("MIT's flags %v", d.Flags)
				}
				if !c.Mapped() || (c.Flags()&sspi.ISCRetMutualAuth != 0) != mutual {
					t.Fatalf("mapped %v, flags %v", c.Mapped(), c.Flags())
				}
				sameKey(t, &c.Context, d, 0)
				krbMessages(t, &c.Context, peer)
			})
		}
	})
}

// TestKerberosMITInitiatorOurAcceptor: MIT's initiator, our acceptor,
// with and without mutual authentication.
func TestKerberosMITInitiatorOurAcceptor(t *testing.T) {
	r := requireRealm(t)
	forEachKrbMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		for _, mutual := range []bool{true, false} {
			t.Run("mutual="+strconv.FormatBool(mutual), func(t *testing.T) {
				flags := "conf,integ,replay,sequence"
				if mutual {
					flags += ",mutual"
				}
				peer := mitInitiator(t, r, "", r.Service, flags)
				s := krbServer(t, p, r.ServiceSPN, nil)
				d, err := theirInitiator(t, s, peer)
				if err != nil {
					t.Fatal(err)
				}
				id, err := s.Identity()
				if err != nil {
					t.Fatal(err)
				}
				if id.User != r.User || id.Domain != r.Realm || id.Package != kerberos.Name {
					t.Fatalf("identity %+v", id)
				}
				if (id.Flags&sspi.ASCRetMutualAuth != 0) != mutual || id.Flags&sspi.ASCRetConfidentiality == 0 {
					t.Fatalf("identity flags %v", id.Flags)
				}
				if id.Expiry.IsZero() || !id.Expiry.After(time.Now()) {
					t.Fatalf("identity expiry %v", id.Expiry)
				}
				// MIT 1.20's KDC puts a PAC in every ticket (client
				// information and signatures, no Windows logon
				// information); its server signature was verified.
				if id.PAC == nil || id.PAC.ClientName != r.User {
					t.Fatalf("PAC %+v", id.PAC)
				}
				if !s.Mapped() {
					t.Fatal("not mapped")
				}
				sameKey(t, &s.Context, d, 0)
				krbMessages(t, &s.Context, peer)
			})
		}
	})
}

// execPeer returns the command of gss_peer.py in role.
func execPeer(role string, args ...string) *exec.Cmd {
	return exec.Command(python, append([]string{peerScript, role}, args...)...)
}

// execPython runs gss_peer.py with args and returns its output.
func execPython(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(python, append([]string{peerScript}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestKerberosChannelBindings: application-data bindings, both ways:
// matching (accepted, and our identity says matched), mismatched
// (SEC_E_BAD_BINDINGS here, GSS_S_BAD_BINDINGS there), and absent on the
// initiator's side (accepted as missing, unless our acceptor requires
// bindings).
func TestKerberosChannelBindings(t *testing.T) {
	r := requireRealm(t)
	cb := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef")}
	other := &sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:fedcba9876543210")}
	b64 := func(b *sspi.ChannelBindings) string { return base64.StdEncoding.EncodeToString(b.ApplicationData) }
	forEachKrbMode(t, r, nil, func(t *testing.T, p *sspi.Provider) {
		t.Run("OursToTheirs/matching", func(t *testing.T) {
			peer := startMIT(t, r, "", "acceptor", "--cb-b64", b64(cb))
			c := krbClient(t, p, r, r.Service, krbFlags, cb)
			d := ourInitiator(t, c, peer)
			if !slices.Contains(d.Flags, "channel_bound") {
				t.Fatalf("MIT's flags %v", d.Flags)
			}
			peer.quit()
		})
		t.Run("OursToTheirs/mismatched", func(t *testing.T) {
			peer := startMIT(t, r, "", "acceptor", "--cb-b64", b64(other))
			c := krbClient(t, p, r, r.Service, krbFlags, cb)
			tok, _, err := c.Initialize(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			peer.send("TOK", tok)
			// MIT's acceptor answers with a KRB-ERROR token
			// (KRB_ERR_GENERIC), which fails our context.
			_, _, err = c.Initialize(context.Background(), peer.token())
			if err == nil || !strings.Contains(err.Error(), "KRB_ERR_GENERIC") {
				t.Fatalf("our context after MIT's refusal: %v", err)
			}
		})
		t.Run("TheirsToOurs/matching", func(t *testing.T) {
			peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ", "--cb-b64", b64(cb))
			s := krbServer(t, p, r.ServiceSPN, cb)
			if _, err := theirInitiator(t, s, peer); err != nil {
				t.Fatal(err)
			}
			id, _ := s.Identity()
			if !id.Bindings.Matched() {
				t.Fatalf("bindings %v", id.Bindings)
			}
			peer.quit()
		})
		t.Run("TheirsToOurs/mismatched", func(t *testing.T) {
			peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ", "--cb-b64", b64(other))
			s := krbServer(t, p, r.ServiceSPN, cb)
			_, err := theirInitiator(t, s, peer)
			wantStatus(t, "mismatched bindings", err, sspi.StatusBadBindings)
		})
		t.Run("TheirsToOurs/absent", func(t *testing.T) {
			peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ")
			s := krbServer(t, p, r.ServiceSPN, cb)
			if _, err := theirInitiator(t, s, peer); err != nil {
				t.Fatal(err)
			}
			id, _ := s.Identity()
			if id.Bindings != sspi.BindingsValidMissing {
				t.Fatalf("bindings %v, want VALID_MISSING", id.Bindings)
			}
			peer.quit()
		})
	})
	t.Run("TheirsToOurs/absent-required", func(t *testing.T) {
		for _, mode := range secpkgtest.Modes {
			t.Run(mode.Name, func(t *testing.T) {
				p := krbProvider(t, r, mode.Harness, func(c *kerberos.Config) { c.RequireBindings = true })
				peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ")
				s := krbServer(t, p, r.ServiceSPN, cb)
				_, err := theirInitiator(t, s, peer)
				wantStatus(t, "absent bindings, required", err, sspi.StatusBadBindings)
			})
		}
	})
	t.Run("OursToTheirs/absent", func(t *testing.T) {
		// MIT's acceptor with bindings accepts an initiator that sends
		// none (all-zero Bnd) and does not announce KERB_AP_OPTIONS_CBT.
		p := krbProvider(t, r, secpkgtest.Modes[0].Harness, nil)
		peer := startMIT(t, r, "", "acceptor", "--cb-b64", b64(cb))
		c := krbClient(t, p, r, r.Service, krbFlags, nil)
		d := ourInitiator(t, c, peer)
		if slices.Contains(d.Flags, "channel_bound") {
			t.Fatalf("MIT's flags %v", d.Flags)
		}
		peer.quit()
	})
}

// etypeConf writes a copy of the realm's krb5.conf that asks the KDC for
// session keys of type e only (default_tgs_enctypes), for our side.
func etypeConf(t *testing.T, r *krbRealm, e string) string {
	t.Helper()
	b, err := os.ReadFile(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n\tdefault_tgs_enctypes = "+e+"\n", 1)
	path := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// krbETypes are the encryption types of the proof, with their numbers
// and key lengths.
var krbETypes = []struct {
	name   string
	number int
	keyLen int
}{
	{"aes256-cts-hmac-sha1-96", 18, 32},
	{"aes128-cts-hmac-sha1-96", 17, 16},
	{"aes256-cts-hmac-sha384-192", 20, 32},
	{"aes128-cts-hmac-sha256-128", 19, 16},
}

// TestKerberosETypes: each AES type as the ticket's session key and, so,
// as both subkeys (the initiator's has the session key's type, the
// acceptor's the initiator subkey's): ours to theirs and theirs to ours,
// a context key of the type's length equal on both sides, and messages.
func TestKerberosETypes(t *testing.T) {
	r := requireRealm(t)
	for _, et := range krbETypes {
		t.Run(et.name, func(t *testing.T) {
			conf := etypeConf(t, r, et.name)
			forEachKrbMode(t, r, func(c *kerberos.Config) { c.ConfigFiles = []string{conf} }, func(t *testing.T, p *sspi.Provider) {
				t.Run("OursToTheirs", func(t *testing.T) {
					peer := startMIT(t, r, "", "acceptor", "--enctypes", strconv.Itoa(et.number))
					c := krbClient(t, p, r, r.Service, krbFlags, nil)
					d := ourInitiator(t, c, peer)
					sameKey(t, &c.Context, d, et.keyLen)
					krbOneMessage(t, &c.Context, peer)
				})
				t.Run("TheirsToOurs", func(t *testing.T) {
					peer := mitInitiator(t, r, "", r.Service, "mutual,conf,integ,replay,sequence", "--enctypes", strconv.Itoa(et.number))
					s := krbServer(t, p, r.ServiceSPN, nil)
					d, err := theirInitiator(t, s, peer)
					if err != nil {
						t.Fatal(err)
					}
					sameKey(t, &s.Context, d, et.keyLen)
					krbOneMessage(t, &s.Context, peer)
				})
			})
		})
	}
}

// krbOneMessage exchanges one sealed message each way and quits the peer.
func krbOneMessage(t *testing.T, c *sspi.Context, p *peer) {
	t.Helper()
	tok, err := c.Wrap([]byte("ping"), true)
	if err != nil {
		t.Fatal(err)
	}
	p.send("UNWRAP", tok)
	if got := p.bytes(p.expect("DATA"), 0); string(got) != "ping" {
		t.Fatalf("MIT unwrapped %q", got)
	}
	p.send("WRAP", "1", []byte("pong"))
	if pt, _, err := c.Unwrap(p.bytes(p.expect("WRAPPED"), 0)); err != nil || string(pt) != "pong" {
		t.Fatalf("our Unwrap: %q, %v", pt, err)
	}
	p.quit()
}

// TestKerberosDelegation: delegation both ways. Our initiator forwards
// alice's TGT to MIT's acceptor (a service the KDC marks ok-as-delegate),
// which uses it to get a ticket for another service and presents it to
// our acceptor; MIT's initiator forwards its TGT to our acceptor, whose
// LSA keeps it in a network logon session that the server then uses to
// authenticate as alice to MIT's acceptor, never seeing the TGT's key.
func TestKerberosDelegation(t *testing.T) {
	r := requireRealm(t)
	// Without a process ccache or client keytab, the LSA's callers have
	// only the credentials they are given.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "none"))
	none := func(c *kerberos.Config) { c.ClientKeytab = filepath.Join(t.TempDir(), "none") }
	forEachKrbMode(t, r, none, func(t *testing.T, p *sspi.Provider) {
		t.Run("OursToTheirs", func(t *testing.T) {
			peer := startMIT(t, r, "", "acceptor", "--name", r.DelegateService)
			c := krbClient(t, p, r, r.DelegateService, krbFlags|sspi.ISCReqDelegate, nil)
			d := ourInitiator(t, c, peer)
			if !d.Delegated || c.Flags()&sspi.ISCRetDelegate == 0 {
				t.Fatalf("delegated: MIT %v, our flags %v", d.Delegated, c.Flags())
			}
			// MIT, as alice with our forwarded TGT, to our acceptor.
			peer.send("DELEGATE", r.HTTPService)
			tok := peer.bytes(peer.expect("TOKEN"), 0)
			s := krbServer(t, p, strings.Replace(r.HTTPService, "@", "/", 1), nil)
			if _, _, err := s.Accept(context.Background(), tok); err != nil {
				t.Fatalf("accepting MIT's context made with our delegated TGT: %v", err)
			}
			if id, _ := s.Identity(); id.User != r.User {
				t.Fatalf("identity %+v", id)
			}
			peer.quit()
		})
		t.Run("TheirsToOurs", func(t *testing.T) {
			peer := mitInitiator(t, r, "", r.DelegateService, "mutual,conf,integ,deleg")
			s := krbServer(t, p, r.DelegateSPN, nil)
			if _, err := theirInitiator(t, s, peer); err != nil {
				t.Fatal(err)
			}
			peer.quit()
			id, err := s.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.LogonID == 0 || id.Flags&sspi.ASCRetDelegate == 0 {
				t.Fatalf("no delegated logon session: %+v", id)
			}
			// The server authenticates as alice with what she delegated.
			ctx := context.Background()
			cred, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{LogonID: id.LogonID})
			if err != nil {
				t.Fatal(err)
			}
			defer cred.Free()
			if cred.Name() != r.UserPrincipal {
				t.Fatalf("delegated credentials of %q", cred.Name())
			}
			next := startMIT(t, r, "", "acceptor", "--name", r.HTTPService)
			c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: r.HTTPService, Flags: krbFlags})
			defer c.Delete()
			if d := ourInitiator(t, c, next); d.Peer != r.UserPrincipal {
				t.Fatalf("MIT accepted %q", d.Peer)
			}
			next.quit()
			// The server's default credentials are not alice's: a
			// network logon session is never the default.
			if _, err := p.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound, nil); !errors.Is(err, sspi.StatusNoCredentials) {
				t.Fatalf("default credentials: %v, want SEC_E_NO_CREDENTIALS (the delegated logon session is not the default)", err)
			}
		})
	})
}
