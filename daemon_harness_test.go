package sspi_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// daemonHarness serves an engine over the LSA protocol on a Unix socket,
// the way lsad does, so that tests run the provider against the daemon
// path: every call crosses the socket as CBOR.
type daemonHarness struct {
	e    *lsa.Engine
	path string
}

func serveEngine(t testing.TB, e *lsa.Engine) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lsad")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lsad.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &lsarpc.Server{Engine: e}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	return path
}

func newDaemonHarness(t *testing.T, e *lsa.Engine) secpkgtest.Harness {
	return &daemonHarness{e: e, path: serveEngine(t, e)}
}

func (h *daemonHarness) Connect(t *testing.T) lsa.Conn {
	t.Helper()
	c, err := lsarpc.Dial(context.Background(), h.path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *daemonHarness) Stats() lsa.Stats { return h.e.Stats() }

// modes are the two ways a provider reaches the LSA.
var modes = []struct {
	name    string
	harness func(t *testing.T, e *lsa.Engine) secpkgtest.Harness
}{
	{"Embedded", func(t *testing.T, e *lsa.Engine) secpkgtest.Harness { return secpkgtest.Embedded(e) }},
	{"Daemon", newDaemonHarness},
}
