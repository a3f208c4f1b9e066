package lsarpc

import (
	"sync"
	"testing"
	"time"
)

// TestWorkersAfterBurst: after a burst of calls needed many workers, a
// steady trickle of calls, one at a time, keeps one or two of them (the
// next call may come before the last worker is back on the stack), and
// the others end after workerIdle. Handing each call to the longest idle
// worker would keep all of them alive for as long as the trickle lasts.
func TestWorkersAfterBurst(t *testing.T) {
	old := workerIdle
	workerIdle = 200 * time.Millisecond
	s := &Server{}
	s.init()
	t.Cleanup(func() {
		close(s.stop)
		for s.workers.Load() != 0 {
			time.Sleep(time.Millisecond) // the workers see stop and end
		}
		workerIdle = old
	})

	// The burst: 50 calls in flight at once, each on a worker of its own.
	const burst = 50
	var started, release sync.WaitGroup
	started.Add(burst)
	release.Add(1)
	for range burst {
		s.spawn(func() { started.Done(); release.Wait() })
	}
	started.Wait()
	if n := s.workers.Load(); n != burst {
		t.Fatalf("%d workers for %d calls in flight", n, burst)
	}
	release.Done()

	// The trickle: one call at a time, back to back, until the burst's
	// workers have ended (or, if they never do, until the deadline).
	done := make(chan struct{})
	deadline := time.Now().Add(max(100*workerIdle, time.Minute))
	const want = 3
	for s.workers.Load() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still alive after %v of calls one at a time, want at most %d", s.workers.Load(), time.Since(deadline.Add(-max(100*workerIdle, time.Minute))), want)
		}
		s.spawn(func() { done <- struct{}{} })
		<-done
	}
}
