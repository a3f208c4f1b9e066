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
// The ratio sub-benchmarks report ours/theirs from the medians of the
// runs; the goals are 1.5 (embedded against MIT in-process) and 3 (lsad
// against gssproxy).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	p := &krbPeer{in: in, out: bufio.NewScanner(out)}
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

// krbRuns records runs for a median rate.
type krbRuns struct{ rates []float64 }

func (r *krbRuns) add(n int, d time.Duration) {
	if d > 100*time.Millisecond { // the runs that find b.N are not measured
		r.rates = append(r.rates, float64(n)/d.Seconds())
	}
}

func (r *krbRuns) median() float64 {
	if len(r.rates) == 0 {
		return 0
	}
	s := slices.Clone(r.rates)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// krbHandshakes times b.N handshakes between cc and sc.
func krbHandshakes(b *testing.B, target string, cc, sc *sspi.Credentials, rec *krbRuns) {
	one := func() { krbOne(b, target, cc, sc) }
	one() // the TGT and the service ticket
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		one()
	}
	d := time.Since(start)
	b.ReportMetric(float64(b.N)/d.Seconds(), "handshakes/s")
	rec.add(b.N, d)
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
// deleted), ours and MIT's, each with a replay cache on disk.
func BenchmarkKerberosHandshake(b *testing.B) {
	r := krbBenchRealm(b)
	dir := b.TempDir()
	bin := buildBenchKrb5(b, dir)
	ours, lsad, mit, gp := &krbRuns{}, &krbRuns{}, &krbRuns{}, &krbRuns{}

	b.Run("OpenSSPI-Embedded", func(b *testing.B) {
		e, err := engine.New(&engine.Config{
			Packages:        []string{kerberos.Name},
			Configured:      map[string]secpkg.Package{kerberos.Name: kerberos.New(&kerberos.Config{ConfigFiles: []string{r.config}, Keytabs: []string{r.keytab}})},
			ReplayCacheFile: filepath.Join(b.TempDir(), "replay.cache"),
		})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
		defer p.Close()
		cc, sc := r.krbCredentials(b, p, p)
		krbHandshakes(b, r.service, cc, sc, ours)
	})
	b.Run("MIT-Embedded", func(b *testing.B) {
		d := b.TempDir()
		r.kinitInto(b, filepath.Join(d, "ccache"))
		peer := startKrbPeer(b, bin, krbEnv("KRB5_CONFIG="+r.config, "KRB5_KTNAME=FILE:"+r.keytab,
			"KRB5CCNAME=FILE:"+filepath.Join(d, "ccache"), "KRB5RCACHEDIR="+d))
		b.ResetTimer()
		t := peer.run(b, b.N)
		b.StopTimer()
		b.ReportMetric(float64(t.Nanoseconds())/float64(b.N), "ns/op")
		b.ReportMetric(float64(b.N)/t.Seconds(), "handshakes/s")
		mit.add(b.N, t)
	})
	b.Run("OpenSSPI-lsad", func(b *testing.B) {
		d := startDaemon(b, "krb-bench", daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection()})
		o := daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection(),
			top: fmt.Sprintf("replay_cache = %q", filepath.Join(d.dir, "replay.cache"))}
		d.writeConfig(b, o)
		d.stop()
		d.start(b)
		dial := func() lsa.Conn {
			c, err := lsarpc.Dial(context.Background(), d.sock)
			if err != nil {
				b.Fatal(err)
			}
			return c
		}
		cp, sp := sspi.NewProvider(dial(), nil), sspi.NewProvider(dial(), nil)
		defer cp.Close()
		defer sp.Close()
		cc, sc := r.krbCredentials(b, cp, sp)
		krbHandshakes(b, r.service, cc, sc, lsad)
	})
	b.Run("gssproxy", func(b *testing.B) {
		env := startGSSProxy(b, r)
		peer := startKrbPeer(b, bin, env)
		b.ResetTimer()
		t := peer.run(b, b.N)
		b.StopTimer()
		b.ReportMetric(float64(t.Nanoseconds())/float64(b.N), "ns/op")
		b.ReportMetric(float64(b.N)/t.Seconds(), "handshakes/s")
		gp.add(b.N, t)
	})
	// Throughput: what one daemon serves to several applications at once
	// (krbParallel of each, with a connection of its own), against as many
	// MIT processes at once through one gssproxy.
	lsadPar, gpPar := &krbRuns{}, &krbRuns{}
	b.Run("OpenSSPI-lsad-parallel", func(b *testing.B) {
		d := startDaemon(b, "krb-bench-par", daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection()})
		o := daemonOpts{packages: []string{"Kerberos"}, level: "info", sections: r.kerberosSection(),
			top: fmt.Sprintf("replay_cache = %q", filepath.Join(d.dir, "replay.cache"))}
		d.writeConfig(b, o)
		d.stop()
		d.start(b)
		type app struct{ cc, sc *sspi.Credentials }
		apps := make(chan app, krbParallel)
		for range krbParallel {
			dial := func() lsa.Conn {
				c, err := lsarpc.Dial(context.Background(), d.sock)
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			cp, sp := sspi.NewProvider(dial(), nil), sspi.NewProvider(dial(), nil)
			b.Cleanup(func() { cp.Close(); sp.Close() })
			cc, sc := r.krbCredentials(b, cp, sp)
			krbOne(b, r.service, cc, sc) // the TGT and the service ticket
			apps <- app{cc, sc}
		}
		b.SetParallelism((krbParallel + 1) / 2) // GOMAXPROCS is 2 here
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			a := <-apps
			for pb.Next() {
				krbOne(b, r.service, a.cc, a.sc)
			}
		})
		el := time.Since(start)
		b.ReportMetric(float64(b.N)/el.Seconds(), "handshakes/s")
		lsadPar.add(b.N, el)
	})
	b.Run("gssproxy-parallel", func(b *testing.B) {
		env := startGSSProxy(b, r)
		peers := make([]*krbPeer, krbParallel)
		for i := range peers {
			peers[i] = startKrbPeer(b, bin, env)
		}
		n := (b.N + krbParallel - 1) / krbParallel
		b.ResetTimer()
		start := time.Now()
		done := make(chan struct{}, krbParallel)
		for _, p := range peers {
			fmt.Fprintf(p.in, "run %d\n", n)
		}
		for _, p := range peers {
			go func() {
				p.out.Scan()
				done <- struct{}{}
			}()
		}
		for range peers {
			<-done
		}
		d := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(d.Nanoseconds())/float64(n*krbParallel), "ns/op")
		b.ReportMetric(float64(n*krbParallel)/d.Seconds(), "handshakes/s")
		gpPar.add(n*krbParallel, d)
	})
	krbRatio(b, "ratio-Embedded-vs-MIT", ours.median(), mit.median(), "MIT in-process", "at least 1.5")
	krbRatio(b, "ratio-lsad-vs-gssproxy", lsad.median(), gp.median(), "gssproxy", "at least 3")
	krbRatio(b, "ratio-lsad-vs-gssproxy-parallel", lsadPar.median(), gpPar.median(), "gssproxy", "at least 3")
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

// krbRatio reports ours/theirs as a sub-benchmark, and logs the figures.
func krbRatio(b *testing.B, name string, ours, theirs float64, them, goal string) {
	if ours == 0 || theirs == 0 {
		return
	}
	logged := false
	b.Run(name, func(b *testing.B) {
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(ours/theirs, "ours/theirs")
		if !logged {
			logged = true
			b.Logf("handshakes/s (medians): OpenSSPI %.0f, %s %.0f, ratio %.2f (goal: %s)", ours, them, theirs, ours/theirs, goal)
		}
	})
}

// startGSSProxy starts a gssproxy daemon holding the realm's service
// keytab, alice's client keytab and its own ccache, with one service of
// cred_usage "both" for this euid, and returns the environment of an
// application that goes through it for both sides (MIT's interposer,
// GSS_USE_PROXY=yes) and holds no Kerberos credentials itself.
func startGSSProxy(b *testing.B, r *krbRealm) []string {
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
		"KRB5RCACHEDIR="+filepath.Join(d, "rc-app"), "GSS_USE_PROXY=yes", "GSSPROXY_SOCKET="+sock)
}
