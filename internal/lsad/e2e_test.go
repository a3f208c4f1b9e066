//go:build linux

package lsad_test

// End-to-end tests of lsad as a real, separate process.
//
// The daemon is this test binary run again: TestMain sees LSAD_E2E_EXEC and
// runs lsad.Main (what cmd/lsad's one-line main calls), the sspi CLI
// (cli.Main, what cmd/sspi calls) or the probe of another uid instead of
// the tests. That needs no Go toolchain and no compile step at test time,
// runs the daemon under the race detector whenever the tests run under it,
// and registers the same packages as cmd/lsad (packages/all) plus one test
// package for reload tests. See doc/lsad.md ("Tests").

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/internal/cli"
	"github.com/opensspi/sspi/internal/lsad"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	_ "github.com/opensspi/sspi/packages/all"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// execEnv makes this binary act as lsad, the sspi CLI or a probe.
const execEnv = "LSAD_E2E_EXEC"

func TestMain(m *testing.M) {
	switch os.Getenv(execEnv) {
	case "lsad":
		// LSAD_E2E_NOFILE=N gives the daemon an open-file limit of N, so
		// that tests reach it with few connections.
		if n, err := strconv.ParseUint(os.Getenv("LSAD_E2E_NOFILE"), 10, 64); err == nil {
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				fmt.Fprintln(os.Stderr, "setrlimit:", err)
				os.Exit(1)
			}
		}
		if os.Getenv("LSAD_E2E_HEAPPROFILE") != "" {
			runtime.MemProfileRate = 512
		}
		// LSAD_E2E_CPUPROFILE=FILE profiles the daemons of a benchmark
		// run (each overwrites FILE when it stops).
		if f := os.Getenv("LSAD_E2E_CPUPROFILE"); f != "" {
			if w, err := os.Create(f); err == nil && pprof.StartCPUProfile(w) == nil {
				code := lsad.Main(context.Background(), os.Args[1:], os.Stderr)
				pprof.StopCPUProfile()
				w.Close()
				os.Exit(code)
			}
		}
		code := lsad.Main(context.Background(), os.Args[1:], os.Stderr)
		// LSAD_E2E_HEAPPROFILE=FILE writes the live heap of a daemon
		// as it stops (after SIGTERM: its connections are closed).
		if f := os.Getenv("LSAD_E2E_HEAPPROFILE"); f != "" {
			if w, err := os.Create(f); err == nil {
				runtime.GC()
				pprof.WriteHeapProfile(w)
				w.Close()
			}
		}
		os.Exit(code)
	case "sspi":
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	case "probe":
		os.Exit(runProbe())
	case "krbprobe":
		os.Exit(runKrbProbe())
	case "flood":
		os.Exit(runFlood())
	case "attack":
		os.Exit(runAttack())
	case "echo":
		os.Exit(runEcho())
	}
	dir, err := os.MkdirTemp("", "lsad-e2e-logs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	logDir = dir
	code := m.Run()
	if copyOnce.path != "" {
		os.RemoveAll(filepath.Dir(copyOnce.path))
	}
	if code == 0 {
		code = sweepLogs()
	}
	if code == 0 {
		os.RemoveAll(logDir)
	} else {
		fmt.Fprintf(os.Stderr, "lsad logs kept in %s\n", logDir)
	}
	os.Exit(code)
}

// Names the tests use: the machine lsad describes to packages, and the
// service the server contexts accept as.
const (
	domain = "EXAMPLE"
	target = "HOST/server.example.com"
)

// e2eFlags are the context requirements of every client context here.
const e2eFlags = sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect

// ---- The daemon process ----

// logDir holds every lsad log of the run, for the final secret sweep;
// debugLogs says a daemon logged at debug level.
var (
	logDir    string
	debugLogs atomic.Bool
)

// daemonOpts configure one lsad.
type daemonOpts struct {
	store    string   // "" means a SQLite file in the daemon's directory
	packages []string // nil: every registered package
	policy   string   // policy file text; "" for none (the default policy)
	lockout  string   // the [lockout] section's body
	limits   string   // the [limits] section's body
	format   string   // log format; "" means json
	level    string   // log level; "" means debug
	nofile   int      // the daemon's open-file limit; 0: inherited
	top      string   // more top-level settings (TOML lines)
	sections string   // more sections, appended (TOML)
}

// daemon is one lsad process (and its restarts) with its directory,
// configuration and log.
type daemon struct {
	name    string
	dir     string // 0755: other uids reach the socket
	sock    string
	config  string
	logPath string

	env []string // of the daemon process, beyond childEnv's

	mu    sync.Mutex
	cmd   *exec.Cmd
	exit  chan struct{} // closed when cmd has exited
	admin *lsarpc.Client
}

// startDaemon starts lsad with o and stops it when the test ends, then
// checks its log for every secret the run knows by then.
func startDaemon(t testing.TB, name string, o daemonOpts) *daemon {
	t.Helper()
	// A short directory: socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "lsad")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	d := &daemon{name: name, dir: dir, sock: filepath.Join(dir, "lsad.sock"),
		config: filepath.Join(dir, "lsad.toml"), logPath: filepath.Join(logDir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))}
	d.writeConfig(t, o)
	if o.nofile > 0 {
		d.env = append(d.env, "LSAD_E2E_NOFILE="+strconv.Itoa(o.nofile))
	}
	t.Cleanup(func() {
		d.stop()
		d.checkLog(t)
		os.RemoveAll(dir)
	})
	d.start(t)
	return d
}

// writeConfig writes lsad.toml (and policy.toml) for o; a running daemon
// picks them up on SIGHUP.
func (d *daemon) writeConfig(t testing.TB, o daemonOpts) {
	t.Helper()
	store := o.store
	if store == "" {
		store = "sqlite:" + filepath.Join(d.dir, "accounts.db")
	}
	format := o.format
	if format == "" {
		format = "json"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "socket = %q\nstore = %q\ncreate_store = true\n%s\n", d.sock, store, o.top)
	if o.packages != nil {
		fmt.Fprintf(&b, "packages = [")
		for i, p := range o.packages {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", p)
		}
		b.WriteString("]\n")
	}
	if o.policy == "" && os.Getuid() != 0 {
		// The default policy lets root administer; the tests need
		// their own uid to.
		o.policy = policy(false)
	}
	if o.policy != "" {
		pf := filepath.Join(d.dir, "policy.toml")
		if err := os.WriteFile(pf, []byte(o.policy), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "policy = %q\n", pf)
	}
	level := o.level
	if level == "" {
		level = "debug"
		debugLogs.Store(true)
	}
	fmt.Fprintf(&b, "[log]\nlevel = %q\nformat = %q\n", level, format)
	fmt.Fprintf(&b, "[machine]\nnetbios_name = \"SERVER\"\ndomain = %q\ndns_name = \"server.example.com\"\ndns_domain = \"example.com\"\n", domain)
	fmt.Fprintf(&b, "[limits]\n%s\n[lockout]\n%s\n%s\n", o.limits, o.lockout, o.sections)
	if err := os.WriteFile(d.config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exe is the binary that runs as lsad, the CLI and the probe.
func exe(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// childEnv is the environment of a re-executed child acting as role,
// without the caller's LSA settings.
func childEnv(role string, extra ...string) []string {
	var env []string
	// Under the race detector a process sleeps a second at exit unless
	// told otherwise; the children exit often.
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case execEnv, "SSPI_LSA", "SSPI_STORE", "SSPI_PASSWORD", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID":
			continue
		case "GORACE":
			gorace = v + " " + gorace
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, execEnv+"="+role, "GORACE="+gorace), extra...)
}

// start runs lsad and waits until it says it is ready, the way systemd
// learns it (sd_notify READY=1 on NOTIFY_SOCKET, sent once it listens).
func (d *daemon) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	notifyPath := filepath.Join(d.dir, "notify.sock")
	os.Remove(notifyPath)
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(notifyPath)
	defer notify.Close()
	cmd := exec.Command(exe(t), "-config", d.config)
	cmd.Env = childEnv("lsad", append([]string{"NOTIFY_SOCKET=" + notifyPath}, d.env...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	d.mu.Lock()
	d.cmd, d.exit = cmd, exit
	d.mu.Unlock()
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				ready <- err
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l == "READY=1" {
					ready <- nil
					return
				}
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("lsad %s: reading its readiness: %v", d.name, err)
		}
	case <-exit:
		t.Fatalf("lsad %s exited at start: %v\n%s", d.name, cmd.ProcessState, tail(d.logPath))
	case <-time.After(2 * time.Minute): // a guard against a hang, not a condition
		t.Fatalf("lsad %s does not say it is ready\n%s", d.name, tail(d.logPath))
	}
}

// pid is the running daemon's process id.
func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.Process.Pid
}

// signal sends sig to the daemon.
func (d *daemon) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// pause stops the daemon (SIGSTOP) and waits until the kernel reports
// it stopped: it then answers nothing, like a hung daemon.
func (d *daemon) pause(t testing.TB) {
	t.Helper()
	d.signal(t, syscall.SIGSTOP)
	eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.pid()))
		if err != nil {
			return err
		}
		// pid (comm) state ...: comm may hold spaces, not ')'.
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'T' {
			return nil
		}
		return errors.New("lsad has not stopped")
	})
}

// kill SIGKILLs the daemon and waits for it to be gone.
func (d *daemon) kill(t testing.TB) {
	t.Helper()
	d.signal(t, syscall.SIGKILL)
	d.wait(t, 10*time.Second)
	d.dropAdmin()
}

func (d *daemon) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	d.mu.Lock()
	exit := d.exit
	d.mu.Unlock()
	select {
	case <-exit:
	case <-time.After(timeout):
		t.Fatalf("lsad %s did not exit within %v", d.name, timeout)
	}
}

func (d *daemon) alive() bool {
	d.mu.Lock()
	exit := d.exit
	d.mu.Unlock()
	select {
	case <-exit:
		return false
	default:
		return true
	}
}

func (d *daemon) dropAdmin() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.admin != nil {
		d.admin.Close()
		d.admin = nil
	}
}

// stop ends the daemon with SIGTERM (SIGKILL if it does not go).
func (d *daemon) stop() {
	d.dropAdmin()
	d.mu.Lock()
	cmd, exit := d.cmd, d.exit
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exit:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exit
	}
}

// reload sends SIGHUP and waits until the daemon has logged the
// outcome.
func (d *daemon) reload(t testing.TB) {
	t.Helper()
	count := func(what string) int { return strings.Count(readLog(t, d.logPath), what) }
	ok, failed := count(`"msg":"configuration reloaded"`), count("reload failed")
	d.signal(t, syscall.SIGHUP)
	eventually(t, 10*time.Second, func() error {
		if count("reload failed") > failed {
			t.Fatalf("reload failed:\n%s", tail(d.logPath))
		}
		if count(`"msg":"configuration reloaded"`) > ok {
			return nil
		}
		return errors.New("no reload logged yet")
	})
}

// client is a new connection to the daemon, closed when the test ends.
func (d *daemon) client(t testing.TB) *lsarpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := lsarpc.Dial(ctx, d.sock)
	if err != nil {
		t.Fatalf("dial lsad: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// provider is an application's provider on a connection of its own.
func (d *daemon) provider(t testing.TB) *sspi.Provider {
	t.Helper()
	p := sspi.NewProvider(d.client(t), &sspi.ProviderConfig{CallTimeout: 10 * time.Second})
	t.Cleanup(func() { p.Close() })
	return p
}

// adminConn is the connection the test administers and monitors the
// daemon with (root has the admin right in every policy here).
func (d *daemon) adminConn(t testing.TB) *lsarpc.Client {
	t.Helper()
	c, err := d.adminClient()
	if err != nil {
		t.Fatalf("dial lsad: %v", err)
	}
	return c
}

func (d *daemon) adminClient() (*lsarpc.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.admin == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := lsarpc.Dial(ctx, d.sock)
		if err != nil {
			return nil, err
		}
		d.admin = c
	}
	return d.admin, nil
}

// stats asks the daemon what it holds and uses, after a collection.
func (d *daemon) stats(t testing.TB) *lsa.StatsReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := d.adminConn(t).Stats(ctx, &lsa.StatsRequest{GC: true})
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// fds counts the daemon's open files as the kernel lists them
// (/proc/PID/fd; lsad is not dumpable, so only root may read it), or
// returns -1.
func (d *daemon) fds() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.pid()))
	if err != nil {
		return -1
	}
	return len(ents)
}

// addUser creates an account through the daemon and records its
// password and NT hash as secrets no log may show.
func (d *daemon) addUser(t testing.TB, user, password string) {
	t.Helper()
	noteSecret("password of "+user, []byte(password))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.adminConn(t).AddAccount(ctx, &lsa.AccountRequest{Domain: domain, User: user, Password: []byte(password)}); err != nil {
		t.Fatalf("AddAccount %s: %v", user, err)
	}
}

// ---- Secrets and logs ----

var secretSet struct {
	mu    sync.Mutex
	names []string
	forms [][]byte
}

// noteSecret records a secret: no lsad log may contain it raw, in hex
// (either case), in base64 (at any offset of a larger encoded value),
// quoted with Go escapes (slog's text handler) or as a list of decimal
// bytes (fmt's %v), nor (for passwords) its UTF-16 form and NT hash.
func noteSecret(name string, b []byte) {
	if len(b) < 6 {
		panic("secret too short to look for: " + name)
	}
	secretSet.mu.Lock()
	defer secretSet.mu.Unlock()
	add := func(n string, v []byte) {
		forms := []string{string(v), hex.EncodeToString(v), strings.ToUpper(hex.EncodeToString(v))}
		// Base64 of a larger value holding v at offset 0, 1 or 2 (mod
		// 3): the characters that only v's bytes determine.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for shift := range 3 {
				e := enc.EncodeToString(append(make([]byte, shift), v...))
				start, end := 0, 4*((shift+len(v))/3)
				if shift > 0 {
					start = 4
				}
				if end-start >= 8 {
					forms = append(forms, e[start:end])
				}
			}
		}
		// Escaped and decimal forms, without the edges (an escape may
		// straddle them).
		if len(v) >= 10 {
			q := strconv.Quote(string(v[2 : len(v)-2]))
			forms = append(forms, q[1:len(q)-1], strings.Trim(fmt.Sprint(v[2:len(v)-2]), "[]"))
		}
		for _, f := range forms {
			secretSet.names = append(secretSet.names, n)
			secretSet.forms = append(secretSet.forms, []byte(f))
		}
	}
	add(name, b)
	if strings.HasPrefix(name, "password") {
		add(name+" (UTF-16)", utf16le(string(b)))
		add(name+" (NT hash)", ntHash(string(b)))
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func ntHash(pw string) []byte {
	h := md4.New()
	h.Write(utf16le(pw))
	return h.Sum(nil)
}

// findSecrets returns the names of the secrets found in log.
func findSecrets(log []byte) []string {
	secretSet.mu.Lock()
	defer secretSet.mu.Unlock()
	var found []string
	for i, f := range secretSet.forms {
		if bytes.Contains(log, f) {
			found = append(found, secretSet.names[i])
		}
	}
	return found
}

// checkLog fails the test if the daemon's log holds a known secret.
func (d *daemon) checkLog(t testing.TB) {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		t.Errorf("lsad log: %v", err)
		return
	}
	if found := findSecrets(b); len(found) > 0 {
		t.Errorf("lsad %s log %s holds secrets: %v", d.name, d.logPath, found)
	}
}

// sweepLogs looks for every secret of the run in every log of the run
// (a secret noted by a later test might be in an earlier log), and checks
// that the logs were written at debug level, so the sweep saw the most
// verbose output.
func sweepLogs() int {
	ents, err := os.ReadDir(logDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code, debug := 0, false
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(logDir, e.Name()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		debug = debug || bytes.Contains(b, []byte(`"level":"DEBUG","msg":"context step"`))
		if found := findSecrets(b); len(found) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: lsad log %s holds secrets: %v\n", e.Name(), found)
			code = 1
		}
	}
	if debugLogs.Load() && !debug {
		fmt.Fprintln(os.Stderr, "FAIL: no lsad log holds a debug-level handshake step; the secret sweep did not see debug output")
		code = 1
	}
	return code
}

func readLog(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tail is the end of a log, for failure messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// auditEvents counts the audit lines of a log (JSON or text) with the
// given event.
func auditEvents(t testing.TB, path, event string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(readLog(t, path)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		json := strings.Contains(l, `"msg":"audit"`) && strings.Contains(l, `"event":"`+event+`"`)
		text := strings.Contains(l, " msg=audit ") && strings.Contains(l, " event="+event+" ")
		if json || text {
			n++
		}
	}
	return n
}

// ---- Helpers ----

// eventually retries f until it succeeds, failing if it has not after
// timeout (at least a minute: the bound only guards against a condition
// that never comes, and a busy CI machine may be slow to bring it).
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(max(timeout, time.Minute))
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pair is an established (or establishing) client and server context.
type pair struct {
	client *sspi.ClientContext
	server *sspi.ServerContext
}

// credentials acquires NTLM credentials through p: explicit ones for
// user when password is not empty, default ones (the caller's logon
// session) when it is, and the server's inbound ones for target.
func credentials(t testing.TB, p *sspi.Provider, user, password string) (client, server *sspi.Credentials) {
	t.Helper()
	ctx := context.Background()
	opts := &sspi.CredentialsOptions{}
	if password != "" {
		opts.Identity = &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}
	}
	cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, opts)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	sc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	if err != nil {
		t.Fatalf("server credentials: %v", err)
	}
	t.Cleanup(func() { cc.Free(); sc.Free() })
	return cc, sc
}

// handshake runs an NTLM handshake between new contexts on cc and sc.
func handshake(ctx context.Context, cc, sc *sspi.Credentials) (*pair, error) {
	pr := &pair{
		client: sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: e2eFlags}),
		server: sspi.NewServerContext(sc, nil),
	}
	return pr, secpkgtest.Handshake(ctx, pr.client, pr.server)
}

func (pr *pair) delete() {
	pr.client.Delete()
	pr.server.Delete()
}

// established runs a handshake that must succeed, checks that both sides
// are mapped and agree on the session key (noted as a secret), and that
// the server saw user.
func established(t testing.TB, cc, sc *sspi.Credentials, user string) *pair {
	t.Helper()
	pr, err := handshake(context.Background(), cc, sc)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	checkPair(t, pr, user)
	return pr
}

func checkPair(t testing.TB, pr *pair, user string) {
	t.Helper()
	if !pr.client.Mapped() || !pr.server.Mapped() {
		t.Fatalf("contexts not mapped (client %v, server %v)", pr.client.Mapped(), pr.server.Mapped())
	}
	ck, err1 := pr.client.SessionKey()
	sk, err2 := pr.server.SessionKey()
	if err1 != nil || err2 != nil || len(ck) != 16 || !bytes.Equal(ck, sk) {
		t.Fatalf("session keys %x / %x (%v, %v)", ck, sk, err1, err2)
	}
	noteSecret("session key", ck)
	id, err := pr.server.Identity()
	if err != nil || !strings.EqualFold(id.User, user) || !strings.EqualFold(id.Domain, domain) {
		t.Fatalf("server identity %+v (%v), want %s\\%s", id, err, domain, user)
	}
}

// exchange sends messages both ways, sealed and signed, and checks each
// arrives intact: the pair's mapped contexts work.
func exchange(t testing.TB, pr *pair, tag string) {
	t.Helper()
	for _, d := range []struct {
		from, to *sspi.Context
	}{{&pr.client.Context, &pr.server.Context}, {&pr.server.Context, &pr.client.Context}} {
		msg := []byte("sealed " + tag)
		tok, err := d.from.Wrap(msg, true)
		if err != nil {
			t.Fatalf("Wrap %s: %v", tag, err)
		}
		got, enc, err := d.to.Unwrap(tok)
		if err != nil || !enc || !bytes.Equal(got, msg) {
			t.Fatalf("Unwrap %s: %q %v %v", tag, got, enc, err)
		}
		msg = []byte("signed " + tag)
		sig, err := d.from.Sign(msg)
		if err != nil {
			t.Fatalf("Sign %s: %v", tag, err)
		}
		if err := d.to.Verify(msg, sig); err != nil {
			t.Fatalf("Verify %s: %v", tag, err)
		}
	}
}

// handleOf formats an lsa.SecHandle for a child's environment.
func handleOf(h lsa.SecHandle) string {
	return strconv.FormatUint(h.Epoch, 10) + ":" + strconv.FormatUint(h.ID, 10)
}

func parseHandle(s string) lsa.SecHandle {
	var h lsa.SecHandle
	fmt.Sscanf(s, "%d:%d", &h.Epoch, &h.ID)
	return h
}

// ---- Children ----

var copyOnce struct {
	once sync.Once
	path string
	err  error
}

// publicExe is a copy of this binary that other uids may run (the test
// binary's own directory is private to its owner).
func publicExe(t testing.TB) string {
	t.Helper()
	copyOnce.once.Do(func() {
		dir, err := os.MkdirTemp("", "lsad-e2e-bin")
		if err != nil {
			copyOnce.err = err
			return
		}
		os.Chmod(dir, 0o755)
		src, err := os.Open(exe(t))
		if err != nil {
			copyOnce.err = err
			return
		}
		defer src.Close()
		p := filepath.Join(dir, "lsad-e2e")
		dst, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			copyOnce.err = err
			return
		}
		_, copyOnce.err = io.Copy(dst, src)
		if err := dst.Close(); copyOnce.err == nil {
			copyOnce.err = err
		}
		copyOnce.path = p
	})
	if copyOnce.err != nil {
		t.Fatal(copyOnce.err)
	}
	return copyOnce.path // removed by TestMain
}

// nobody is the uid (and gid) children of another user run as.
const nobody = 65534

// needRoot skips a test that runs children as another uid.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another uid")
	}
}

// sspiCmd runs the sspi CLI (this binary as cli.Main) against the daemon,
// as uid (root, or nobody), with stdin, and returns its output and exit
// status.
func (d *daemon) sspiCmd(t testing.TB, uid int, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := exe(t)
	if uid != os.Getuid() {
		bin = publicExe(t)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv("sspi", "SSPI_LSA="+d.sock)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if uid != os.Getuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("sspi %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}
