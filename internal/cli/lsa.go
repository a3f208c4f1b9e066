package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
)

func (e *env) lsaSocket() string {
	if e.lsaSock != "" {
		return e.lsaSock
	}
	return e.getenv("SSPI_LSA")
}

func (e *env) storeDSN() string {
	if e.store != "" {
		return e.store
	}
	return e.getenv("SSPI_STORE")
}

// daemon dials lsad, if one is configured.
func (e *env) daemon(ctx context.Context) (*lsarpc.Client, error) {
	sock := e.lsaSocket()
	if sock == "" {
		return nil, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := lsarpc.Dial(dctx, sock)
	if err != nil {
		return nil, hint(err, "is lsad running? it listens on %s", sock)
	}
	e.closers = append(e.closers, c.Close)
	return c, nil
}

// engine starts an LSA in this process with the account store, if any.
func (e *env) engine(ctx context.Context) (*lsa.Engine, error) {
	cfg := &lsa.Config{}
	if dsn := e.storeDSN(); dsn != "" {
		store, err := accounts.Open(ctx, dsn, nil)
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, store.Close)
		cfg.Accounts = store
	}
	eng, err := lsa.New(cfg)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, eng.Close)
	return eng, nil
}

// conn returns a connection to the LSA: lsad if configured, else an
// engine in this process.
func (e *env) conn(ctx context.Context) (lsa.Conn, error) {
	if d, err := e.daemon(ctx); d != nil || err != nil {
		return d, err
	}
	eng, err := e.engine(ctx)
	if err != nil {
		return nil, err
	}
	c := eng.Connect(lsa.CurrentProcess())
	e.closers = append(e.closers, c.Close)
	return c, nil
}

// provider returns a provider over conn.
func (e *env) provider(ctx context.Context) (*sspi.Provider, error) {
	c, err := e.conn(ctx)
	if err != nil {
		return nil, err
	}
	return sspi.NewProvider(c, nil), nil
}

// admin returns account administration: lsad's if configured, else the
// store's through an engine in this process.
func (e *env) admin(ctx context.Context) (lsa.Admin, error) {
	if e.lsaSocket() == "" && e.storeDSN() == "" {
		return nil, hint(fmt.Errorf("no account store"), "give --store sqlite:PATH (or set SSPI_STORE), or --lsa SOCKET to administer lsad's")
	}
	c, err := e.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.(lsa.Admin), nil
}
