//go:build linux

package lsad_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// benchLSA is an LSA to benchmark: how applications reach it, and the
// protocol's call counter where there is one.
type benchLSA struct {
	connect func(b *testing.B) lsa.Conn
	calls   func(b *testing.B) uint64 // nil in embedded mode
	cpu     func() time.Duration      // the lsad process's CPU time; nil unless separate
	// clientConnect, if set, is where clients acquire their credentials
	// (connect then serves the servers only).
	clientConnect func(b *testing.B) lsa.Conn
}

// clientConn is the connection the client side of a handshake uses.
func (l benchLSA) clientConn(b *testing.B) lsa.Conn {
	if l.clientConnect != nil {
		return l.clientConnect(b)
	}
	return l.connect(b)
}

// benchModes are the three ways to reach the same LSA configuration
// (NTLM, a SQLite store holding alice): in the process, over the
// protocol served in the process, and through a real lsad process.
var benchModes = []struct {
	name  string
	setup func(b *testing.B) benchLSA
}{
	{"Embedded", func(b *testing.B) benchLSA {
		e := engineWithAlice(b)
		return benchLSA{connect: func(*testing.B) lsa.Conn { return e.Connect(engine.CurrentProcess()) }}
	}},
	{"DaemonInProcess", func(b *testing.B) benchLSA {
		e := engineWithAlice(b)
		dir, err := os.MkdirTemp("", "lsad")
		if err != nil {
			b.Fatal(err)
		}
		sock := filepath.Join(dir, "lsad.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		srv := &lsarpc.Server{Authority: e}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
		dial := func(b *testing.B) *lsarpc.Client {
			c, err := lsarpc.Dial(context.Background(), sock)
			if err != nil {
				b.Fatal(err)
			}
			return c
		}
		admin := dial(b)
		b.Cleanup(func() { admin.Close() })
		return benchLSA{
			connect: func(b *testing.B) lsa.Conn { return dial(b) },
			calls: func(b *testing.B) uint64 {
				st, err := admin.Stats(context.Background(), nil)
				if err != nil {
					b.Fatal(err)
				}
				return st.Calls
			},
		}
	}},
	{"Process", benchProcess},
	// The acceptor through lsad, the initiator in the application's own
	// LSA engine, as on a server host whose clients are elsewhere (the
	// configuration of gssproxy's b1 row in the anchor).
	{"ProcessAcceptor", func(b *testing.B) benchLSA {
		l := benchProcess(b)
		e, err := engine.New(&engine.Config{Packages: []string{"NTLM"}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		l.clientConnect = func(*testing.B) lsa.Conn { return e.Connect(engine.CurrentProcess()) }
		return l
	}},
}

// benchProcess is a real lsad for the benchmarks: info-level logs (the
// audit events), no lockout and no rate limit on password checks (one uid
// makes every handshake; the default allows it 2,000 a second).
//
// LSAD_E2E_BENCH_SOCKET=PATH (and LSAD_E2E_BENCH_PID=PID) benchmarks an
// lsad started by hand instead, with alice's account added if it has
// none: for running the applications under a tool that cannot follow a
// child process (valgrind --tool=callgrind counts instructions).
func benchProcess(b *testing.B) benchLSA {
	if sock := os.Getenv("LSAD_E2E_BENCH_SOCKET"); sock != "" {
		return externalProcess(b, sock)
	}
	d := startDaemon(b, "bench", daemonOpts{packages: []string{"NTLM"}, level: "info", lockout: "threshold = -1",
		limits: "password_checks_per_second = -1"})
	d.addUser(b, "alice", alicePassword)
	return benchLSA{
		connect: func(b *testing.B) lsa.Conn {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := lsarpc.Dial(ctx, d.sock)
			if err != nil {
				b.Fatal(err)
			}
			return c
		},
		calls: func(b *testing.B) uint64 {
			st, err := d.adminConn(b).Stats(context.Background(), nil)
			if err != nil {
				b.Fatal(err)
			}
			return st.Calls
		},
		cpu: func() time.Duration { return processCPU(d.pid()) },
	}
}

// externalProcess is benchProcess for an lsad started by hand.
func externalProcess(b *testing.B, sock string) benchLSA {
	dial := func(b *testing.B) *lsarpc.Client {
		c, err := lsarpc.Dial(context.Background(), sock)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	admin := dial(b)
	b.Cleanup(func() { admin.Close() })
	err := admin.AddAccount(context.Background(), &lsa.AccountRequest{Domain: domain, User: "alice", Password: []byte(alicePassword)})
	if err != nil && !strings.Contains(err.Error(), "exists") {
		b.Fatal(err)
	}
	l := benchLSA{
		connect: func(b *testing.B) lsa.Conn { return dial(b) },
		calls: func(b *testing.B) uint64 {
			st, err := admin.Stats(context.Background(), nil)
			if err != nil {
				b.Fatal(err)
			}
			return st.Calls
		},
	}
	if pid, err := strconv.Atoi(os.Getenv("LSAD_E2E_BENCH_PID")); err == nil {
		l.cpu = func() time.Duration { return processCPU(pid) }
	}
	return l
}

// processCPU is a process's user and system CPU time from
// /proc/PID/stat, or 0 where that cannot be read.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 (utime, stime) in clock ticks, 100 a second on
	// Linux.
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHandshake is a whole NTLM handshake (NEGOTIATE, CHALLENGE,
// AUTHENTICATE; both sides through the provider and the LSA, alice looked
// up in SQLite, both contexts mapped, then deleted) in each mode, from
// one goroutine (Sequential) and from eight, each an application with its
// own connection (Parallel). It reports handshakes per second and, through
// a daemon, the protocol calls each handshake made: four legs of one
// round trip each, and two DeleteContext calls sent without waiting.
//
// Each run gets an LSA of its own: an acceptor uid may hold 65,536 NTLM
// challenges in the replay cache at once, each for the challenge lifetime
// (5 minutes), so that one LSA serves at most that many handshakes of the
// benchmark's uid in a row.
//
// Process-vs-Embedded is the goal in one figure: 8 applications
// through lsad against 8 on the embedded engine, alternating in blocks,
// the ratio of their rates (at least 0.5).
//
// Floor is the same 8 goroutines making a handshake's four round trips as
// bare frames to an echo server in another process: what the socket and
// the runtime cost two Go processes, whatever the protocol.
//
//	go test -run '^$' -bench Handshake -benchtime 3s ./internal/lsad
func BenchmarkHandshake(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			b.Run("Sequential", func(b *testing.B) {
				l := m.setup(b)
				cc, sc := benchCredentials(b, l)
				ctx := context.Background()
				runHandshakes(b, l, func() {
					for b.Loop() {
						pr, err := handshake(ctx, cc, sc)
						if err != nil {
							b.Fatal(err)
						}
						pr.delete()
					}
				})
			})
			b.Run("Parallel", func(b *testing.B) {
				l := m.setup(b)
				b.SetParallelism(4)
				runHandshakes(b, l, func() {
					b.RunParallel(func(pb *testing.PB) {
						ctx := context.Background()
						cc, sc := benchCredentials(b, l)
						for pb.Next() {
							pr, err := handshake(ctx, cc, sc)
							if err != nil {
								b.Error(err)
								return
							}
							pr.delete()
						}
					})
				})
			})
		})
	}
	// The goal's ratio, robust to the machine's drift: 8 applications
	// through lsad against 8 on the embedded engine, alternating in
	// blocks of 512 handshakes (64 per application: the wait for the last
	// application of a block weighs little), ours = lsad, theirs =
	// embedded.
	b.Run("Process-vs-Embedded", func(b *testing.B) {
		apps := func(l benchLSA) side {
			sides := make([]side, 8)
			for i := range sides {
				cc, sc := benchCredentials(b, l)
				sides[i] = func(n int) time.Duration {
					ctx := context.Background()
					start := time.Now()
					for range n {
						pr, err := handshake(ctx, cc, sc)
						if err != nil {
							b.Error(err)
							break
						}
						pr.delete()
					}
					return time.Since(start)
				}
			}
			return parallel(sides)
		}
		interleaveBlocks(b, 512, apps(benchProcess(b)), apps(benchModes[0].setup(b))) // goal: ratio at least 0.5
	})
	// The floor in the same run: a handshake's four round trips as bare
	// 200-byte frames to an echo server in another process (what
	// BenchmarkRoundTrip's Socket measures one at a time).
	b.Run("Floor", func(b *testing.B) {
		sock, pid := startEcho(b)
		b.Run("Parallel", func(b *testing.B) {
			b.SetParallelism(4)
			server0 := processCPU(pid)
			b.ReportAllocs()
			self0, start := selfCPU(), time.Now()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("unix", sock)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				msg := binary.BigEndian.AppendUint32(nil, 200)
				msg = append(msg, bytes.Repeat([]byte{0xa5}, 200)...)
				buf := make([]byte, len(msg))
				for pb.Next() {
					for range 4 {
						if _, err := c.Write(msg); err != nil {
							b.Error(err)
							return
						}
						if _, err := io.ReadFull(c, buf); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			elapsed, self := time.Since(start), selfCPU()-self0
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
			b.ReportMetric(float64(self.Nanoseconds())/1e3/float64(b.N), "app-cpu-µs/handshake")
			b.ReportMetric(float64((processCPU(pid)-server0).Nanoseconds())/1e3/float64(b.N), "server-cpu-µs/handshake")
		})
	})
}

// benchCredentials acquires alice's outbound and the service's inbound
// credentials, each through a provider (an application) of its own.
func benchCredentials(b *testing.B, l benchLSA) (client, server *sspi.Credentials) {
	ctx := context.Background()
	cp, sp := sspi.NewProvider(l.clientConn(b), nil), sspi.NewProvider(l.connect(b), nil)
	b.Cleanup(func() { cp.Close(); sp.Close() })
	cc, err := cp.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{
		Identity: &sspi.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := sp.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	if err != nil {
		b.Fatal(err)
	}
	return cc, sc
}

// runHandshakes times loop and reports its rate and protocol calls.
func runHandshakes(b *testing.B, l benchLSA, loop func()) {
	var calls0 uint64
	if l.calls != nil {
		calls0 = l.calls(b)
	}
	var lsadCPU0 time.Duration
	if l.cpu != nil {
		lsadCPU0 = l.cpu()
	}
	b.ReportAllocs()
	appCPU0, start := selfCPU(), time.Now()
	loop()
	elapsed, appCPU := time.Since(start), selfCPU()-appCPU0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
	if l.calls != nil {
		// Less the Stats call itself.
		b.ReportMetric(float64(l.calls(b)-calls0-1)/float64(b.N), "calls/handshake")
		calls0++
	}
	// CPU per handshake in the applications (this process: both the
	// client's and the server's provider, and in embedded mode the LSA)
	// and in lsad, and per protocol call in lsad.
	b.ReportMetric(float64(appCPU.Microseconds())/float64(b.N), "app-cpu-µs/handshake")
	if l.cpu != nil {
		lsad := float64((l.cpu() - lsadCPU0).Microseconds())
		b.ReportMetric(lsad/float64(b.N), "lsad-cpu-µs/handshake")
		if l.calls != nil {
			b.ReportMetric(lsad/float64(l.calls(b)-calls0-1), "lsad-cpu-µs/call")
		}
	}
}

// lsaCredentials acquires alice's outbound and the service's inbound NTLM
// credentials on c, with the protocol's calls themselves.
func lsaCredentials(t testing.TB, c *lsarpc.Client) (cred, srv *lsa.CredentialsReply) {
	t.Helper()
	ctx := context.Background()
	cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound,
		Identity: &secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialInbound, Principal: target})
	if err != nil {
		t.Fatal(err)
	}
	return cred, srv
}

// contextMemory establishes n NTLM context pairs through lsad on one
// connection and returns the growth of lsad's live heap per context (two
// per pair). With canMap the contexts are mapped into the caller, as the
// provider does whenever it holds the package's user-mode half; without,
// they stay whole in lsad (their keys and cipher states too).
func contextMemory(t testing.TB, d *daemon, n int, canMap bool) float64 {
	ctx := context.Background()
	c := d.client(t)
	cred, srv := lsaCredentials(t, c)
	before := d.stats(t)
	var hs []lsa.SecHandle
	for range n {
		r1, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Flags: e2eFlags, CanMap: canMap})
		if err != nil {
			t.Fatal(err)
		}
		s1, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: srv.Handle, Token: r1.Token, CanMap: canMap})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Context: r1.Context, Target: target, Flags: e2eFlags, Token: s1.Token, CanMap: canMap})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Context: s1.Context, Token: r2.Token, CanMap: canMap}); err != nil {
			t.Fatal(err)
		}
		if (r2.Packed != nil) != canMap {
			t.Fatalf("context mapped: %v, want %v", r2.Packed != nil, canMap)
		}
		hs = append(hs, r1.Context, s1.Context)
	}
	after := d.stats(t)
	if after.Engine.Contexts-before.Engine.Contexts != 2*n {
		t.Fatalf("lsad holds %d contexts more, want %d", after.Engine.Contexts-before.Engine.Contexts, 2*n)
	}
	for _, h := range hs {
		c.DeleteContext(ctx, h)
	}
	c.FreeCredentials(ctx, cred.Handle)
	c.FreeCredentials(ctx, srv.Handle)
	return (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(2*n)
}

// TestE2EMemoryPerContext holds 1000 established context pairs in lsad
// and checks that a mapped context costs lsad at most 2 KiB (the issue's
// goal; what per-message work needs is in the application).
// BenchmarkContextMemory also measures unmapped contexts, which keep
// their keys in lsad.
func TestE2EMemoryPerContext(t *testing.T) {
	const pairs = 1000
	d := startDaemon(t, "memory", daemonOpts{packages: []string{"NTLM"}, level: "info"})
	d.addUser(t, "alice", alicePassword)
	contextMemory(t, d, 100, true) // warm-up: tables and caches grow once
	mapped := contextMemory(t, d, pairs, true)
	t.Logf("lsad heap per established mapped context: %.0f bytes", mapped)
	if mapped > 2048 {
		t.Errorf("a mapped context costs lsad %.0f bytes, want at most 2048", mapped)
	}
}

// BenchmarkContextMemory reports lsad's heap per established context.
//
//	go test -run '^$' -bench ContextMemory ./internal/lsad
func BenchmarkContextMemory(b *testing.B) {
	d := startDaemon(b, "memory", daemonOpts{packages: []string{"NTLM"}, level: "info"})
	d.addUser(b, "alice", alicePassword)
	contextMemory(b, d, 200, true)
	for _, canMap := range []bool{true, false} {
		name := "Mapped"
		if !canMap {
			name = "Unmapped"
		}
		b.Run(name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = contextMemory(b, d, 2000, canMap)
			}
			b.ReportMetric(per, "B/context")
		})
	}
}

// BenchmarkRoundTrip is one call on an established connection, from one
// goroutine (Sequential) and from eight with a connection each
// (Parallel), with the CPU it costs each process. Socket is the floor: a
// frame of 200 bytes to an echo server in another process (this binary
// again, a goroutine per connection reading a frame and writing it back)
// and back, what a Unix-socket round trip costs two Go processes on this
// machine. DaemonInProcess and Process make a LogonSessions call (no
// work in the LSA) to the protocol served in this process and to lsad.
//
//	go test -run '^$' -bench RoundTrip -benchtime 2s -count 3 ./internal/lsad
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("Socket", func(b *testing.B) {
		sock, pid := startEcho(b)
		dial := func() net.Conn {
			c, err := net.Dial("unix", sock)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			return c
		}
		cpu := func() time.Duration { return processCPU(pid) }
		roundTrips(b, cpu, func() func() {
			c := dial()
			msg := binary.BigEndian.AppendUint32(nil, 200)
			msg = append(msg, bytes.Repeat([]byte{0xa5}, 200)...)
			buf := make([]byte, len(msg))
			return func() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	for _, m := range benchModes[1:3] {
		b.Run(m.name, func(b *testing.B) {
			l := m.setup(b)
			roundTrips(b, l.cpu, func() func() {
				c := l.connect(b)
				b.Cleanup(func() { c.Close() })
				ctx := context.Background()
				return func() {
					if _, err := c.LogonSessions(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// roundTrips runs the round trips newCaller makes, sequentially and in
// parallel, and reports their rate and the CPU each costs the server
// process (cpu; nil when it is this one) and this one.
func roundTrips(b *testing.B, cpu func() time.Duration, newCaller func() func()) {
	measure := func(b *testing.B, loop func()) {
		var server0 time.Duration
		if cpu != nil {
			server0 = cpu()
		}
		b.ReportAllocs()
		self0, start := selfCPU(), time.Now()
		loop()
		elapsed, self := time.Since(start), selfCPU()-self0
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "roundtrips/s")
		if cpu != nil {
			b.ReportMetric(float64((cpu()-server0).Nanoseconds())/1e3/float64(b.N), "server-cpu-µs/call")
		}
		b.ReportMetric(float64(self.Nanoseconds())/1e3/float64(b.N), "app-cpu-µs/call")
	}
	b.Run("Sequential", func(b *testing.B) {
		call := newCaller()
		measure(b, func() {
			for b.Loop() {
				call()
			}
		})
	})
	b.Run("Parallel", func(b *testing.B) {
		b.SetParallelism(4)
		measure(b, func() {
			b.RunParallel(func(pb *testing.PB) {
				call := newCaller()
				for pb.Next() {
					call()
				}
			})
		})
	})
}

// startEcho runs this binary as the echo server of the floor benchmark
// and returns its socket and pid.
func startEcho(b *testing.B) (string, int) {
	dir, err := os.MkdirTemp("", "echo")
	if err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(dir, "echo.sock")
	cmd := exec.Command(exe(b))
	cmd.Env = childEnv("echo", "LSAD_E2E_ECHO="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("echo server: %q, %v", line, err)
	}
	return sock, cmd.Process.Pid
}

// runEcho is the echo server: each connection's frames (a 4-byte length
// and that many bytes) are written back as they come, by the goroutine
// that reads them.
func runEcho() int {
	ln, err := net.Listen("unix", os.Getenv("LSAD_E2E_ECHO"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer c.Close()
			r := bufio.NewReaderSize(c, 8<<10)
			buf := make([]byte, 4, 8<<10)
			for {
				if _, err := io.ReadFull(r, buf[:4]); err != nil {
					return
				}
				n := int(binary.BigEndian.Uint32(buf))
				buf = append(buf[:4], make([]byte, n)...)
				if _, err := io.ReadFull(r, buf[4:]); err != nil {
					return
				}
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
	}
}

// TestE2ERoundTripsPerLeg counts the protocol calls lsad serves for NTLM
// handshakes through the public API: one round trip per leg (the client's
// two and the server's two), plus one DeleteContext per context, which the
// client sends without waiting for an answer. Nothing else: no attribute
// query, no package enumeration.
func TestE2ERoundTripsPerLeg(t *testing.T) {
	const n = 20
	d := startDaemon(t, "calls", daemonOpts{packages: []string{"NTLM"}})
	d.addUser(t, "alice", alicePassword)
	cc, sc := credentials(t, d.provider(t), "alice", alicePassword)
	before := d.stats(t).Calls
	for range n {
		established(t, cc, sc, "alice").delete()
	}
	// The client's NEGOTIATE_MESSAGE is repeatable: the first context
	// asks the LSA for it, and the later ones send it again and hand it
	// to the LSA with their second leg.
	want := uint64(6 + 5*(n-1))
	statsCalls := uint64(0)
	eventually(t, 10*time.Second, func() error {
		statsCalls++
		if got := d.stats(t).Calls - before - statsCalls; got != want {
			return fmt.Errorf("%d handshakes made %d calls, want %d (4 legs and 2 deletes for the first, then 3 legs and 2 deletes)", n, got, want)
		}
		return nil
	})
}

// TestE2ESentToken: a first token the application says it sent is made
// again by the LSA and compared; one that differs is refused with
// SEC_E_INVALID_TOKEN and leaves no context behind, and one given with a
// context's second call is refused as a bad parameter.
func TestE2ESentToken(t *testing.T) {
	d := startDaemon(t, "sent", daemonOpts{packages: []string{"NTLM"}})
	d.addUser(t, "alice", alicePassword)
	c := d.client(t)
	ctx := context.Background()
	cred, srv := lsaCredentials(t, c)
	req := func() *lsa.InitializeContextRequest {
		return &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Flags: secpkg.ISCFlags(e2eFlags), DataRep: secpkg.NativeDataRep}
	}
	first, err := c.InitializeContext(ctx, req())
	if err != nil || !first.Repeatable || first.Status != secpkg.StatusContinueNeeded {
		t.Fatalf("first leg: %+v, %v", first, err)
	}
	challenge, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: srv.Handle, DataRep: secpkg.NativeDataRep, Token: first.Token})
	if err != nil {
		t.Fatal(err)
	}
	contexts := d.stats(t).Engine.Contexts
	// Every byte of the sent token flipped, and the token cut short.
	for i := range first.Token {
		r := req()
		r.SentToken = bytes.Clone(first.Token)
		r.SentToken[i] ^= 0x40
		r.Token = challenge.Token
		if _, err := c.InitializeContext(ctx, r); secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
			t.Fatalf("sent token with byte %d flipped: %v", i, err)
		}
	}
	r := req()
	r.SentToken, r.Token = first.Token[:len(first.Token)-1], challenge.Token
	if _, err := c.InitializeContext(ctx, r); secpkg.StatusOf(err) != secpkg.StatusInvalidToken {
		t.Fatalf("sent token cut short: %v", err)
	}
	if got := d.stats(t).Engine.Contexts; got != contexts {
		t.Fatalf("the refused calls left %d contexts, want %d", got, contexts)
	}
	r = req()
	r.Context, r.SentToken, r.Token = first.Context, first.Token, challenge.Token
	if _, err := c.InitializeContext(ctx, r); secpkg.StatusOf(err) != secpkg.StatusInvalidParameter {
		t.Fatalf("sent token on a second call: %v", err)
	}
	// The honest call: the first leg made again, the second answered.
	r = req()
	r.SentToken, r.Token, r.CanMap = first.Token, challenge.Token, true
	done, err := c.InitializeContext(ctx, r)
	if err != nil || done.Status != secpkg.StatusOK || done.Packed == nil {
		t.Fatalf("sent token: %+v, %v", done, err)
	}
	if _, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: srv.Handle, Context: challenge.Context, DataRep: secpkg.NativeDataRep, Token: done.Token, CanMap: true}); err != nil {
		t.Fatalf("the server refused the AUTHENTICATE_MESSAGE made with the sent token: %v", err)
	}
}
