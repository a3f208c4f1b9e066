package secpkgtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
)

// Daemon returns a Harness that serves e over the LSA protocol on a Unix
// socket, the way lsad does: every call of the provider under test crosses
// the socket as CBOR. The server stops when the test ends.
func Daemon(t testing.TB, e *engine.Engine) Harness {
	t.Helper()
	return &daemonHarness{e: e, path: ServeEngine(t, e)}
}

// ServeEngine serves e on a Unix socket in a fresh directory until the
// test ends, and returns the socket's path.
func ServeEngine(t testing.TB, e *engine.Engine) string {
	t.Helper()
	// A short directory: socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "lsad")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lsad.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &lsarpc.Server{Authority: e}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	return path
}

type daemonHarness struct {
	e    *engine.Engine
	path string
}

func (h *daemonHarness) Connect(t testing.TB) lsa.Conn {
	t.Helper()
	c, err := lsarpc.Dial(context.Background(), h.path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *daemonHarness) Stats() lsa.Stats { return h.e.Stats() }

// Modes are the two ways a provider reaches the LSA, for tests that run in
// both: the engine in the process, and the daemon protocol.
var Modes = []struct {
	Name    string
	Harness func(t testing.TB, e *engine.Engine) Harness
}{
	{"Embedded", func(t testing.TB, e *engine.Engine) Harness { return Embedded(e) }},
	{"Daemon", Daemon},
}
