package cli

import (
	"context"
	"errors"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/embedded" // the CLI runs an LSA in process when no lsad is given
	"github.com/opensspi/sspi/lsa"
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

// lsaConfig is the LSA this command talks to: --lsa and --store, else
// SSPI_LSA and SSPI_STORE (the same rules as sspi.Default), else the
// default store if it exists (see storeChoice).
func (e *env) lsaConfig() sspi.LSAConfig {
	return sspi.LSAConfig{Socket: e.lsaSocket(), Store: e.storeChoice().usedStore()}
}

// daemon dials lsad, if one is configured.
func (e *env) daemon(ctx context.Context) (lsa.Conn, error) {
	sock := e.lsaSocket()
	if sock == "" {
		return nil, nil
	}
	return e.conn(ctx)
}

// conn returns a connection to the LSA: lsad if configured, else an
// engine in this process (package embedded) with the account store, if
// any.
func (e *env) conn(ctx context.Context) (lsa.Conn, error) {
	cfg := e.lsaConfig()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := sspi.OpenLSA(dctx, cfg)
	if err != nil {
		if cfg.Socket != "" {
			return nil, hint(err, "is lsad running? it listens on %s", cfg.Socket)
		}
		if errors.Is(err, accounts.ErrNoStore) {
			return nil, hint(err, "is --store (or SSPI_STORE) right? only 'sspi account add' creates a store")
		}
		return nil, err
	}
	c = e.wrap(c)
	e.closers = append(e.closers, c.Close)
	return c, nil
}

// wrap applies the test hook env.connHook, if set.
func (e *env) wrap(c lsa.Conn) lsa.Conn {
	if e.connHook != nil {
		return e.connHook(c)
	}
	return c
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
	c, err := e.adminConn(ctx)
	if err != nil {
		return nil, err
	}
	return c.(lsa.Admin), nil
}

// adminConn is the connection admin administers through, which also
// registers accounts (lsa.Registration).
func (e *env) adminConn(ctx context.Context) (lsa.Conn, error) {
	if c := e.storeChoice(); e.lsaSocket() == "" && c.usedStore() == "" {
		return nil, e.noStore(c)
	}
	return e.conn(ctx)
}
