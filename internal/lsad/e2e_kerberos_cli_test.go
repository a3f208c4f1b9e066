//go:build linux

package lsad_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opensspi/sspi"
)

// TestE2EKerberosCLI: the Kerberos commands of the sspi CLI (cli.Main, as
// cmd/sspi runs it) through a real lsad, by two uids. sspi logon --keytab
// passes the path, which lsad opens with the caller's rights: root's 0600
// keytab logs root on, and is refused to nobody with the exact status
// (no session made), while nobody's own copy and nobody's password work.
// Each uid's sessions lists its own tickets only, never a key; nobody
// cannot end root's session. A program of root's gets default
// credentials from root's session (the TGT the keytab got), and after
// logoff no more.
func TestE2EKerberosCLI(t *testing.T) {
	r := requireKrbRealm(t)
	needRoot(t)
	d := startDaemon(t, "krb-cli", daemonOpts{sections: r.kerberosSection()})
	me := os.Getuid()
	dir, err := os.MkdirTemp("", "krb-cli") // traversable by nobody, unlike t.TempDir's parent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	kt, err := os.ReadFile(os.Getenv("SSPI_KRB5_USER_KEYTAB")) // alice's keys
	if err != nil {
		t.Fatal(err)
	}
	rootKT, ownKT := filepath.Join(dir, "root.keytab"), filepath.Join(dir, "nobody.keytab")
	if err := os.WriteFile(rootKT, kt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ownKT, kt, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(ownKT, nobody, nobody)

	logonRE := regexp.MustCompile(`^logon session (0x[0-9a-f]+) for ` + regexp.QuoteMeta(r.realm+`\`+r.user) + ` \(Kerberos\)\n$`)
	logon := func(uid int, stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := d.sspiCmd(t, uid, stdin, append([]string{"logon"}, args...)...)
		m := logonRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("uid %d: sspi logon %v: exit %d, %q, %q", uid, args, code, out, errOut)
		}
		return m[1]
	}
	type ticket struct {
		Client, Server, Flags, EType string
	}
	type session struct {
		LogonID     string   `json:"logon_id"`
		UID         int      `json:"uid"`
		Credentials []ticket `json:"credentials"`
	}
	sessions := func(uid int) []session {
		t.Helper()
		out, errOut, code := d.sspiCmd(t, uid, "", "sessions", "--json")
		if code != 0 {
			t.Fatalf("uid %d: sspi sessions: exit %d, %q", uid, code, errOut)
		}
		if strings.Contains(strings.ToLower(out), `key"`) {
			t.Fatalf("sessions --json shows a key: %s", out)
		}
		var list []session
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	principal := r.user + "@" + r.realm
	tgt := "krbtgt/" + r.realm + "@" + r.realm

	rootID := logon(me, "", "--keytab", rootKT)
	_, errOut, code := d.sspiCmd(t, nobody, "", "logon", "--keytab", rootKT)
	if code != 1 || !strings.Contains(errOut, "permission denied") || !strings.Contains(errOut, "(SEC_E_NO_CREDENTIALS)") {
		t.Fatalf("nobody: sspi logon --keytab of root's 0600 keytab: exit %d, %q; want SEC_E_NO_CREDENTIALS (permission denied)", code, errOut)
	}
	if list := sessions(nobody); len(list) != 0 {
		t.Fatalf("nobody's refused logon made sessions: %+v", list)
	}
	_, errOut, code = d.sspiCmd(t, nobody, "wrong-"+r.password+"\n", "logon", principal, "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "(SEC_E_LOGON_DENIED)") {
		t.Fatalf("nobody: sspi logon with a wrong password: exit %d, %q", code, errOut)
	}
	ownID := logon(nobody, "", "--keytab", ownKT)
	pwID := logon(nobody, r.password+"\n", principal, "--password-stdin")

	for _, c := range []struct {
		uid  int
		want []string
	}{{me, []string{rootID}}, {nobody, []string{ownID, pwID}}} {
		list := sessions(c.uid)
		if len(list) != len(c.want) {
			t.Fatalf("uid %d sees %+v, want %v", c.uid, list, c.want)
		}
		for i, s := range list {
			if s.LogonID != c.want[i] || s.UID != c.uid || len(s.Credentials) != 1 ||
				s.Credentials[0].Client != principal || s.Credentials[0].Server != tgt || !strings.HasPrefix(s.Credentials[0].EType, "aes") || !strings.Contains(s.Credentials[0].Flags, "I") {
				t.Fatalf("uid %d: session %d is %+v, want %s with alice's TGT", c.uid, i, s, c.want[i])
			}
		}
	}
	if _, _, code := d.sspiCmd(t, nobody, "", "logoff", rootID); code == 0 {
		t.Fatalf("nobody ended root's logon session")
	}
	if out, errOut, code := d.sspiCmd(t, nobody, "", "logoff", "--all"); code != 0 || strings.Contains(out, rootID) || !strings.Contains(out, ownID) || !strings.Contains(out, pwID) {
		t.Fatalf("nobody: sspi logoff --all: exit %d, %q, %q", code, out, errOut)
	}
	if list := sessions(me); len(list) != 1 || list[0].LogonID != rootID {
		t.Fatalf("root's sessions after nobody's logoff --all: %+v", list)
	}
	if list := sessions(nobody); len(list) != 0 {
		t.Fatalf("nobody's sessions after logoff --all: %+v", list)
	}
	// Default credentials of a program of root's: the session's TGT.
	ctx := context.Background()
	p := d.provider(t)
	defaultAPReq := func() ([]byte, error) {
		cc, err := p.AcquireCredentials(ctx, "Kerberos", sspi.CredentialOutbound, nil)
		if err != nil {
			return nil, err
		}
		defer cc.Free()
		c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: r.service, Flags: e2eFlags | sspi.ISCReqMutualAuth})
		defer c.Delete()
		tok, _, err := c.Initialize(ctx, nil)
		return tok, err
	}
	tok, err := defaultAPReq()
	if err != nil {
		t.Fatalf("default credentials from root's logon session: %v", err)
	}
	if err := r.accept(t, p, tok); err != nil {
		t.Fatalf("accepting the AP-REQ of root's default credentials: %v", err)
	}
	if out, errOut, code := d.sspiCmd(t, me, "", "sessions"); code != 0 || !strings.Contains(out, " "+strings.Replace(r.service, "@", "/", 1)+"@"+r.realm+"\n") {
		t.Fatalf("root's sessions after a handshake: exit %d, %q, %q; want the service ticket listed", code, out, errOut)
	}
	if _, _, code := d.sspiCmd(t, me, "", "logoff", rootID); code != 0 {
		t.Fatalf("root: logoff %s: exit %d", rootID, code)
	}
	if _, err := defaultAPReq(); !errors.Is(err, sspi.StatusNoCredentials) {
		t.Fatalf("default credentials after logoff: %v, want SEC_E_NO_CREDENTIALS", err)
	}
}
