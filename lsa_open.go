package sspi

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// DefaultLSASocket is where lsad listens unless configured otherwise
// (dist/lsad.toml). OpenLSA dials it when neither SSPI_LSA nor an
// embedded LSA says otherwise.
const DefaultLSASocket = "/run/opensspi/lsad.sock"

// LSAConfig says which Local Security Authority a provider talks to: the
// lsad daemon on a Unix socket, or an LSA engine inside this process.
// The zero value means the embedded LSA if the program links one (see
// [OpenLSA]), else lsad at [DefaultLSASocket].
type LSAConfig struct {
	// Socket is lsad's Unix socket. When set, the provider talks to the
	// daemon and Store is ignored.
	Socket string
	// Store is the account store of an embedded LSA, as a data source
	// name ("sqlite:PATH", "postgres://…", "memory:"); empty means none
	// (such an LSA can initiate contexts but knows no local accounts to
	// accept). The store must exist: OpenLSA never creates one, so that
	// a mistyped name is an error rather than a new, empty store
	// (`sspi account add` creates one).
	Store string
}

// LSAConfigFromEnv reads the LSAConfig from the environment: SSPI_LSA
// (lsad's socket) and SSPI_STORE (the embedded LSA's account store).
func LSAConfigFromEnv() LSAConfig {
	return LSAConfig{Socket: os.Getenv("SSPI_LSA"), Store: os.Getenv("SSPI_STORE")}
}

var (
	embeddedMu   sync.Mutex
	embeddedOpen func(ctx context.Context, store string) (lsa.Conn, error)
)

// RegisterEmbeddedLSA makes open the way [OpenLSA] starts an LSA inside
// this process. Package github.com/opensspi/sspi/embedded calls it from
// its init function: a program opts in to an in-process authority (and
// links the engine and the account store drivers) by importing that
// package, the way a database/sql program links a driver. It panics if
// called twice.
func RegisterEmbeddedLSA(open func(ctx context.Context, store string) (lsa.Conn, error)) {
	embeddedMu.Lock()
	defer embeddedMu.Unlock()
	if embeddedOpen != nil {
		panic("sspi: RegisterEmbeddedLSA called twice")
	}
	embeddedOpen = open
}

// OpenLSA connects to the LSA cfg names, as the calling process: the
// constructor behind [Default] and the sspi command.
//
//   - cfg.Socket set: lsad on that socket.
//   - otherwise, if the program imports package embedded: an LSA engine in
//     this process with the account store cfg.Store; closing the
//     connection stops it.
//   - otherwise: lsad at DefaultLSASocket.
//
// The connection also implements [lsa.Admin], [lsa.Monitor] and
// [lsa.Registration] (whether the caller may use them is the LSA's
// decision).
func OpenLSA(ctx context.Context, cfg LSAConfig) (lsa.Conn, error) {
	if cfg.Socket != "" {
		return lsarpc.Dial(ctx, cfg.Socket)
	}
	embeddedMu.Lock()
	open := embeddedOpen
	embeddedMu.Unlock()
	if open != nil {
		return open(ctx, cfg.Store)
	}
	if cfg.Store != "" {
		return nil, secpkg.Errorf(StatusInternalError, "sspi: an account store (SSPI_STORE) needs the embedded LSA: import github.com/opensspi/sspi/embedded, or set SSPI_LSA to lsad's socket")
	}
	if _, err := os.Stat(DefaultLSASocket); errors.Is(err, fs.ErrNotExist) {
		return nil, secpkg.Errorf(StatusInternalError, "sspi: no LSA: set SSPI_LSA to lsad's socket (lsad is not at %s), or import github.com/opensspi/sspi/embedded to run the LSA in this process", DefaultLSASocket)
	}
	return lsarpc.Dial(ctx, DefaultLSASocket)
}
