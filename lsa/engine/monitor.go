package engine

import (
	"context"
	"os"
	"runtime"

	"github.com/opensspi/sspi/lsa"
)

// Stats implements lsa.Monitor.
func (c *conn) Stats(ctx context.Context, req *lsa.StatsRequest) (*lsa.StatsReply, error) {
	if _, err := c.callCtx(ctx); err != nil {
		return nil, err
	}
	if err := c.e.authorize(c.caller, Access{Kind: AccessAdminister}); err != nil {
		return nil, err
	}
	if req != nil && req.GC {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &lsa.StatsReply{
		Engine:      c.e.Stats(),
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

var _ lsa.Monitor = (*conn)(nil)
