//go:build linux

package lsad_test

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite" // to expire a registration code in lsad's store
)

// opaqueSection is the [opaque] section of the OPAQUE tests: a cheap KSF,
// so that the tests are fast (the default is Argon2id with m = 64 MiB).
const opaqueSection = "[opaque]\nksf = \"Argon2id(m=256,t=1,p=1)\"\n"

// TestE2EOPAQUERegistration: an administrator adds OPAQUE accounts with
// one-time registration codes; a user of another uid redeems one with
// 'sspi account register' and logs in with it ('sspi connect' to 'sspi
// serve', through lsad); a wrong code, a used code, an expired code and
// another account's code are refused, each with SEC_E_LOGON_DENIED and
// the one message, and register nothing; without a code the other uid
// may not register at all.
func TestE2EOPAQUERegistration(t *testing.T) {
	needRoot(t)
	d := startDaemon(t, "opaque", daemonOpts{policy: policy(false), sections: opaqueSection})
	const bobPassword = "bob-OPAQUE-Passw0rd"
	noteSecret("password of bob", []byte(bobPassword))
	me := os.Getuid()
	sspiOK := func(uid int, stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := d.sspiCmd(t, uid, stdin, args...)
		if code != 0 {
			t.Fatalf("sspi %s as uid %d: exit %d\n%s%s", strings.Join(args, " "), uid, code, out, errOut)
		}
		return out
	}
	// The administrator's codes, noted as secrets: no log may hold one.
	codeFor := func(user string) string {
		t.Helper()
		var out struct {
			Codes []struct {
				Package, Code string
			} `json:"registration_codes"`
		}
		j := sspiOK(me, "", "account", "add", user, "--domain", domain, "--package", "OPAQUE", "--code", "--json")
		if err := json.Unmarshal([]byte(j), &out); err != nil || len(out.Codes) != 1 || out.Codes[0].Package != "OPAQUE" {
			t.Fatalf("account add --code: %q (%v)", j, err)
		}
		noteSecret("registration code of "+user, []byte(out.Codes[0].Code))
		return out.Codes[0].Code
	}
	bob, carol, dave := codeFor("bob"), codeFor("carol"), codeFor("dave")

	register := func(user, code string) (string, int) {
		t.Helper()
		_, errOut, exit := d.sspiCmd(t, nobody, bobPassword+"\n", "account", "register", user, "--domain", domain, "--code", code, "--password-stdin")
		return errOut, exit
	}
	const refusal = "sspi: error: lsa: the registration code is not valid for this account (SEC_E_LOGON_DENIED)\n"
	refused := func(why, user, code string) {
		t.Helper()
		if errOut, exit := register(user, code); exit != 1 || errOut != refusal {
			t.Fatalf("register with %s: exit %d, %q; want %q", why, exit, errOut, refusal)
		}
	}
	// Expire dave's code where lsad keeps it.
	db, err := sql.Open("sqlite", filepath.Join(d.dir, "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if res, err := db.Exec(`UPDATE registration_codes SET expires = 0` +
		` WHERE account_id = (SELECT id FROM accounts WHERE name = 'dave')`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expired %d codes of dave", n)
	}
	wrong := []byte(bob)
	if wrong[0] = 'A'; bob[0] == 'A' {
		wrong[0] = 'B'
	}
	refused("a wrong code", "bob", string(wrong))
	refused("another account's code", "bob", carol)
	refused("an expired code", "dave", dave)
	if _, errOut, exit := d.sspiCmd(t, nobody, bobPassword+"\n", "account", "register", "bob", "--domain", domain, "--password-stdin"); exit != 1 || !strings.Contains(errOut, "may not administer accounts (SEC_E_NOT_OWNER)") {
		t.Fatalf("register without a code as uid %d: exit %d, %q", nobody, exit, errOut)
	}
	if out := sspiOK(me, "", "account", "list"); !regexp.MustCompile(`(?m)\\bob +enabled +0 *$`).MatchString(out) {
		t.Fatalf("after the refusals bob has: %q", out)
	}
	if errOut, exit := register("bob", bob); exit != 0 {
		t.Fatalf("register with bob's code: exit %d, %q", exit, errOut)
	}
	refused("a used code", "bob", bob)
	if out := sspiOK(me, "", "account", "list"); !regexp.MustCompile(`(?m)\\bob +enabled +0 +OPAQUE$`).MatchString(out) {
		t.Fatalf("after the registration: %q", out)
	}
	if errOut, exit := register("carol", carol); exit != 0 {
		t.Fatalf("carol's own code, after bob tried it: exit %d, %q", exit, errOut)
	}
	if n := auditEvents(t, d.logPath, "registration-refused"); n != 4 {
		t.Errorf("%d refused registrations audited, want 4 (the refusal without a code is the policy's)", n)
	}

	// bob logs in: sspi connect as uid 65534 to sspi serve as root, both
	// through lsad.
	srv := exec.Command(exe(t), "serve", "--listen", "127.0.0.1:0", "--package", "OPAQUE", "--principal", target)
	srv.Env = childEnv("sspi", "SSPI_LSA="+d.sock)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	m := regexp.MustCompile(`^listening on (127\.0\.0\.1:[0-9]+) \(OPAQUE\)`).FindStringSubmatch(first)
	if err != nil || m == nil {
		t.Fatalf("sspi serve said %q (%v)", first, err)
	}
	connect := func(password string) (string, string, int) {
		return d.sspiCmd(t, nobody, password+"\nhello with OPAQUE\n", "connect", m[1], "--package", "OPAQUE",
			"--user", domain+`\bob`, "--target", target, "--password-stdin")
	}
	out, errOut, exit := connect(bobPassword)
	if exit != 0 || !strings.Contains(out, "(OPAQUE, mapped true)") || !strings.Contains(out, "\nhello with OPAQUE\n") {
		t.Fatalf("connect as bob: exit %d\n%s%s", exit, out, errOut)
	}
	if _, errOut, exit := connect("not " + bobPassword); exit != 1 || !strings.Contains(errOut, "SEC_E_LOGON_DENIED") {
		t.Fatalf("connect with a wrong password: exit %d, %q", exit, errOut)
	}
	srv.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(lines)
	srv.Wait()
	if !strings.Contains(string(rest), `authenticated as EXAMPLE\bob (OPAQUE, mapped true)`) {
		t.Fatalf("sspi serve said:\n%s%s", first, rest)
	}
	if st := d.stats(t).Engine; st.Registrations != 0 {
		t.Errorf("lsad holds %d registrations at the end", st.Registrations)
	}
}
