//go:build linux

package lsad_test

// Kerberos through a real lsad: the [kerberos] section and the replay
// cache file, against the MIT realm of scripts/dev-realm.sh.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// krbRealm is the realm's environment (`scripts/dev-realm.sh env`).
type krbRealm struct {
	realm, config, keytab, user, password, service string
}

// requireKrbRealm returns the realm, or skips without one (fails under
// SSPI_INTEROP_REQUIRED=1).
func requireKrbRealm(t *testing.T) *krbRealm {
	t.Helper()
	r := &krbRealm{
		realm: os.Getenv("SSPI_KRB5_REALM"), config: os.Getenv("KRB5_CONFIG"), keytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"),
		user: os.Getenv("SSPI_KRB5_USER"), password: os.Getenv("SSPI_KRB5_PASSWORD"), service: os.Getenv("SSPI_KRB5_SERVICE"),
	}
	if r.realm == "" || r.config == "" || r.keytab == "" || r.user == "" || r.service == "" {
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			t.Fatal("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" (SSPI_INTEROP_REQUIRED=1)")
		}
		t.Skip("no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\" to run this test")
	}
	return r
}

// kerberosSection is lsad.toml's [kerberos] for the realm.
func (r *krbRealm) kerberosSection() string {
	return fmt.Sprintf("[kerberos]\nkrb5_conf = [%q]\nkeytabs = [%q]\n", r.config, r.keytab)
}

// apReq returns a fresh AP-REQ of the realm's user for the realm's
// service, made through p, and the server credentials to accept it.
func (r *krbRealm) apReq(t *testing.T, p *sspi.Provider) []byte {
	t.Helper()
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, "Kerberos", sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: r.user, Domain: r.realm, Password: []byte(r.password)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: r.service, Flags: e2eFlags | sspi.ISCReqMutualAuth})
	defer c.Delete()
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accept accepts tok as the realm's service through p.
func (r *krbRealm) accept(t *testing.T, p *sspi.Provider, tok []byte) error {
	t.Helper()
	sc, err := p.AcquireCredentials(context.Background(), "Kerberos", sspi.CredentialInbound,
		&sspi.CredentialsOptions{Principal: strings.Replace(r.service, "@", "/", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	s := sspi.NewServerContext(sc, nil)
	defer s.Delete()
	_, _, err = s.Accept(context.Background(), tok)
	return err
}

// TestE2EKerberosReplayAfterKill: lsad accepts an AP-REQ, is killed with
// SIGKILL and restarted; the same AP-REQ, replayed within the clock
// skew, is refused (KRB_AP_ERR_REPEAT) because the replay cache is a
// file that outlived the process (RFC 4120 3.2.3). Without the file the
// replay would pass: the control shows that the test can fail.
func TestE2EKerberosReplayAfterKill(t *testing.T) {
	r := requireKrbRealm(t)
	for _, persistent := range []bool{true, false} {
		t.Run(fmt.Sprintf("replay_cache=%v", persistent), func(t *testing.T) {
			o := daemonOpts{sections: r.kerberosSection()}
			d := startDaemon(t, "krb-replay", o)
			if persistent {
				o.top = fmt.Sprintf("replay_cache = %q", filepath.Join(d.dir, "replay.cache"))
				d.writeConfig(t, o)
				d.stop()
				d.start(t)
			}
			p := d.provider(t)
			tok := r.apReq(t, p)
			if err := r.accept(t, p, tok); err != nil {
				t.Fatalf("first AP-REQ: %v", err)
			}
			if err := r.accept(t, p, tok); err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_REPEAT") {
				t.Fatalf("replay before the crash: %v", err)
			}
			d.kill(t)
			d.start(t)
			err := r.accept(t, d.provider(t), tok)
			switch {
			case persistent && (err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_REPEAT")):
				t.Fatalf("replay after kill -9 and restart: %v, want KRB_AP_ERR_REPEAT", err)
			case !persistent && err != nil:
				t.Fatalf("replay after a restart without a replay cache file: %v (the control expects it to pass)", err)
			}
			if errors.Is(err, sspi.StatusInternalError) {
				t.Fatal(err)
			}
		})
	}
}

// Environment of the Kerberos probe child.
const (
	krbProbeSock   = "LSAD_E2E_KRB_SOCK"
	krbProbeRoot   = "LSAD_E2E_KRB_ROOT"   // root's 0600 ccache
	krbProbeKeytab = "LSAD_E2E_KRB_KEYTAB" // root's 0600 keytab
	krbProbeOwn    = "LSAD_E2E_KRB_OWN"    // the child's own 0600 ccache
	krbProbeFIFO   = "LSAD_E2E_KRB_FIFO"   // a FIFO the child owns
)

// TestE2EKerberosCallerFiles: lsad runs as root but opens a credentials
// cache or keytab that a caller names (packed credentials of type
// ccache-file, keytab-file) with the caller's rights: a caller of another
// uid (nobody) cannot read root's 0600 ccache or keytab through it, can
// use its own, and cannot make it block on a FIFO; the same bytes passed
// as contents work for anyone who has them. Root itself, which could
// read every file anyway, reads both.
func TestE2EKerberosCallerFiles(t *testing.T) {
	r := requireKrbRealm(t)
	needRoot(t)
	d := startDaemon(t, "krb-files", daemonOpts{sections: r.kerberosSection()})
	dir, err := os.MkdirTemp("", "krb-files") // traversable by nobody, unlike t.TempDir's parent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	rootCC := filepath.Join(dir, "root.ccache")
	kinit := exec.Command("kinit", "-c", "FILE:"+rootCC, r.user+"@"+r.realm)
	kinit.Env = append(os.Environ(), "KRB5_CONFIG="+r.config)
	kinit.Stdin = strings.NewReader(r.password + "\n")
	if out, err := kinit.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	os.Chmod(rootCC, 0o600)
	kt, err := os.ReadFile(os.Getenv("SSPI_KRB5_USER_KEYTAB")) // alice's keys
	if err != nil {
		t.Fatal(err)
	}
	rootKT := filepath.Join(dir, "root.keytab")
	if err := os.WriteFile(rootKT, kt, 0o600); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "nobody.ccache")
	cc, _ := os.ReadFile(rootCC)
	if err := os.WriteFile(own, cc, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(own, nobody, nobody)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(fifo, nobody, nobody)

	// Root reads them all.
	c := d.client(t)
	ctx := context.Background()
	for _, pc := range []*secpkg.PackedCredentials{
		{Type: secpkg.PackedCCacheFile, Data: []byte(rootCC)}, {Type: secpkg.PackedKeytabFile, Data: []byte(rootKT)},
		{Type: secpkg.PackedCCacheFile, Data: []byte(own)}, {Type: secpkg.PackedCCache, Data: cc},
	} {
		cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "Kerberos", Use: secpkg.CredentialOutbound,
			Identity: &secpkg.AuthIdentity{User: r.user, Domain: r.realm, Packed: pc}})
		if err != nil {
			t.Fatalf("root with %v: %v", pc, err)
		}
		c.FreeCredentials(ctx, cred.Handle)
	}

	cmd := exec.Command(publicExe(t))
	cmd.Env = childEnv("krbprobe", krbProbeSock+"="+d.sock, krbProbeRoot+"="+rootCC, krbProbeKeytab+"="+rootKT,
		krbProbeOwn+"="+own, krbProbeFIFO+"="+fifo, "SSPI_KRB5_USER="+r.user, "SSPI_KRB5_REALM="+r.realm)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "krbprobe ok") {
		t.Fatalf("probe as nobody: %v\n%s", err, out)
	}
}

// runKrbProbe is the child of TestE2EKerberosCallerFiles, run as nobody.
func runKrbProbe() int {
	fail := func(f string, a ...any) int { fmt.Printf("krbprobe: "+f+"\n", a...); return 2 }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := lsarpc.Dial(ctx, os.Getenv(krbProbeSock))
	if err != nil {
		return fail("dial: %v", err)
	}
	defer c.Close()
	acquire := func(pc *secpkg.PackedCredentials) error {
		cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "Kerberos", Use: secpkg.CredentialOutbound,
			Identity: &secpkg.AuthIdentity{User: os.Getenv("SSPI_KRB5_USER"), Domain: os.Getenv("SSPI_KRB5_REALM"), Packed: pc}})
		if err == nil {
			c.FreeCredentials(ctx, cred.Handle)
		}
		return err
	}
	for name, path := range map[string]string{"ccache": os.Getenv(krbProbeRoot), "keytab": os.Getenv(krbProbeKeytab)} {
		typ := secpkg.PackedCCacheFile
		if name == "keytab" {
			typ = secpkg.PackedKeytabFile
		}
		err := acquire(&secpkg.PackedCredentials{Type: typ, Data: []byte(path)})
		if !errors.Is(err, secpkg.StatusNoCredentials) || !strings.Contains(err.Error(), "permission denied") {
			return fail("root's %s through lsad: %v, want SEC_E_NO_CREDENTIALS (permission denied)", name, err)
		}
	}
	if err := acquire(&secpkg.PackedCredentials{Type: secpkg.PackedCCacheFile, Data: []byte(os.Getenv(krbProbeOwn))}); err != nil {
		return fail("its own ccache: %v", err)
	}
	if err := acquire(&secpkg.PackedCredentials{Type: secpkg.PackedCCacheFile, Data: []byte(os.Getenv(krbProbeFIFO))}); !errors.Is(err, secpkg.StatusNoCredentials) {
		return fail("a FIFO: %v", err)
	}
	own, err := os.ReadFile(os.Getenv(krbProbeOwn))
	if err != nil {
		return fail("%v", err)
	}
	if err := acquire(&secpkg.PackedCredentials{Type: secpkg.PackedCCache, Data: own}); err != nil {
		return fail("its ccache's bytes: %v", err)
	}
	fmt.Printf("krbprobe ok uid=%d\n", os.Getuid())
	return 0
}

// TestE2EKerberosRoundTripsPerLeg: a mutually authenticated Kerberos
// handshake through lsad makes one call per leg (the AP-REQ, its
// acceptance, the AP-REP; the packed contexts come with the last replies)
// and the two deletes: nothing else crosses to lsad, however many
// handshakes reuse the cached service ticket.
func TestE2EKerberosRoundTripsPerLeg(t *testing.T) {
	const n = 20
	r := requireKrbRealm(t)
	d := startDaemon(t, "krb-calls", daemonOpts{sections: r.kerberosSection()})
	p := d.provider(t)
	ctx := context.Background()
	cc, err := p.AcquireCredentials(ctx, "Kerberos", sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: r.user, Domain: r.realm, Password: []byte(r.password)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Free()
	sc, err := p.AcquireCredentials(ctx, "Kerberos", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: strings.Replace(r.service, "@", "/", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	one := func() {
		c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: r.service, Flags: sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect})
		s := sspi.NewServerContext(sc, nil)
		defer c.Delete()
		defer s.Delete()
		tok, _, err := c.Initialize(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, _, err := s.Accept(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if _, st, err := c.Initialize(ctx, rep); err != nil || st != sspi.StatusOK {
			t.Fatal(st, err)
		}
		if !c.Mapped() || !s.Mapped() {
			t.Fatal("not mapped")
		}
		if _, err := c.Wrap([]byte("x"), true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Identity(); err != nil {
			t.Fatal(err)
		}
	}
	// idle waits until the daemon holds no context (a context's delete may
	// reach lsad after the call that deleted it returned) and returns the
	// call count then, and how many Stats calls it made (each is a call).
	idle := func() (calls, polls uint64) {
		eventually(t, 10*time.Second, func() error {
			polls++
			st := d.stats(t)
			calls = st.Calls
			if st.Engine.Contexts != 0 {
				return fmt.Errorf("%d contexts still open", st.Engine.Contexts)
			}
			return nil
		})
		return calls, polls
	}
	one() // the TGT and the service ticket
	before, _ := idle()
	for range n {
		one()
	}
	after, polls := idle()
	if got := after - before - polls; got != 5*n {
		t.Fatalf("%d handshakes made %d calls, want %d (3 legs and 2 deletes each)", n, got, 5*n)
	}
}
