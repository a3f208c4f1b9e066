//go:build linux

package lsad_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// e2eTest is a second package for reload tests: credentials only.
type e2eTest struct{ creds secpkg.HandleTable[bool] }

func init() { secpkg.Register("E2ETest", e2eTestPackage{}) }

type e2eTestPackage struct{}

func (e2eTestPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, &e2eTest{}, nil
}
func (e2eTestPackage) UserModeInitialize(uint32) (uint32, secpkg.UserPackage, error) {
	return 0, nil, secpkg.StatusUnsupportedFunction
}
func (p *e2eTest) Initialize(context.Context, uint32, *secpkg.Parameters, secpkg.LSAFunctions) error {
	return nil
}
func (p *e2eTest) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: "E2ETest"} }
func (p *e2eTest) AcquireCredentialsHandle(context.Context, *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: p.creds.Add(true), Name: "e2e"}, nil
}
func (p *e2eTest) FreeCredentialsHandle(_ context.Context, h secpkg.Handle) error {
	p.creds.Delete(h)
	return nil
}
func (p *e2eTest) QueryCredentialsAttributes(_ context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: h, Name: "e2e"}, nil
}
func (p *e2eTest) InitLsaModeContext(context.Context, *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *e2eTest) AcceptLsaModeContext(context.Context, *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *e2eTest) DeleteContext(context.Context, secpkg.Handle) error { return nil }
func (p *e2eTest) QueryContextAttributes(context.Context, secpkg.Handle) (*secpkg.ContextAttributes, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *e2eTest) Shutdown(context.Context) error { return nil }

// policy grants this test's uid (root, usually) everything; with
// nobodyAdmin, uid 65534 may also administer accounts.
func policy(nobodyAdmin bool) string {
	p := fmt.Sprintf(`
[default]
packages = ["*"]
initiate = true
explicit_credentials = true

[[rule]]
uid = %d
packages = ["*"]
accept = ["*"]
initiate = true
explicit_credentials = true
admin = true
`, os.Getuid())
	if nobodyAdmin {
		p += `
[[rule]]
uid = 65534
packages = ["*"]
initiate = true
explicit_credentials = true
admin = true
`
	}
	return p
}

// TestE2ECLI drives lsad with the sspi command, each run a process of its
// own: accounts, logon sessions and the default credentials a handshake
// draws from them, and the policy (a caller without the admin right
// cannot add accounts).
func TestE2ECLI(t *testing.T) {
	d := startDaemon(t, "cli", daemonOpts{policy: policy(false)})
	noteSecret("password of alice", []byte(alicePassword))
	me := os.Getuid()
	ctx := context.Background()
	sspiOK := func(uid int, stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := d.sspiCmd(t, uid, stdin, args...)
		if code != 0 {
			t.Fatalf("sspi %s as uid %d: exit %d\n%s%s", strings.Join(args, " "), uid, code, out, errOut)
		}
		return out
	}
	if out := sspiOK(me, alicePassword+"\n", "account", "add", "alice", "--domain", domain, "--password-stdin"); !strings.Contains(out, "account alice added") {
		t.Fatalf("account add: %q", out)
	}
	if out := sspiOK(me, "", "account", "list"); !strings.Contains(out, `EXAMPLE\alice`) {
		t.Fatalf("account list: %q", out)
	}

	t.Run("NoAdminRight", func(t *testing.T) {
		needRoot(t)
		for _, args := range [][]string{
			{"account", "add", "mallory", "--domain", domain, "--password-stdin"},
			{"account", "list"},
			{"account", "del", "alice", "--domain", domain},
		} {
			_, errOut, code := d.sspiCmd(t, nobody, "mallory-Passw0rd\n", args...)
			if code == 0 || !strings.Contains(errOut, "may not administer accounts") || !strings.Contains(errOut, "SEC_E_") {
				t.Fatalf("sspi %s as uid %d: exit %d, %q; want a refusal by the policy", strings.Join(args, " "), nobody, code, errOut)
			}
		}
		if out := sspiOK(me, "", "account", "list"); strings.Contains(out, "mallory") || !strings.Contains(out, "alice") {
			t.Fatalf("accounts after the refusals: %q", out)
		}
	})

	// Logon, sessions, default credentials, logoff.
	out := sspiOK(me, alicePassword+"\n", "logon", "alice", "--domain", domain, "--password-stdin")
	m := regexp.MustCompile(`logon session (0x[0-9a-f]+) for EXAMPLE\\alice \(NTLM\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("logon: %q", out)
	}
	// What sessions --json prints of a logon session.
	type session struct {
		LogonID string `json:"logon_id"`
		UID     int    `json:"uid"`
		User    string `json:"user"`
	}
	sessions := func(uid int) []session {
		var list []session
		if err := json.Unmarshal([]byte(sspiOK(uid, "", "sessions", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	if list := sessions(me); len(list) != 1 || list[0].LogonID != m[1] || list[0].User != "alice" || list[0].UID != me {
		t.Fatalf("sessions: %+v", list)
	}
	if out := sspiOK(me, "", "sessions"); !strings.Contains(out, m[1]) || !strings.Contains(out, `EXAMPLE\alice`) {
		t.Fatalf("sessions table: %q", out)
	}
	if _, errOut, code := d.sspiCmd(t, me, "wrong-"+alicePassword+"\n", "logon", "alice", "--domain", domain, "--password-stdin"); code == 0 || !strings.Contains(errOut, "SEC_E_LOGON_DENIED") {
		t.Fatalf("logon with a wrong password: exit %d, %q", code, errOut)
	}
	t.Run("OtherUIDSeesNoSessions", func(t *testing.T) {
		needRoot(t)
		if list := sessions(nobody); len(list) != 0 {
			t.Fatalf("uid %d sees %+v", nobody, list)
		}
		if _, _, code := d.sspiCmd(t, nobody, "", "logoff", m[1]); code == 0 {
			t.Fatalf("uid %d ended root's logon session", nobody)
		}
	})
	// A handshake of this process (same uid) with default credentials:
	// the logon session's.
	app := d.provider(t)
	dc, dsc := credentials(t, app, "alice", "")
	pr := established(t, dc, dsc, "alice")
	exchange(t, pr, "default credentials")
	pr.delete()
	if out := sspiOK(me, "", "logoff", m[1]); !strings.Contains(out, "ended") {
		t.Fatalf("logoff: %q", out)
	}
	if list := sessions(me); len(list) != 0 {
		t.Fatalf("sessions after logoff: %+v", list)
	}
	if _, err := app.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, nil); !errors.Is(err, sspi.StatusNoCredentials) {
		t.Fatalf("default credentials after logoff: %v", err)
	}

	// No account oracle: a name the store does not know is refused with
	// what a wrong password gets (SSPI_PASSWORD=x sspi logon alcie used
	// to succeed); --netonly keeps it unchecked, on purpose.
	_, unknownErr, code := d.sspiCmd(t, me, "x\n", "logon", "alcie", "--domain", domain, "--password-stdin")
	_, wrongErr, code2 := d.sspiCmd(t, me, "x\n", "logon", "alice", "--domain", domain, "--password-stdin")
	if code == 0 || code2 == 0 || unknownErr != wrongErr || !strings.Contains(unknownErr, "SEC_E_LOGON_DENIED") {
		t.Fatalf("logon of an unknown account: exit %d, %q; of a wrong password: exit %d, %q; want the same refusal", code, unknownErr, code2, wrongErr)
	}
	if list := sessions(me); len(list) != 0 {
		t.Fatalf("the refused logons made sessions: %+v", list)
	}
	out = sspiOK(me, "x\n", "logon", "alcie", "--domain", "REMOTE", "--password-stdin", "--netonly")
	m = regexp.MustCompile(`logon session (0x[0-9a-f]+) for REMOTE\\alcie \(NTLM, netonly: not checked\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("logon --netonly: %q", out)
	}
	sspiOK(me, "", "logoff", m[1])
}

// TestE2EReload changes the policy and the enabled packages with SIGHUP
// while contexts are live: a mapped pair, an established pair kept in the
// LSA, and a handshake halfway. They all go on; new requests follow the
// new configuration; a broken configuration is refused and the previous
// one stays.
func TestE2EReload(t *testing.T) {
	opts := daemonOpts{packages: []string{"NTLM", "E2ETest"}, policy: policy(false)}
	d := startDaemon(t, "reload", opts)
	d.addUser(t, "alice", alicePassword)
	ctx := context.Background()
	app := d.provider(t)
	cc, sc := credentials(t, app, "alice", alicePassword)
	mapped := established(t, cc, sc, "alice")
	raw := d.client(t)
	cred, err := raw.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}})
	if err != nil {
		t.Fatal(err)
	}
	srvCred, err := raw.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialInbound, Principal: target})
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := rawHandshake(t, raw, cred.Handle, srvCred.Handle, false)
	pending, err := raw.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Flags: e2eFlags})
	if err != nil {
		t.Fatal(err)
	}
	if isRoot() {
		if _, _, code := d.sspiCmd(t, nobody, "bob-Passw0rd-e2e\n", "account", "add", "bob", "--domain", domain, "--password-stdin"); code == 0 {
			t.Fatal("uid 65534 added an account before the reload")
		}
	}

	// NTLM off for new requests; uid 65534 an administrator.
	opts.packages, opts.policy = []string{"E2ETest"}, policy(true)
	d.writeConfig(t, opts)
	d.reload(t)
	pkgs, err := d.client(t).EnumeratePackages(ctx)
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "E2ETest" {
		t.Fatalf("packages after the reload: %+v, %v", pkgs, err)
	}
	if _, err := raw.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialInbound}); !errors.Is(err, secpkg.StatusPackageNotFound) {
		t.Fatalf("new NTLM credentials after NTLM was disabled: %v", err)
	}
	// The live contexts go on.
	exchange(t, mapped, "across the reload")
	msg := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte("kept in the LSA")}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	r, err := raw.ProtectMessage(ctx, &lsa.MessageRequest{Context: cli, Op: lsa.OpMakeSignature, Buffers: msg})
	if err != nil {
		t.Fatalf("unmapped context across the reload: %v", err)
	}
	if _, err := raw.ProtectMessage(ctx, &lsa.MessageRequest{Context: srv, Op: lsa.OpVerifySignature, Buffers: r.Buffers}); err != nil {
		t.Fatalf("unmapped server context across the reload: %v", err)
	}
	finishHandshake(t, raw, srvCred.Handle, pending, false)
	if isRoot() {
		if out, errOut, code := d.sspiCmd(t, nobody, "bob-Passw0rd-e2e\n", "account", "add", "bob", "--domain", domain, "--password-stdin"); code != 0 {
			t.Fatalf("uid 65534 with the admin right after the reload: exit %d %s%s", code, out, errOut)
		}
		noteSecret("password of bob", []byte("bob-Passw0rd-e2e"))
	}

	// A broken policy: refused, the running configuration stays.
	opts.packages, opts.policy = []string{"NTLM", "E2ETest"}, "[[rule]]\nuid = 0\n[[rule]]\nuid = 0\n"
	d.writeConfig(t, opts)
	failures := strings.Count(readLog(t, d.logPath), "reload failed")
	d.signal(t, syscall.SIGHUP)
	eventually(t, 10*time.Second, func() error {
		if strings.Count(readLog(t, d.logPath), "reload failed") == failures {
			return errors.New("no failed reload logged yet")
		}
		return nil
	})
	if pkgs, _ := raw.EnumeratePackages(ctx); len(pkgs) != 1 {
		t.Fatalf("a refused reload changed the packages: %+v", pkgs)
	}

	// NTLM back: new handshakes work.
	opts.policy = policy(false)
	d.writeConfig(t, opts)
	d.reload(t)
	cc2, sc2 := credentials(t, app, "alice", alicePassword)
	pr := established(t, cc2, sc2, "alice")
	exchange(t, pr, "after NTLM came back")
	exchange(t, mapped, "after the second reload")
	pr.delete()
	mapped.delete()
}

// isRoot reports whether the parts that run a child as uid 65534 can run.
func isRoot() bool { return syscall.Getuid() == 0 }
