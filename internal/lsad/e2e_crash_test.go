//go:build linux

package lsad_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// inFlightEnv names a FIFO: lsad's E2EBlock package writes a line to it
// when a leg is inside the package, then holds the leg until its context
// ends, so that a test kills lsad with a leg certainly in flight.
const inFlightEnv = "LSAD_E2E_INFLIGHT"

// e2eBlock is a package whose InitializeSecurityContext never finishes.
type e2eBlock struct{ e2eTest }

func init() { secpkg.Register("E2EBlock", e2eBlockPackage{}) }

type e2eBlockPackage struct{}

func (e2eBlockPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, &e2eBlock{}, nil
}
func (e2eBlockPackage) UserModeInitialize(uint32) (uint32, secpkg.UserPackage, error) {
	return 0, nil, secpkg.StatusUnsupportedFunction
}
func (p *e2eBlock) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: "E2EBlock"} }
func (p *e2eBlock) InitLsaModeContext(ctx context.Context, _ *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	f, err := os.OpenFile(os.Getenv(inFlightEnv), os.O_WRONLY, 0)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "e2eblock: %v", err)
	}
	f.WriteString("in flight\n")
	f.Close()
	<-ctx.Done()
	return nil, secpkg.Errorf(secpkg.StatusInternalError, "e2eblock: %v", ctx.Err())
}

// inFlight makes the FIFO of inFlightEnv for the daemons the test starts
// and returns a channel that receives a value each time a leg is inside
// E2EBlock.
func inFlight(t *testing.T) <-chan struct{} {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inflight")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(inFlightEnv, path)
	// Read and write: opening never blocks, and the FIFO never reports
	// the end while the test holds it.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := make(chan struct{}, 8)
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			c <- struct{}{}
		}
	}()
	return c
}

// result is what one handshake leg returned, and when.
type result struct {
	err     error
	elapsed time.Duration
}

// TestE2EKillMidHandshake SIGKILLs lsad while a handshake leg is inside
// it (inside a package that reports it and holds the leg). The client
// gets SEC_E_INTERNAL_ERROR promptly (no hang), a call into a hung lsad
// ends at its deadline, contexts already mapped into the application keep
// signing and sealing, and once lsad is back, handles of the old instance
// are refused with SEC_E_INVALID_HANDLE while new handshakes work through
// the same provider.
func TestE2EKillMidHandshake(t *testing.T) {
	inside := inFlight(t)
	d := startDaemon(t, "kill", daemonOpts{})
	d.addUser(t, "alice", alicePassword)
	ctx := context.Background()
	app := d.provider(t)
	cc, sc := credentials(t, app, "alice", alicePassword)
	mapped := established(t, cc, sc, "alice")
	exchange(t, mapped, "before the kill")

	// A handshake halfway: NEGOTIATE sent, CHALLENGE received.
	half := &pair{client: sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: e2eFlags}), server: sspi.NewServerContext(sc, nil)}
	neg, _, err := half.client.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	chal, _, err := half.server.Accept(ctx, neg)
	if err != nil {
		t.Fatal(err)
	}

	// lsad hangs (SIGSTOP): a call with a deadline ends at its deadline.
	d.pause(t)
	stuck := sspi.NewServerContext(sc, nil)
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, _, err = stuck.Accept(dctx, neg)
	cancel()
	if !errors.Is(err, sspi.StatusInternalError) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("call into a hung lsad: %v after %v, want SEC_E_INTERNAL_ERROR at the deadline", err, time.Since(start))
	}

	// lsad runs again; a leg goes in, and lsad dies once the package
	// reports the leg inside it.
	d.signal(t, syscall.SIGCONT)
	bc, err := app.AcquireCredentials(ctx, "E2EBlock", sspi.CredentialOutbound, nil)
	if err != nil {
		t.Fatal(err)
	}
	blocked := sspi.NewClientContext(bc, &sspi.ClientConfig{Target: target})
	done := make(chan result, 1)
	go func() {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := blocked.Initialize(lctx, nil)
		done <- result{err, time.Since(start)}
	}()
	select {
	case <-inside:
	case r := <-done:
		t.Fatalf("the leg ended before it was inside lsad: %v", r.err)
	}
	d.kill(t)
	select {
	case r := <-done:
		if !errors.Is(r.err, sspi.StatusInternalError) || errors.Is(r.err, context.DeadlineExceeded) || r.elapsed > 10*time.Second {
			t.Fatalf("leg in flight when lsad died: %v after %v, want SEC_E_INTERNAL_ERROR at once", r.err, r.elapsed)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("leg in flight when lsad died hangs")
	}
	// With lsad gone, a leg fails at once too (and the failure is
	// sticky for its context).
	start = time.Now()
	if _, _, err := sspi.NewServerContext(sc, nil).Accept(ctx, neg); !errors.Is(err, sspi.StatusInternalError) || time.Since(start) > 5*time.Second {
		t.Fatalf("leg without lsad: %v after %v", err, time.Since(start))
	}

	// The mapped contexts live in the application and go on.
	exchange(t, mapped, "while lsad is dead")

	d.start(t)
	exchange(t, mapped, "after the restart")
	// Handles of the old instance are refused: the server context of
	// the half-done handshake, and the credentials.
	fresh := sspi.NewServerContext(sc, nil)
	for name, leg := range map[string]func() error{
		"server context of the interrupted handshake": func() error { _, _, err := half.server.Accept(ctx, []byte("AUTHENTICATE")); return err },
		"outbound credentials":                        func() error { _, _, err := sspi.NewClientContext(cc, nil).Initialize(ctx, nil); return err },
		"inbound credentials":                         func() error { _, _, err := fresh.Accept(ctx, neg); return err },
	} {
		if err := leg(); !errors.Is(err, sspi.StatusInvalidHandle) {
			t.Errorf("%s from before the restart: %v, want SEC_E_INVALID_HANDLE", name, err)
		}
	}
	if _, err := cc.QueryName(ctx); !errors.Is(err, sspi.StatusInvalidHandle) {
		t.Errorf("QueryCredentials with a handle from before the restart: %v, want SEC_E_INVALID_HANDLE", err)
	}
	// The interrupted client context stays failed, and so does the one
	// whose handshake lsad's death cut in half.
	if _, _, err := blocked.Initialize(ctx, nil); err == nil {
		t.Error("the interrupted client context came back to life")
	}
	if _, _, err := half.client.Initialize(ctx, chal); err == nil {
		t.Error("the client context of the interrupted handshake came back to life")
	}
	blocked.Delete()

	// New handshakes work through the same provider, which dialed again.
	cc2, sc2 := credentials(t, app, "alice", alicePassword)
	after := established(t, cc2, sc2, "alice")
	exchange(t, after, "new handshake after the restart")
	after.delete()
	mapped.delete()
	half.delete()
}

// TestE2EKillDuringAccountWrites SIGKILLs lsad a few times while it adds
// accounts and counts failed logons (accounts/sqlite_process_test.go does
// this many times on the store alone), each time once lsad has
// acknowledged a random number of both (so the kill follows lsad's
// progress, not a clock, and lands while writers are at work). After each
// restart the database opens, every account whose creation lsad
// acknowledged is there, and the failure counter never goes back: it
// holds at least every failure whose refusal lsad sent, and never less
// than before the kill.
func TestE2EKillDuringAccountWrites(t *testing.T) {
	const rounds = 5
	d := startDaemon(t, "writes", daemonOpts{lockout: "threshold = 1000000\nwindow = \"24h\""})
	d.addUser(t, "alice", alicePassword)
	noteSecret("password (wrong)", []byte("wrong-"+alicePassword))
	noteSecret("password of the new accounts", []byte("new-account-Passw0rd"))
	acked := map[string]bool{}
	ackedFailures, lastFailures := 0, 0
	for r := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var wg sync.WaitGroup
		// Kill once lsad has acknowledged this many of each in the
		// round.
		wantAdds, wantFails := 1+mrand.IntN(20), 1+mrand.IntN(3)
		adds, fails := 0, 0
		progress := make(chan struct{}, 1)
		tick := func() {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
		admin := d.client(t)
		cc, sc := credentials(t, sspi.NewProvider(d.client(t), nil), "alice", "wrong-"+alicePassword)
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("user-%d-%d", r, i)
				if err := admin.AddAccount(ctx, &lsa.AccountRequest{Domain: domain, User: name, Password: []byte("new-account-Passw0rd")}); err != nil {
					return
				}
				mu.Lock()
				acked[name] = true
				adds++
				mu.Unlock()
				tick()
			}
		})
		wg.Go(func() {
			for ctx.Err() == nil {
				pr, err := handshake(ctx, cc, sc)
				if !errors.Is(err, sspi.StatusLogonDenied) || errors.Is(err, sspi.StatusInternalError) {
					return
				}
				pr.delete()
				mu.Lock()
				ackedFailures++
				fails++
				mu.Unlock()
				tick()
			}
		})
		writers := make(chan struct{})
		go func() { wg.Wait(); close(writers) }()
		for reached := false; !reached; {
			select {
			case <-progress:
			case <-writers:
				t.Fatalf("round %d: the writers stopped before lsad was killed", r)
			}
			mu.Lock()
			reached = adds >= wantAdds && fails >= wantFails
			mu.Unlock()
		}
		d.kill(t)
		cancel()
		wg.Wait()
		d.start(t)
		list, err := d.adminConn(t).ListAccounts(context.Background())
		if err != nil {
			t.Fatalf("round %d: ListAccounts after the restart: %v", r, err)
		}
		have := map[string]int{}
		for _, a := range list {
			have[a.User] = a.Failures
		}
		for name := range acked {
			if _, ok := have[name]; !ok {
				t.Fatalf("round %d: account %s, acknowledged before the kill, is gone", r, name)
			}
		}
		f := have["alice"]
		if f < ackedFailures || f < lastFailures {
			t.Fatalf("round %d: alice has %d failures after the restart; %d were acknowledged, %d stored before", r, f, ackedFailures, lastFailures)
		}
		lastFailures = f
	}
	t.Logf("%d kills: %d accounts and %d failures acknowledged, %d failures stored", rounds, len(acked), ackedFailures, lastFailures)
}
