// Package embedded runs the Local Security Authority inside the
// application process: the embedded mode of the design, for programs and
// tests that want authentication without a daemon.
//
// Importing it, with the account store backend the program uses, is all
// a program needs:
//
//	import (
//		_ "github.com/opensspi/sspi/accounts/sqlite" // SSPI_STORE=sqlite:PATH
//		_ "github.com/opensspi/sspi/embedded"
//	)
//
// after which [sspi.Default] and [sspi.OpenLSA] start an LSA engine in
// this process (unless SSPI_LSA names lsad's socket), with the account
// store SSPI_STORE names, if any. Store backends are linked by import, as
// database/sql drivers are; package embedded itself links none. The
// application then holds long-term secrets in its own address space: the
// same code as lsad runs, without the process boundary. Programs that talk
// to lsad should not import this package; they then link neither the
// engine nor any account store backend.
//
// SSPI_REPLAY_CACHE names a file that keeps the Kerberos acceptor's
// replay cache across restarts (engine.Config.ReplayCacheFile, shared by
// every embedded LSA that names it, as MIT's rcache file is shared by the
// processes of one user): an application that accepts Kerberos contexts
// should set it, or an authenticator it accepted before a crash can be
// replayed to it within the clock skew after a restart. Without it the
// cache is in memory only.
//
// Part of the authority side: it may import the engine (lsa/engine) and
// the account store; nothing on the application side imports it.
package embedded

import (
	"context"
	"errors"
	"os"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
)

func init() {
	sspi.RegisterEmbeddedLSA(func(ctx context.Context, store string) (lsa.Conn, error) {
		cfg, err := Config(ctx, store, nil)
		if err != nil {
			return nil, err
		}
		return Open(cfg)
	})
}

// Config returns the configuration of an embedded engine: every
// registered package, machine names from the host, and the account store
// named by the data source name store, opened with opts (see
// accounts.Open), or none when store is empty. With nil opts, as
// [sspi.OpenLSA] calls it, the store must exist: a mistyped SSPI_STORE is
// an error wrapping accounts.ErrNoStore, never a new, empty store; a
// program that means to create one sets opts.Create. The caller owns the
// store it opens (Open closes it with the engine). SSPI_REPLAY_CACHE, if
// set, names the shared replay cache file.
func Config(ctx context.Context, store string, opts *accounts.Options) (*engine.Config, error) {
	cfg := &engine.Config{}
	if p := os.Getenv("SSPI_REPLAY_CACHE"); p != "" {
		cfg.ReplayCacheFile, cfg.ReplayCacheShared = p, true
	}
	if store != "" {
		s, err := accounts.Open(ctx, store, opts)
		if err != nil {
			return nil, err
		}
		cfg.Accounts = s
	}
	return cfg, nil
}

// Open starts an LSA engine with cfg and returns a connection to it as
// the current process. Closing the connection stops the engine and closes
// cfg.Accounts. The connection implements [lsa.Admin], [lsa.Monitor] and
// [lsa.Registration].
func Open(cfg *engine.Config) (lsa.Conn, error) {
	if cfg == nil {
		cfg = &engine.Config{}
	}
	e, err := engine.New(cfg)
	if err != nil {
		if cfg.Accounts != nil {
			cfg.Accounts.Close()
		}
		return nil, err
	}
	c := e.Connect(engine.CurrentProcess())
	return &conn{Conn: c, Admin: c.(lsa.Admin), Monitor: c.(lsa.Monitor), Registration: c.(lsa.Registration), e: e, store: cfg.Accounts}, nil
}

// NewProvider starts an LSA engine with cfg and returns a provider
// connected to it as the current process, with the engine for the
// program's own administration (SetPassword). Closing the provider stops
// the engine.
func NewProvider(cfg *engine.Config, pcfg *sspi.ProviderConfig) (*sspi.Provider, *engine.Engine, error) {
	c, err := Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	return sspi.NewProvider(c, pcfg), c.(*conn).e, nil
}

// conn is the engine's connection, which owns the engine and the store.
type conn struct {
	lsa.Conn
	lsa.Admin
	lsa.Monitor
	lsa.Registration
	e     *engine.Engine
	store accounts.Store
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	err = errors.Join(err, c.e.Close())
	if c.store != nil {
		err = errors.Join(err, c.store.Close())
	}
	return err
}
