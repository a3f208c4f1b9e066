//go:build linux

package lsad_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// Environment of the flood child.
const (
	floodSock  = "LSAD_E2E_FLOOD_SOCK"
	floodCount = "LSAD_E2E_FLOOD_COUNT"
)

// TestE2ELogonFlood reproduces the logon-session flood of one local user
// against lsad run with dist/policy.toml: a process as uid 65534 (nobody,
// governed by the policy's [default] rule, which lets it present a
// password) logs on thousands of times while this process, another uid,
// keeps calling. lsad keeps at most MaxLogonSessionsPerCaller sessions for
// nobody, its heap stays within a bound, and this process's calls keep
// their latency (the figures are logged; only a generous bound is
// checked).
func TestE2ELogonFlood(t *testing.T) {
	needRoot(t)
	const (
		n           = 3000 // within the default password-check burst (4000)
		maxSessions = 64   // engine.DefaultMaxLogonSessionsPerCaller
	)
	pol, err := os.ReadFile("../../dist/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "flood", daemonOpts{policy: string(pol), level: "info"})
	d.addUser(t, "alice", alicePassword)
	base := d.stats(t)
	v := d.client(t)

	cmd := exec.Command(publicExe(t))
	cmd.Env = childEnv("flood", floodSock+"="+d.sock, floodCount+"="+strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	expect := func(prefix string) string {
		t.Helper()
		for l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
			t.Logf("flood: %s", l)
		}
		cmd.Wait()
		t.Fatalf("flood child ended without %q: %v", prefix, cmd.ProcessState)
		return ""
	}
	expect("flood start")
	stop := make(chan struct{})
	done := make(chan []time.Duration)
	go func() { done <- victimCalls(t, v, stop, 50) }()
	result := expect("flood done")
	close(stop)
	during := <-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("flood child: %v (%s)", err, result)
	}
	after := victimCalls(t, v, nil, 500)
	st := d.stats(t)

	d50, d99 := lsadPercentiles(during)
	a50, a99 := lsadPercentiles(after)
	grown := int64(st.HeapAlloc) - int64(base.HeapAlloc)
	t.Logf("%s; lsad holds %d logon sessions, heap %d -> %d bytes (%+d)", result, st.Engine.LogonSessions, base.HeapAlloc, st.HeapAlloc, grown)
	t.Logf("other uid's call latency during the flood: p50 %v p99 %v (%d calls); after it: p50 %v p99 %v (%d calls)", d50, d99, len(during), a50, a99, len(after))
	if st.Engine.LogonSessions > maxSessions {
		t.Errorf("%d logons as nobody left %d logon sessions in lsad; want at most %d", n, st.Engine.LogonSessions, maxSessions)
	}
	// 64 sessions of under a kilobyte; 3000 would be megabytes.
	if grown > 1<<20 {
		t.Errorf("lsad's heap grew by %d bytes; want under 1 MiB", grown)
	}
	if d99 > time.Second || a99 > time.Second {
		t.Errorf("other uid's p99 latency %v during, %v after the flood; want under a second", d99, a99)
	}
}

// victimCalls makes an ordinary client's calls on c (acquire, first leg,
// delete, free) and records each call's latency: at least min rounds,
// and until stop is closed if it is not nil.
func victimCalls(t *testing.T, c lsa.Conn, stop <-chan struct{}, min int) []time.Duration {
	ctx := context.Background()
	var lat []time.Duration
	id := &secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}
	for i := 0; ; i++ {
		if i >= min {
			if stop == nil {
				return lat
			}
			select {
			case <-stop:
				return lat
			default:
			}
		}
		t0 := time.Now()
		cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound, Identity: id})
		lat = append(lat, time.Since(t0))
		if err != nil {
			t.Errorf("victim: %v", err)
			return lat
		}
		t0 = time.Now()
		r, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Flags: e2eFlags})
		lat = append(lat, time.Since(t0))
		if err != nil {
			t.Errorf("victim: %v", err)
			return lat
		}
		t0 = time.Now()
		c.DeleteContext(ctx, r.Context)
		c.FreeCredentials(ctx, cred.Handle)
		lat = append(lat, time.Since(t0))
	}
}

func lsadPercentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

// runFlood is the child of TestE2ELogonFlood: it logs on as alice again
// and again, and prints "flood start" when connected and "flood done" at
// the end.
func runFlood() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := lsarpc.Dial(ctx, os.Getenv(floodSock))
	if err != nil {
		fmt.Printf("flood: dial: %v\n", err)
		return 2
	}
	defer c.Close()
	n, _ := strconv.Atoi(os.Getenv(floodCount))
	fmt.Printf("flood start uid=%d\n", os.Getuid())
	id := secpkg.AuthIdentity{User: "alice", Domain: domain, Password: []byte(alicePassword)}
	ok := 0
	for i := range n {
		if _, err := c.LogonUser(ctx, &lsa.LogonUserRequest{Package: "NTLM", Identity: id}); err != nil {
			fmt.Printf("flood: logon %d: %v\n", i, err)
			return 2
		}
		ok++
	}
	list, err := c.LogonSessions(ctx)
	if err != nil {
		fmt.Printf("flood: %v\n", err)
		return 2
	}
	fmt.Printf("flood done uid=%d logons=%d sessions=%d\n", os.Getuid(), ok, len(list))
	return 0
}
