package secpkgtest

import (
	"testing"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
)

// Daemon returns a Harness that serves e over the LSA protocol on a Unix
// socket, the way lsad does: every call of the provider under test crosses
// the socket as CBOR. The server stops when the test ends.
func Daemon(t testing.TB, e *engine.Engine) Harness {
	t.Helper()
	ServeEngine(t, e)
	return daemonHarness{e}
}

// ServeEngine serves e on a Unix socket in a fresh directory until the
// test ends, and returns the socket's path (enginetest.Serve).
func ServeEngine(t testing.TB, e *engine.Engine) string {
	t.Helper()
	return enginetest.Serve(t, e)
}

type daemonHarness struct{ e *engine.Engine }

func (h daemonHarness) Connect(t testing.TB) lsa.Conn { return enginetest.Daemon.Connect(t, h.e) }
func (h daemonHarness) Stats() lsa.Stats              { return h.e.Stats() }

// Modes are the two ways a provider reaches the LSA, for tests that run in
// both: the engine in the process, and the daemon protocol.
var Modes = []struct {
	Name    string
	Harness func(t testing.TB, e *engine.Engine) Harness
}{
	{"Embedded", func(t testing.TB, e *engine.Engine) Harness { return Embedded(e) }},
	{"Daemon", Daemon},
}
