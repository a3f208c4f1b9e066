package lsa

import (
	"context"
	"os"
	"runtime"
)

// Monitor reports what the LSA holds and what its process uses, for
// operators and for tests that check a daemon returns to its baseline
// (lsad's "Stats" operation, see doc/lsad.md). The caller needs the admin
// right (Config.Authorize with AccessAdminister). The embedded engine's
// connections and the daemon's client (lsarpc) implement it. Nothing it
// reports is secret.
type Monitor interface {
	Stats(ctx context.Context, req *StatsRequest) (*StatsReply, error)
}

// StatsRequest asks for a StatsReply.
type StatsRequest struct {
	// GC runs a garbage collection first, so that HeapAlloc counts live
	// memory only. It costs the process a collection: for tests and
	// occasional diagnosis, not for a monitoring loop.
	GC bool
}

// StatsReply describes the LSA and its process at one moment.
type StatsReply struct {
	Engine Stats // handles, connections, exports and logon sessions
	// The process (the whole of it: in embedded mode, the application).
	Goroutines  int
	HeapAlloc   uint64 // bytes of allocated heap objects
	HeapObjects uint64
	Sys         uint64 // bytes obtained from the operating system
	OpenFiles   int    // open file descriptors; -1 where unknown
	// Calls counts the protocol requests the daemon has served since it
	// started, on all connections; zero in embedded mode.
	Calls uint64
}

// Stats implements Monitor.
func (s *session) Stats(ctx context.Context, req *StatsRequest) (*StatsReply, error) {
	if _, err := s.callCtx(ctx); err != nil {
		return nil, err
	}
	if err := s.e.authorize(s.caller, Access{Kind: AccessAdminister}); err != nil {
		return nil, err
	}
	if req != nil && req.GC {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &StatsReply{
		Engine:      s.e.Stats(),
		Goroutines:  runtime.NumGoroutine(),
		HeapAlloc:   ms.HeapAlloc,
		HeapObjects: ms.HeapObjects,
		Sys:         ms.Sys,
		OpenFiles:   openFiles(),
	}, nil
}

// openFiles counts the process's open file descriptors where /proc or
// /dev/fd lists them (the count includes the directory being read).
func openFiles() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if ents, err := os.ReadDir(dir); err == nil {
			return len(ents) - 1
		}
	}
	return -1
}

var _ Monitor = (*session)(nil)
