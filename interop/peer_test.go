package interop

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is Debian's interpreter, which has python3-gssapi. A python3
// earlier on PATH (pyenv and the like) usually cannot import gssapi.
const python = "/usr/bin/python3"

// peerScript is the gss-ntlmssp driver, relative to this package.
const peerScript = "peers/gss_peer.py"

// peerTimeout bounds every wait for a line from a peer.
const peerTimeout = 20 * time.Second

// The account both sides know. gss-ntlmssp reads it from NTLM_USER_FILE;
// our LSA from its account store.
const (
	user     = "alice"
	domain   = "EXAMPLE"
	password = "alice-Passw0rd"
	// spn is our acceptor's principal; gss-ntlmssp initiators target the
	// host-based service name peerTarget, which they send as
	// MsvAvTargetName "HTTP/server.example.com".
	spn        = "HTTP/server.example.com"
	peerTarget = "HTTP@server.example.com"
	// peerMachine is the NetBIOS name gss-ntlmssp's acceptor uses.
	peerMachine = "GSSPEER"
)

var (
	peersOnce sync.Once
	peersErr  error
)

// requirePeers skips the test unless the gss-ntlmssp peer can run here:
// /usr/bin/python3 with python3-gssapi, and gss-ntlmssp registered with
// MIT GSS-API. scripts/test.sh sets SSPI_INTEROP_REQUIRED=1, which turns
// the skip into a failure, so CI cannot pass without running them.
func requirePeers(t testing.TB) {
	t.Helper()
	peersOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gss-peer-check")
		if err != nil {
			peersErr = err
			return
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command(python, peerScript, "check")
		cmd.Env = peerEnv(t, dir)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			peersErr = fmt.Errorf("%s %s check: %v: %s", python, peerScript, err, bytes.TrimSpace(out))
		}
	})
	if peersErr != nil {
		peerMissing(t, "gss-ntlmssp peer (Debian: apt-get install gss-ntlmssp python3-gssapi, or scripts/setup.sh)", peersErr)
	}
}

// peerMissing skips a test whose peer cannot run, or fails it when
// SSPI_INTEROP_REQUIRED=1 (scripts/test.sh), so that CI cannot pass
// without the peer.
func peerMissing(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable: %v", what, err)
	if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// peerEnv is the environment of a gss-ntlmssp process: its user file in
// dir, and Kerberos pointed at nothing, so that neither the system's
// Kerberos configuration nor the caller's ccache plays a part.
func peerEnv(t testing.TB, dir string) []string {
	t.Helper()
	users := filepath.Join(dir, "ntlm_users")
	if _, err := os.Stat(users); err != nil {
		// DOMAIN:user:password, gss-ntlmssp's plain-text user database.
		if err := os.WriteFile(users, []byte(domain+":"+user+":"+password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"NTLM_USER_FILE=" + users,
		"NETBIOS_COMPUTER_NAME=" + peerMachine,
		"NETBIOS_DOMAIN_NAME=" + domain,
		"KRB5_CONFIG=" + filepath.Join(dir, "krb5-none.conf"),
		"KRB5CCNAME=FILE:" + filepath.Join(dir, "no-ccache"),
		"KRB5_KTNAME=FILE:" + filepath.Join(dir, "no-keytab"),
		"KRB5_CLIENT_KTNAME=FILE:" + filepath.Join(dir, "no-client-keytab"),
	}
	// Keep what a process needs to run; drop any inherited Kerberos,
	// NTLM or GSS settings.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "KRB5"), strings.HasPrefix(k, "NTLM_"),
			strings.HasPrefix(k, "NETBIOS_"), strings.HasPrefix(k, "GSS"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

// peer is a running gss_peer.py.
type peer struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startPeer runs gss_peer.py in role ("initiator" or "acceptor") with
// args, in an environment of its own. extraEnv adds variables (such as a
// password for --password-env). The process is waited for when the test
// ends.
func startPeer(t testing.TB, role string, extraEnv []string, args ...string) *peer {
	t.Helper()
	requirePeers(t)
	cmd := exec.Command(python, append([]string{peerScript, role}, args...)...)
	cmd.Env = append(peerEnv(t, t.TempDir()), extraEnv...)
	return startCmd(t, "gss-ntlmssp "+role, cmd)
}

// startCmd starts cmd, a peer speaking lines on stdin and stdout, named
// name in failures. The process is waited for when the test ends.
func startCmd(t testing.TB, name string, cmd *exec.Cmd) *peer {
	t.Helper()
	p := &peer{t: t, name: name, cmd: cmd, lines: make(chan string, 16), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() // our own child, by its handle
			<-done
		}
	})
	return p
}

// send writes one line: a keyword and fields, []byte fields in base64.
func (p *peer) send(kind string, fields ...any) {
	p.t.Helper()
	parts := []string{kind}
	for _, f := range fields {
		switch f := f.(type) {
		case []byte:
			if len(f) == 0 {
				parts = append(parts, "-") // no bytes (gss_peer.py's convention)
				continue
			}
			parts = append(parts, base64.StdEncoding.EncodeToString(f))
		default:
			parts = append(parts, fmt.Sprint(f))
		}
	}
	if _, err := io.WriteString(p.stdin, strings.Join(parts, " ")+"\n"); err != nil {
		p.t.Fatalf("%s: write: %v\n%s", p.name, err, p.stderr)
	}
}

// recv reads one line and splits it into its keyword and fields.
func (p *peer) recv() (string, []string) {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("%s exited early\n%s", p.name, p.stderr)
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			p.t.Fatalf("%s sent an empty line", p.name)
		}
		// JSON payloads keep their spaces.
		_, rest, _ := strings.Cut(l, " ")
		if f[0] == "DONE" || f[0] == "FAIL" || f[0] == "BAD" || f[0] == "RESULT" {
			return f[0], []string{rest}
		}
		return f[0], f[1:]
	case <-time.After(peerTimeout):
		p.t.Fatalf("%s: no answer in %v\n%s", p.name, peerTimeout, p.stderr)
	}
	panic("unreachable")
}

// expect reads one line that must start with kind and returns its fields.
func (p *peer) expect(kind string) []string {
	p.t.Helper()
	k, f := p.recv()
	if k != kind {
		p.t.Fatalf("%s: want %s, got %s %s\n%s", p.name, kind, k, strings.Join(f, " "), p.stderr)
	}
	return f
}

// bytes decodes field i of a line as base64.
func (p *peer) bytes(f []string, i int) []byte {
	p.t.Helper()
	if i >= len(f) {
		p.t.Fatalf("%s: line has %d fields, want %d", p.name, len(f), i+1)
	}
	if f[i] == "-" {
		return []byte{}
	}
	b, err := base64.StdEncoding.DecodeString(f[i])
	if err != nil {
		p.t.Fatalf("%s: field %d: %v", p.name, i, err)
	}
	return b
}

// token reads a TOK line.
func (p *peer) token() []byte {
	p.t.Helper()
	return p.bytes(p.expect("TOK"), 0)
}

// peerDone is the DONE line of an established peer.
type peerDone struct {
	Peer       string   `json:"peer"`
	SessionKey string   `json:"session_key"`
	Flags      []string `json:"flags"`
	Mech       string   `json:"mech"`
}

// peerFailure is the FAIL or BAD line of a peer: GSS status codes.
type peerFailure struct {
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	Error string `json:"error"`
}

// done reads the DONE line; anything else fails the test.
func (p *peer) done() peerDone {
	p.t.Helper()
	var d peerDone
	if err := json.Unmarshal([]byte(p.expect("DONE")[0]), &d); err != nil {
		p.t.Fatal(err)
	}
	return d
}

// failed reads a FAIL (handshake) or BAD (command) line; anything else
// fails the test.
func (p *peer) failed(kind string) peerFailure {
	p.t.Helper()
	var f peerFailure
	if err := json.Unmarshal([]byte(p.expect(kind)[0]), &f); err != nil {
		p.t.Fatal(err)
	}
	return f
}

// quit ends the peer's command loop and checks that it exits cleanly.
func (p *peer) quit() {
	p.t.Helper()
	p.send("QUIT")
	p.expect("RESULT")
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("%s: %v\n%s", p.name, err, p.stderr)
	}
}

// GSS major status codes (RFC 2744 3.9.1) the tests expect.
const (
	gssBadSig         = 6 << 16  // GSS_S_BAD_SIG, also GSS_S_BAD_MIC
	gssDefectiveToken = 9 << 16  // GSS_S_DEFECTIVE_TOKEN
	gssFailure        = 13 << 16 // GSS_S_FAILURE
)
