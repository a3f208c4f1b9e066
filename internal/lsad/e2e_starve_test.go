//go:build linux

package lsad_test

// A local user must not be able to starve everyone else: the attacks of
// the issue, each run by children of other uids against a real lsad with
// the distribution's policy (dist/policy.toml), while root (this process)
// measures the latency of `sspi packages` (dial, hello, EnumeratePackages)
// and the test reads lsad's resident memory (/proc/PID/status VmRSS).
// Each attack is scaled to finish in seconds under -race, with low limits
// in lsad.toml ("Tight") and with the defaults ("Defaults").

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// Environment of an attacker child.
const (
	attackMode  = "LSAD_E2E_ATTACK"   // conns, frames or pipeline
	attackCount = "LSAD_E2E_ATTACK_N" // connections
	attackReqs  = "LSAD_E2E_ATTACK_R" // pipelined requests per connection
	attackSize  = "LSAD_E2E_ATTACK_B" // bytes per pipelined message
	// attackBound bounds each phase of an attack (the attacker gives up
	// waiting for lsad then, and reports what it got).
	attackBound = 10 * time.Second
	// attackWriteBound bounds how long an attacker pushes bytes lsad does
	// not take.
	attackWriteBound = 2 * time.Second
)

// rssBound is what lsad's resident memory may grow by while an attacker
// of one uid holds budget bytes: the budget three times over (the garbage
// collector lets the heap reach twice what is live, and a frame being
// decoded exists twice for a moment) and 16 MiB for connections and
// goroutines; five times that under the race detector, whose shadow
// memory grows with the heap and with every goroutine.
func rssBound(budget int64) int64 {
	b := 3*budget + 16<<20
	if raceEnabled {
		b *= 5
	}
	return b
}

// mib formats bytes.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// vmRSS is a process's resident memory, from /proc/PID/status.
func vmRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// attacker is a child process of another uid attacking lsad.
type attacker struct {
	uid   int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	exit  chan error
}

// startAttack runs an attacker as uid.
func startAttack(t *testing.T, d *daemon, uid int, mode string, env ...string) *attacker {
	t.Helper()
	cmd := exec.Command(publicExe(t))
	cmd.Env = childEnv("attack", append([]string{probeSock + "=" + d.sock, attackMode + "=" + mode}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attacker{uid: uid, cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), exit: make(chan error, 1)}
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-a.exit:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-a.exit
		}
	})
	go func() {
		// The output is read by expect; wait only reaps the process.
		a.exit <- cmd.Wait()
	}()
	return a
}

// expect reads the attacker's next report "WORD k=v ..." and returns its
// values.
func (a *attacker) expect(t *testing.T, word string) map[string]int64 {
	t.Helper()
	for a.out.Scan() {
		f := strings.Fields(a.out.Text())
		if len(f) == 0 || f[0] != word {
			t.Logf("attacker uid %d: %s", a.uid, a.out.Text())
			continue
		}
		m := map[string]int64{}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			m[k], _ = strconv.ParseInt(v, 10, 64)
		}
		return m
	}
	t.Fatalf("attacker uid %d ended without %q: %v", a.uid, word, a.out.Err())
	return nil
}

// tell sends the attacker a command.
func (a *attacker) tell(t *testing.T, cmd string) {
	if _, err := fmt.Fprintln(a.stdin, cmd); err != nil {
		t.Fatalf("attacker uid %d: %v", a.uid, err)
	}
}

// victim is root running `sspi packages` over and over (a new connection,
// hello, EnumeratePackages, close) while an attack runs, recording each
// latency and lsad's resident memory after each call.
type victim struct {
	d      *daemon
	mu     sync.Mutex
	lat    []time.Duration
	maxRSS int64
	err    error
	stop   chan int // the number of calls still to make
	done   chan struct{}
}

func startVictim(t *testing.T, d *daemon) *victim {
	v := &victim{d: d, stop: make(chan int, 1), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		left := -1
		for left != 0 {
			select {
			case left = <-v.stop:
			default:
			}
			if left > 0 {
				left--
			}
			start := time.Now()
			err := v.call()
			el := time.Since(start)
			rss := vmRSS(t, d.pid())
			v.mu.Lock()
			v.lat = append(v.lat, el)
			v.maxRSS = max(v.maxRSS, rss)
			v.mu.Unlock()
			if err != nil {
				v.err = fmt.Errorf("call %d (after %v): %w", len(v.lat), el, err)
				return
			}
		}
	}()
	return v
}

// call is one `sspi packages`, bounded generously.
func (v *victim) call() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := lsarpc.Dial(ctx, v.d.sock)
	if err != nil {
		return err
	}
	defer c.Close()
	ps, err := c.EnumeratePackages(ctx)
	if err == nil && len(ps) == 0 {
		err = errors.New("no packages")
	}
	return err
}

// finish makes n more calls and returns the victim's p99 latency and the
// largest RSS it saw.
func (v *victim) finish(t *testing.T, n int) (p99, worst time.Duration, rss int64) {
	t.Helper()
	v.stop <- n
	<-v.done
	if v.err != nil {
		t.Fatalf("root's `sspi packages` failed during the attack: %v", v.err)
	}
	lat := slices.Clone(v.lat)
	slices.Sort(lat)
	return lat[len(lat)*99/100], lat[len(lat)-1], v.maxRSS
}

// starveDaemon starts lsad with the distribution's policy, an open-file
// limit of nofile (0: unchanged) and the given [limits].
func starveDaemon(t *testing.T, name string, nofile int, limits string) *daemon {
	t.Helper()
	needRoot(t)
	pol, err := os.ReadFile(filepath.Join("..", "..", "dist", "policy.toml"))
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, name, daemonOpts{packages: []string{"NTLM"}, policy: string(pol), level: "info", limits: limits, nofile: nofile})
	d.addUser(t, "alice", alicePassword)
	return d
}

// TestE2EStarveConnections: uids 65531-65534 each open 60 idle
// connections (after hello) to an lsad whose open-file limit is 200.
// Before the limits, lsad ran out of descriptors and root's `sspi
// packages` hung; now each uid gets at most its share, the others are
// refused at once with SEC_E_INSUFFICIENT_MEMORY, and root connects from
// the reserve.
func TestE2EStarveConnections(t *testing.T) {
	const nofile, uids, per = 200, 4, 60
	for _, tc := range []struct {
		name           string
		limits         string
		perUID, others int // the caps lsad should apply
	}{
		{"Tight", "max_connections_per_uid = 40\nreserved_connections = 16", 40, nofile - 64 - 16},
		{"Defaults", "", lsarpc.DefaultMaxConnsPerUID, nofile - 64 - lsarpc.DefaultReservedConns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := starveDaemon(t, "starve-conns", nofile, tc.limits)
			base := vmRSS(t, d.pid())
			v := startVictim(t, d)
			var as []*attacker
			for i := range uids {
				as = append(as, startAttack(t, d, nobody-i, "conns", attackCount+"="+strconv.Itoa(per)))
			}
			var accepted, refused int64
			for _, a := range as {
				m := a.expect(t, "ready")
				if m["hung"] > 0 || m["accepted"] > int64(tc.perUID) {
					t.Errorf("uid %d: %d connections accepted, %d refused, %d left hanging (lsad answered nothing): want at most %d accepted and none hanging",
						a.uid, m["accepted"], m["refused"], m["hung"], tc.perUID)
				}
				accepted += m["accepted"]
				refused += m["refused"]
			}
			rss := vmRSS(t, d.pid())
			p99, worst, vrss := v.finish(t, 50)
			t.Logf("%d uids × %d connections: %d accepted, %d refused; root's `sspi packages`: p99 %v, worst %v over %d calls; lsad RSS %s before, %s during",
				uids, per, accepted, refused, p99, worst, len(v.lat), mib(base), mib(max(rss, vrss)))
			if accepted > int64(tc.others) || refused < uids*per-int64(tc.others) {
				t.Errorf("others hold %d connections, %d refused: want at most %d held", accepted, refused, tc.others)
			}
			if grow := max(rss, vrss) - base; grow > 64<<20 {
				t.Errorf("lsad grew by %s during the attack, want at most 64 MiB", mib(grow))
			}
		})
	}
}

// TestE2EStarveFrames: uid 65534 opens connections that each declare a
// 1 MiB frame and send all of it but the last byte. Before the limits
// lsad held a 1 MiB buffer for each (2,000 connections pinned 2.13 GB);
// now a frame's length is reserved in the uid's byte budget before its
// body is read, buffers grow only as bytes arrive, and a frame that does
// not arrive within frame_timeout ends its connection.
func TestE2EStarveFrames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits string
		conns  int
		budget int64
		wait   bool // wait for frame_timeout to drop every connection
	}{
		{"Tight", "max_buffered_bytes_per_uid = 4194304\nframe_timeout = \"1s\"", 100, 4 << 20, true},
		{"Defaults", "", lsarpc.DefaultMaxConnsPerUID, lsarpc.DefaultMaxBytesPerUID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := starveDaemon(t, "starve-frames", 0, tc.limits)
			base := vmRSS(t, d.pid())
			v := startVictim(t, d)
			a := startAttack(t, d, nobody, "frames", attackCount+"="+strconv.Itoa(tc.conns))
			m := a.expect(t, "ready")
			rss := vmRSS(t, d.pid())
			p99, worst, vrss := v.finish(t, 50)
			grow := max(rss, vrss) - base
			t.Logf("%d connections × 1 MiB frames: lsad took %s of the %s sent at it (%d connections dropped meanwhile); root's `sspi packages`: p99 %v, worst %v over %d calls; lsad RSS %s before, grew by %s",
				tc.conns, mib(m["taken"]), mib(int64(tc.conns)<<20), m["dropped"], p99, worst, len(v.lat), mib(base), mib(grow))
			bound := rssBound(tc.budget)
			if grow > bound {
				t.Errorf("lsad grew by %s during the attack, want at most %s", mib(grow), mib(bound))
			}
			if tc.wait {
				a.tell(t, "closes")
				c := a.expect(t, "closed")
				if c["open"] > 0 {
					t.Errorf("%d connections with an unfinished frame still open after frame_timeout", c["open"])
				}
			}
		})
	}
}

// TestE2EStarvePipeline: uid 65534 establishes an NTLM context kept in
// lsad on each of its connections (the server side in its own process),
// then pipelines 600 KiB MakeSignature requests, whose replies are as
// large, and never reads a reply. Before the limits 64 calls of each
// connection held their requests and replies (4 connections pinned
// 164 MB); now the uid's budget bounds requests being served and replies
// unsent together, and lsad stops reading the uid's connections while it
// is spent.
func TestE2EStarvePipeline(t *testing.T) {
	const size = 600 << 10
	for _, tc := range []struct {
		name   string
		limits string
		conns  int
		reqs   int
		budget int64
	}{
		{"Tight", "max_buffered_bytes_per_uid = 4194304", 4, 80, 4 << 20},
		{"Defaults", "", 4, 80, lsarpc.DefaultMaxBytesPerUID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := starveDaemon(t, "starve-pipeline", 0, tc.limits)
			base := vmRSS(t, d.pid())
			v := startVictim(t, d)
			a := startAttack(t, d, nobody, "pipeline", attackCount+"="+strconv.Itoa(tc.conns), attackReqs+"="+strconv.Itoa(tc.reqs), attackSize+"="+strconv.Itoa(size))
			m := a.expect(t, "ready")
			rss := vmRSS(t, d.pid())
			p99, worst, vrss := v.finish(t, 50)
			grow := max(rss, vrss) - base
			t.Logf("%d connections pipelining %d × %d KiB, replies unread: %d requests (%s) written; root's `sspi packages`: p99 %v, worst %v over %d calls; lsad RSS %s before, grew by %s",
				tc.conns, tc.reqs, size>>10, m["requests"], mib(m["sent"]), p99, worst, len(v.lat), mib(base), mib(grow))
			bound := rssBound(tc.budget)
			if grow > bound {
				t.Errorf("lsad grew by %s during the attack, want at most %s", mib(grow), mib(bound))
			}
		})
	}
}

// ---- The attacker (a child of another uid) ----

// runAttack is the attacker child: it attacks, prints "ready" with what it
// achieved, then obeys stdin ("closes": wait for lsad to close every
// connection; end of input: exit).
func runAttack() int {
	sock := os.Getenv(probeSock)
	n, _ := strconv.Atoi(os.Getenv(attackCount))
	var conns []net.Conn
	var report string
	var err error
	switch os.Getenv(attackMode) {
	case "conns":
		conns, report = attackConns(sock, n)
	case "frames":
		conns, report = attackFrames(sock, n)
	case "pipeline":
		r, _ := strconv.Atoi(os.Getenv(attackReqs))
		b, _ := strconv.Atoi(os.Getenv(attackSize))
		conns, report, err = attackPipeline(sock, n, r, b)
	default:
		err = errors.New("unknown attack")
	}
	if err != nil {
		fmt.Println("attack:", err)
		return 2
	}
	fmt.Println("ready " + report)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "closes" {
			fmt.Printf("closed open=%d\n", awaitClosed(conns))
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// rawHelloFrame is a hello of the current version.
func rawHelloFrame() []byte { return rawHello(lsarpc.Version) }

// dialHello connects and says hello; it returns the first reply's error
// status (0 for a welcome).
func dialHello(sock string) (net.Conn, uint32, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, 0, err
	}
	c.SetDeadline(time.Now().Add(attackBound))
	// A refused connection gets its answer before the hello, and may be
	// closed before the hello is written: read the answer regardless.
	_, werr := c.Write(rawHelloFrame())
	var r struct {
		Err *struct {
			Status uint32 `cbor:"status"`
		} `cbor:"err"`
	}
	b, err := readRawFrame(c)
	if err == nil {
		err = cbor.Unmarshal(b, &r)
	}
	if err != nil {
		c.Close()
		if werr != nil {
			err = werr
		}
		return nil, 0, err
	}
	c.SetDeadline(time.Time{})
	if r.Err != nil {
		c.Close()
		return nil, r.Err.Status, nil
	}
	return c, 0, nil
}

func readRawFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

// attackConns opens n connections at once and keeps those lsad accepts.
func attackConns(sock string, n int) ([]net.Conn, string) {
	var mu sync.Mutex
	var conns []net.Conn
	var refused, hung, failed int
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, status, err := dialHello(sock)
			mu.Lock()
			defer mu.Unlock()
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				hung++
			case err != nil:
				failed++
			case status == uint32(secpkg.StatusInsufficientMemory):
				refused++
			case status != 0:
				failed++
			default:
				conns = append(conns, c)
			}
		})
	}
	wg.Wait()
	return conns, fmt.Sprintf("accepted=%d refused=%d hung=%d failed=%d", len(conns), refused, hung, failed)
}

// attackFrames opens n connections that each declare a 1 MiB frame and
// send all but its last byte.
func attackFrames(sock string, n int) ([]net.Conn, string) {
	var mu sync.Mutex
	var conns []net.Conn
	var taken, dropped int64
	var wg sync.WaitGroup
	frame := append(header(lsarpc.MaxFrame), make([]byte, lsarpc.MaxFrame-1)...)
	for range n {
		wg.Go(func() {
			c, status, err := dialHello(sock)
			if err != nil || status != 0 {
				return
			}
			// The header first: a connection counts once its frame has
			// begun.
			c.SetWriteDeadline(time.Now().Add(attackWriteBound))
			if _, err := c.Write(frame[:4]); err != nil {
				c.Close()
				return
			}
			w, err := c.Write(frame[4:])
			var ne net.Error
			mu.Lock()
			defer mu.Unlock()
			// What the kernel took beyond its socket buffer, lsad read.
			taken += int64(max(w-256<<10, 0))
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				dropped++
			}
			conns = append(conns, c)
		})
	}
	wg.Wait()
	return conns, fmt.Sprintf("taken=%d dropped=%d", taken, dropped)
}

// awaitClosed waits (within attackBound) until lsad has closed each
// connection, and returns how many it left open.
func awaitClosed(conns []net.Conn) int {
	open := 0
	deadline := time.Now().Add(attackBound)
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			open++
		}
	}
	return open
}

// attackPipeline opens n connections, establishes on each an NTLM client
// context kept in lsad (the acceptor is an engine in this process), and
// pipelines r MakeSignature requests of size bytes on each without
// reading a reply.
func attackPipeline(sock string, n, r, size int) ([]net.Conn, string, error) {
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		return nil, "", err
	}
	e, err := engine.New(&engine.Config{Packages: []string{"NTLM"}, Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain, DNSMachineName: "server.example.com", DNSDomainName: "example.com"}})
	if err != nil {
		return nil, "", err
	}
	if err := e.SetPassword(ctx, domain, "alice", []byte(alicePassword)); err != nil {
		return nil, "", err
	}
	var conns []net.Conn
	var ctxs []map[string]any
	for range n {
		c, status, err := dialHello(sock)
		if err != nil || status != 0 {
			return nil, "", fmt.Errorf("connect: %v %#x", err, status)
		}
		h, err := rawEstablish(ctx, c, e)
		if err != nil {
			return nil, "", err
		}
		conns = append(conns, c)
		ctxs = append(ctxs, h)
	}
	data := bytes.Repeat([]byte{0x42}, size)
	var mu sync.Mutex
	var sent, reqs int64
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			c.SetWriteDeadline(time.Now().Add(attackWriteBound))
			for j := range r {
				f := rawFrame(map[string]any{"id": 1000 + j, "op": "ProtectMessage", "body": map[string]any{
					"context": ctxs[i], "op": 1, "seq": j,
					"buffers": []map[string]any{{"type": 1, "data": data}, {"type": 2, "data": make([]byte, 16)}}}})
				w, err := c.Write(f)
				mu.Lock()
				sent += int64(w)
				if err == nil {
					reqs++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return conns, fmt.Sprintf("requests=%d sent=%d", reqs, sent), nil
}

// rawEstablish runs an NTLM handshake with lsad as the initiator (context
// kept in lsad: can_map false) and e as the acceptor, on a raw
// connection, and returns lsad's context handle.
func rawEstablish(ctx context.Context, c net.Conn, e *engine.Engine) (map[string]any, error) {
	id := 0
	call := func(op string, body map[string]any, out any) error {
		id++
		if _, err := c.Write(rawFrame(map[string]any{"id": id, "op": op, "body": body})); err != nil {
			return err
		}
		b, err := readRawFrame(c)
		if err != nil {
			return err
		}
		var r struct {
			Err  map[string]any  `cbor:"err"`
			Body cbor.RawMessage `cbor:"body"`
		}
		if err := cbor.Unmarshal(b, &r); err != nil {
			return err
		}
		if r.Err != nil {
			return fmt.Errorf("%s: %v", op, r.Err)
		}
		return cbor.Unmarshal(r.Body, out)
	}
	type handle struct {
		Epoch uint64 `cbor:"epoch"`
		ID    uint64 `cbor:"id"`
	}
	var cred struct {
		Handle handle `cbor:"handle"`
	}
	if err := call("AcquireCredentials", map[string]any{"package": "NTLM", "use": 2,
		"identity": map[string]any{"user": "alice", "domain": domain, "password": []byte(alicePassword)}}, &cred); err != nil {
		return nil, err
	}
	var leg struct {
		Context handle `cbor:"context"`
		Token   []byte `cbor:"token"`
		Status  uint32 `cbor:"status"`
	}
	flags := uint64(e2eFlags)
	if err := call("InitializeContext", map[string]any{"credential": cred.Handle, "target": target, "flags": flags}, &leg); err != nil {
		return nil, err
	}
	srv := e.Connect(secpkg.CallInfo{UID: uint32(os.Getuid()), PID: int32(os.Getpid()), InProcess: true})
	sc, err := srv.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialInbound, Principal: target})
	if err != nil {
		return nil, err
	}
	chal, err := srv.AcceptContext(ctx, &lsa.AcceptContextRequest{Credential: sc.Handle, Token: leg.Token})
	if err != nil {
		return nil, err
	}
	ctxH := leg.Context
	if err := call("InitializeContext", map[string]any{"context": ctxH, "target": target, "flags": flags, "token": chal.Token}, &leg); err != nil {
		return nil, err
	}
	if _, err := srv.AcceptContext(ctx, &lsa.AcceptContextRequest{Context: chal.Context, Token: leg.Token}); err != nil {
		return nil, err
	}
	return map[string]any{"epoch": ctxH.Epoch, "id": ctxH.ID}, nil
}
