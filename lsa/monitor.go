package lsa

import "context"

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

// Stats counts what an LSA engine holds, for tests and monitoring.
type Stats struct {
	Conns         int
	Credentials   int
	Contexts      int
	Exports       int
	LogonSessions int
	Registrations int // registrations begun and not finished (lsa.Registration)
}
