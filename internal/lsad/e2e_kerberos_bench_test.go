//go:build linux

package lsad_test

// The Kerberos handshake benchmark, beside its anchors in the same run:
// ours embedded against MIT krb5 in-process (libgssapi_krb5, FILE ccache
// with the service ticket cached, file replay cache), and ours with both
// sides through a real lsad against both sides through gssproxy (MIT's
// privilege-separation daemon, with the keytabs and the ccache in it).
// The anchors are interop/peers/bench_krb5.c, built by the benchmark.
//
//	eval "$(scripts/dev-realm.sh up)"
//	go test -run '^$' -bench KerberosHandshake -benchtime 2s -count 3 ./internal/lsad
//
// Each sub-benchmark alternates ours and theirs in blocks (interleave) and
// reports both rates and their ratio; the goals are 1.5 (embedded against
// MIT in-process) and 3 (lsad against gssproxy), for the median ratio of
// the -count runs.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
)

// krbBenchRealm is the realm for the benchmark, or a skip (a failure under
// SSPI_INTEROP_REQUIRED=1).
func krbBenchRealm(b *testing.B) *krbRealm {
	b.Helper()
	r := &krbRealm{
		realm: os.Getenv("SSPI_KRB5_REALM"), config: os.Getenv("KRB5_CONFIG"), keytab: os.Getenv("SSPI_KRB5_SERVICE_KEYTAB"),
		user: os.Getenv("SSPI_KRB5_USER"), password: os.Getenv("SSPI_KRB5_PASSWORD"), service: os.Getenv("SSPI_KRB5_SERVICE"),
	}
	if r.realm == "" || r.config == "" || r.keytab == "" || r.user == "" || r.service == "" {
		msg := "no Kerberos realm: run eval \"$(scripts/dev-realm.sh up)\""
		if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
			b.Fatal(msg)
		}
		b.Skip(msg)
	}
	return r
}

// buildBenchKrb5 compiles interop/peers/bench_krb5.c into dir.
func buildBenchKrb5(b *testing.B, dir string) string {
	b.Helper()
	flags, err := exec.Command("krb5-config", "--cflags", "--libs", "gssapi").Output()
	if err == nil {
		bin := filepath.Join(dir, "bench_krb5")
		args := append([]string{"-O2", "-Wall", "-o", bin, filepath.Join("..", "..", "interop", "peers", "bench_krb5.c")}, strings.Fields(string(flags))...)
		out, cerr := exec.Command("gcc", args...).CombinedOutput()
		if cerr == nil {
			return bin
		}
		err = fmt.Errorf("%v: %s", cerr, out)
	}
	msg := fmt.Sprintf("cannot build bench_krb5.c (Debian: apt-get install libkrb5-dev gcc): %v", err)
	if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
		b.Fatal(msg)
	}
	b.Skip(msg)
	return ""
}

// krbPeer is a running bench_krb5.
type krbPeer struct {
	in  io.WriteCloser
	out *bufio.Scanner
	pid int
}

// startKrbPeer runs bench_krb5 handshake in env and waits until it is
// ready (its warm-up handshake done).
func startKrbPeer(b *testing.B, bin string, env []string) *krbPeer {
	b.Helper()
	cmd := exec.Command(bin, "handshake")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	p := &krbPeer{in: in, out: bufio.NewScanner(out), pid: cmd.Process.Pid}
	if !p.out.Scan() || p.out.Text() != "ready" {
		b.Fatalf("bench_krb5 did not start")
	}
	return p
}

// run has the peer make n handshakes and returns the time its loop took.
func (p *krbPeer) run(b *testing.B, n int) time.Duration {
	b.Helper()
	fmt.Fprintf(p.in, "run %d\n", n)
	if !p.out.Scan() {
		b.Fatal("bench_krb5 exited")
	}
	f := strings.Fields(p.out.Text())
	if len(f) < 3 || f[0] != "done" || f[1] != strconv.Itoa(n) {
		b.Fatalf("bench_krb5: %q", p.out.Text())
	}
	ns, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}

// krbEnv is the environment of an MIT process: the realm's configuration
// and nothing else of Kerberos, plus extra.
func krbEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "KRB5") && !strings.HasPrefix(k, "GSS") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// kinitInto gets alice a TGT in the FILE ccache path.
func (r *krbRealm) kinitInto(b *testing.B, path string) {
	b.Helper()
	cmd := exec.Command("kinit", r.user+"@"+r.realm)
	cmd.Env = krbEnv("KRB5_CONFIG="+r.config, "KRB5CCNAME=FILE:"+path)
	cmd.Stdin = strings.NewReader(r.password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("kinit: %v: %s", err, out)
	}
}

// krbBlock is how many handshakes each side makes before the other takes
// its turn: the two sides alternate in blocks this size throughout a run,
// so that both meet the same load on a shared machine.
const krbBlock = 64

// side makes n handshakes and returns the time they took.
type side func(n int) time.Duration

// ourSide is handshakes between cc and sc, timed here.
func ourSide(b *testing.B, target string, cc, sc *sspi.Credentials) side {
	krbOne(b, target, cc, sc) // the TGT and the service ticket
	return func(n int) time.Duration {
		start := time.Now()
		for range n {
			krbOne(b, target, cc, sc)
		}
		return time.Since(start)
	}
}

// peerSide is handshakes in a bench_krb5, timed by its own loop (without
// the pipe).
func peerSide(b *testing.B, p *krbPeer) side {
	return func(n int) time.Duration { return p.run(b, n) }
}

// withCPU adds to *acc, for each block of s, the CPU time the processes
// of pids used (user and system, from /proc, in 10 ms ticks: meaningful
// over a whole run, not a block).
func withCPU(s side, acc *time.Duration, pids ...int) side {
	cpu := func() (t time.Duration) {
		for _, p := range pids {
			t += processCPU(p)
		}
		return t
	}
	return func(n int) time.Duration {
		c0 := cpu()
		d := s(n)
		*acc += cpu() - c0
		return d
	}
}

// reportCPU reports CPU time per handshake in µs as unit.
func reportCPU(b *testing.B, t time.Duration, unit string) {
	b.ReportMetric(float64(t.Microseconds())/float64(b.N), unit)
}

// interleave runs b.N handshakes on each side, alternating in blocks of
// krbBlock, and reports each side's rate and ours/theirs (the figure to
// compare with the goal; take the median over -count). ns/op is the wall
// time of one handshake of each side.
func interleave(b *testing.B, ours, theirs side) {
	interleaveBlocks(b, krbBlock, ours, theirs)
}

// interleaveBlocks is interleave in blocks of block handshakes.
func interleaveBlocks(b *testing.B, block int, ours, theirs side) {
	b.ReportAllocs()
	b.ResetTimer()
	var tOurs, tTheirs time.Duration
	for left := b.N; left > 0; left -= block {
		n := min(left, block)
		tOurs += ours(n)
		tTheirs += theirs(n)
	}
	b.StopTimer()
	o, t := float64(b.N)/tOurs.Seconds(), float64(b.N)/tTheirs.Seconds()
	b.ReportMetric(o, "ours-hs/s")
	b.ReportMetric(t, "theirs-hs/s")
	b.ReportMetric(o/t, "ratio")
}

// embeddedCreds is a provider on an embedded engine with the Kerberos
// package and a replay cache file shared with other processes (locked for
// each store, as SSPI_REPLAY_CACHE configures it, and as MIT's file
// replay cache is), and alice's and the service's credentials on it.
func (r *krbRealm) embeddedCreds(b *testing.B) (cc, sc *sspi.Credentials) {
	e, err := engine.New(&engine.Config{
		Packages:          []string{kerberos.Name},
		Configured:        map[string]secpkg.Package{kerberos.Name: kerberos.New(&kerberos.Config{ConfigFiles: []string{r.config}, Keytabs: []string{r.keytab}})},
		ReplayCacheFile:   filepath.Join(b.TempDir(), "replay.cache"),
		ReplayCacheShared: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	b.Cleanup(func() { p.Close() })
	return r.krbCredentials(b, p, p)
}

// krbDaemon starts an lsad with the Kerberos package and a replay cache
// file.
func (r *krbRealm) krbDaemon(b *testing.B, name string) *daemon {
	d := startDaemon(b, name, daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection()})
	o := daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection(),
		top: fmt.Sprintf("replay_cache = %q", filepath.Join(d.dir, "replay.cache"))}
	d.writeConfig(b, o)
	d.stop()
	d.start(b)
	return d
}

// dial connects to the daemon's socket.
func (d *daemon) dial(b *testing.B) lsa.Conn {
	c, err := lsarpc.Dial(context.Background(), d.sock)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// krbCredentials acquires alice's outbound credentials (password: the
// LSA's AS exchange at the first handshake) on cp and the service's on sp.
func (r *krbRealm) krbCredentials(b *testing.B, cp, sp *sspi.Provider) (cc, sc *sspi.Credentials) {
	ctx := context.Background()
	cc, err := cp.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: r.user, Domain: r.realm, Password: []byte(r.password)}})
	if err != nil {
		b.Fatal(err)
	}
	sc, err = sp.AcquireCredentials(ctx, kerberos.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: strings.Replace(r.service, "@", "/", 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Free(); sc.Free() })
	return cc, sc
}

// BenchmarkKerberosHandshake: whole Kerberos handshakes per second (AP-REQ
// from a cached service ticket, AP-REP, both contexts mapped and
// deleted), ours and MIT's, each with a replay cache on disk, the two
// sides of each sub-benchmark alternating in blocks (interleave):
//
//   - Embedded-vs-MIT: our embedded engine against MIT in-process
//     (libgssapi_krb5, FILE ccache holding the service ticket, file
//     replay cache; the anchor's "c krb5 handshake file-cc rcache");
//     goal at least 1.5;
//   - lsad-vs-gssproxy: both sides through a real lsad (two connections,
//     one per side) against both sides through gssproxy (its setup c1:
//     keytab, client keytab and ccache in the daemon); goal at least 3;
//   - lsad-vs-gssproxy-parallel: krbParallel applications at once
//     against as many MIT processes at once through one gssproxy, for
//     information (what one daemon serves).
func BenchmarkKerberosHandshake(b *testing.B) {
	r := krbBenchRealm(b)
	bin := buildBenchKrb5(b, b.TempDir())

	b.Run("Embedded-vs-MIT", func(b *testing.B) {
		cc, sc := r.embeddedCreds(b)
		ours := ourSide(b, r.service, cc, sc)
		d := b.TempDir()
		r.kinitInto(b, filepath.Join(d, "ccache"))
		peer := startKrbPeer(b, bin, krbEnv("KRB5_CONFIG="+r.config, "KRB5_KTNAME=FILE:"+r.keytab,
			"KRB5CCNAME=FILE:"+filepath.Join(d, "ccache"), "KRB5RCACHEDIR="+d))
		var app, theirApp time.Duration
		interleave(b, withCPU(ours, &app, os.Getpid()), withCPU(peerSide(b, peer), &theirApp, peer.pid)) // goal: ratio at least 1.5
		reportCPU(b, app, "ours-app-µs/hs")
		reportCPU(b, theirApp, "theirs-app-µs/hs")
	})
	b.Run("lsad-vs-gssproxy", func(b *testing.B) {
		d := r.krbDaemon(b, "krb-bench")
		cp, sp := sspi.NewProvider(d.dial(b), nil), sspi.NewProvider(d.dial(b), nil)
		b.Cleanup(func() { cp.Close(); sp.Close() })
		cc, sc := r.krbCredentials(b, cp, sp)
		env, gpPID := startGSSProxy(b, r)
		peer := startKrbPeer(b, bin, env)
		// CPU per handshake of each process: the application (this one;
		// bench_krb5) and the daemon (lsad; gssproxy).
		var app, lsad, theirApp, gp time.Duration
		ours := withCPU(withCPU(ourSide(b, r.service, cc, sc), &app, os.Getpid()), &lsad, d.pid())
		theirs := withCPU(withCPU(peerSide(b, peer), &theirApp, peer.pid), &gp, gpPID)
		interleave(b, ours, theirs) // goal: ratio at least 3
		reportCPU(b, app, "ours-app-µs/hs")
		reportCPU(b, lsad, "ours-lsad-µs/hs")
		reportCPU(b, theirApp, "theirs-app-µs/hs")
		reportCPU(b, gp, "theirs-gssproxy-µs/hs")
	})
	b.Run("lsad-vs-gssproxy-parallel", func(b *testing.B) {
		d := r.krbDaemon(b, "krb-bench-par")
		apps := make([]side, krbParallel)
		for i := range apps {
			cp, sp := sspi.NewProvider(d.dial(b), nil), sspi.NewProvider(d.dial(b), nil)
			b.Cleanup(func() { cp.Close(); sp.Close() })
			cc, sc := r.krbCredentials(b, cp, sp)
			apps[i] = ourSide(b, r.service, cc, sc)
		}
		env, _ := startGSSProxy(b, r)
		peers := make([]side, krbParallel)
		for i := range peers {
			peers[i] = peerSide(b, startKrbPeer(b, bin, env))
		}
		interleave(b, parallel(apps), parallel(peers)) // for information
	})
}

// parallel is the sides at once, sharing the n handshakes (rounded up to
// a multiple of their number), timed from the start of the first to the
// end of the last.
func parallel(sides []side) side {
	return func(n int) time.Duration {
		each := (n + len(sides) - 1) / len(sides)
		var wg sync.WaitGroup
		start := time.Now()
		for _, s := range sides {
			wg.Go(func() { s(each) })
		}
		wg.Wait()
		return time.Since(start) * time.Duration(n) / time.Duration(each*len(sides))
	}
}

// krbParallel is how many applications run at once in the parallel runs.
const krbParallel = 4

// krbOne is one handshake between cc and sc, both contexts deleted.
func krbOne(b *testing.B, target string, cc, sc *sspi.Credentials) {
	ctx := context.Background()
	c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: e2eFlags | sspi.ISCReqMutualAuth})
	s := sspi.NewServerContext(sc, nil)
	defer c.Delete()
	defer s.Delete()
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		b.Error(err)
		return
	}
	rep, _, err := s.Accept(ctx, tok)
	if err != nil {
		b.Error(err)
		return
	}
	if _, st, err := c.Initialize(ctx, rep); err != nil || st != sspi.StatusOK {
		b.Error(st, err)
	}
}

// startGSSProxy starts a gssproxy daemon holding the realm's service
// keytab, alice's client keytab and its own ccache, with one service of
// cred_usage "both" for this euid, and returns the environment of an
// application that goes through it for both sides (MIT's interposer,
// GSS_USE_PROXY=yes) and holds no Kerberos credentials itself.
func startGSSProxy(b *testing.B, r *krbRealm) (env []string, pid int) {
	b.Helper()
	bin, err := exec.LookPath("gssproxy")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/gssproxy"); err != nil {
			msg := "gssproxy is not installed (Debian: apt-get install gssproxy)"
			if os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
				b.Fatal(msg)
			}
			b.Skip(msg)
		}
	}
	userKeytab := os.Getenv("SSPI_KRB5_USER_KEYTAB")
	if userKeytab == "" {
		b.Skip("SSPI_KRB5_USER_KEYTAB unset")
	}
	d, err := os.MkdirTemp("", "gp")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	sock := filepath.Join(d, "both.sock")
	conf := fmt.Sprintf(`[gssproxy]
  debug_level = 0
[service/bench-both]
  mechs = krb5
  socket = %s
  cred_store = keytab:%s
  cred_store = client_keytab:%s
  cred_store = ccache:FILE:%s
  cred_usage = both
  euid = %d
`, sock, r.keytab, userKeytab, filepath.Join(d, "gp-ccache"), os.Geteuid())
	for name, body := range map[string]string{"gp.conf": conf} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(d, "conf.d"), 0o700)
	os.Mkdir(filepath.Join(d, "rc-gp"), 0o700)
	os.Mkdir(filepath.Join(d, "rc-app"), 0o700)
	cmd := exec.Command(bin, "-i", "-c", filepath.Join(d, "gp.conf"), "-C", filepath.Join(d, "conf.d"), "-s", filepath.Join(d, "default.sock"))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "KRB5_CONFIG=" + r.config, "KRB5RCACHEDIR=" + filepath.Join(d, "rc-gp")}
	log, _ := os.Create(filepath.Join(d, "gssproxy.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Kill() // our own child, by its handle
		<-exited
		log.Close()
	})
	// gssproxy says nothing when it listens: wait for its socket, with a
	// guard against a daemon that never gets there.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(d, "gssproxy.log"))
			b.Fatalf("gssproxy exited: %s", out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatal("gssproxy does not listen")
		}
	}
	// The application's krb5.conf: the realm's, with the default keytabs
	// pointed at files that do not exist.
	rb, err := os.ReadFile(r.config)
	if err != nil {
		b.Fatal(err)
	}
	var app []string
	for _, l := range strings.Split(string(rb), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "default_keytab_name") || strings.HasPrefix(t, "default_client_keytab_name") || strings.HasPrefix(t, "default_ccache_name") {
			continue
		}
		app = append(app, l)
	}
	appConf := filepath.Join(d, "krb5-app.conf")
	os.WriteFile(appConf, []byte(strings.Join(app, "\n")), 0o600)
	return krbEnv("KRB5_CONFIG="+appConf, "KRB5_KTNAME=FILE:"+filepath.Join(d, "no-such.keytab"),
		"KRB5_CLIENT_KTNAME=FILE:"+filepath.Join(d, "no-such-client.keytab"), "KRB5CCNAME=FILE:"+filepath.Join(d, "app-ccache"),
		"KRB5RCACHEDIR="+filepath.Join(d, "rc-app"), "GSS_USE_PROXY=yes", "GSSPROXY_SOCKET="+sock), cmd.Process.Pid
}
