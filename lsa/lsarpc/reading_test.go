package lsarpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// blockingCall starts a call on c that blocks in the LSA until
// rpcRelease, and returns once the LSA runs it, with its outcome to come
// on the channel.
func blockingCall(t *testing.T, ctx context.Context, c *Client) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "RPCTest", Use: secpkg.CredentialInbound, Principal: "block"})
		done <- err
	}()
	<-rpcBlocked
	return done
}

// TestSlowCallLeavesConnectionFree: a call that runs long in the goroutine
// that read it (here until released) does not hold up the calls after it
// on the same connection: the watch hands the reading to another
// goroutine, and the calls behind it are answered while it still runs.
func TestSlowCallLeavesConnectionFree(t *testing.T) {
	path, srv := serveLimits(t, Limits{}, nil)
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	slow := blockingCall(t, ctx, c)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.EnumeratePackages(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait() // hangs (the test's deadline) if the calls wait behind the slow one
	select {
	case err := <-slow:
		t.Fatalf("the slow call ended before its release: %v", err)
	default:
	}
	rpcRelease <- struct{}{}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if srv.handedOff.Load() == 0 {
		t.Fatal("the watch handed no reading over")
	}
	// The connection goes on, each call again in the goroutine that
	// reads it.
	for range 3 {
		if _, err := c.EnumeratePackages(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCancelWhileReading: a caller that reads the connection for its
// reply gives up when its context ends, without hurting the connection:
// the reply that comes later is dropped, and the calls of others, before
// and after, are answered.
func TestCancelWhileReading(t *testing.T) {
	path, _ := serveLimits(t, Limits{}, nil)
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	cc := c.cur
	ctx, cancel := context.WithCancel(context.Background())
	slow := blockingCall(t, ctx, c)
	cancel()
	if err := <-slow; !errors.Is(err, context.Canceled) || !errors.Is(err, secpkg.StatusInternalError) {
		t.Fatalf("cancelled call: %v", err)
	}
	if _, err := c.EnumeratePackages(context.Background()); err != nil {
		t.Fatal(err)
	}
	rpcRelease <- struct{}{} // its reply comes now, to nobody
	for range 3 {
		if _, err := c.LogonSessions(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if c.cur != cc {
		t.Fatal("the cancelled call cost the connection")
	}
}

// TestReadingPassesOn: many callers at once, each reading for a while and
// handing the reading on, all get their own replies (the values differ
// per call: a reply handed to the wrong caller shows).
func TestReadingPassesOn(t *testing.T) {
	path, _ := serveLimits(t, Limits{}, nil)
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for range 50 {
				r, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "RPCTest", Use: secpkg.CredentialInbound})
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.QueryCredentials(ctx, r.Handle)
				if err != nil || got.Handle != r.Handle {
					t.Errorf("caller %d: query of %v: %+v, %v", i, r.Handle, got, err)
					return
				}
				if err := c.FreeCredentials(ctx, r.Handle); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLoneDeleteFlushed: a request that wants no reply and finds no
// request to go out with reaches the server anyway (the flusher's tick),
// from several connections at once.
func TestLoneDeleteFlushed(t *testing.T) {
	path, srv := serveLimits(t, Limits{}, nil)
	before := srv.calls.Load()
	const conns = 3
	for range conns {
		c, err := dial(t, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteContext(context.Background(), lsa.SecHandle{Epoch: 1, ID: 99}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.calls.Load()-before < conns {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lone deletes reached the server", srv.calls.Load()-before, conns)
		}
		time.Sleep(time.Millisecond)
	}
}
