package engine

import (
	"context"
	"sync"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/secpkg"
)

// conn is the engine's lsa.Conn for one caller: one client socket of
// lsad, or the embedded provider. Handles belong to the connection that
// created them, so the connection keeps their table; mu guards closed and
// both maps and is held for map operations only. Lock order: a
// contextEntry's mu may be held while taking a conn's mu, never the
// reverse; the engine's other locks are taken with neither held, except
// the quota and logon tables' (leaves).
type conn struct {
	e      *Engine
	caller secpkg.CallInfo

	mu       sync.Mutex
	closed   bool
	creds    map[lsa.SecHandle]*credEntry
	contexts map[lsa.SecHandle]*contextEntry
	regs     map[lsa.SecHandle]*registration // lsa.Registration; nil until the first
}

func newConn(e *Engine, caller secpkg.CallInfo) *conn {
	return &conn{e: e, caller: caller, creds: make(map[lsa.SecHandle]*credEntry), contexts: make(map[lsa.SecHandle]*contextEntry)}
}

var errClosed = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: connection closed")

// callCtx starts a call: it fails on a closed connection or a done
// context, and returns ctx carrying the caller's CallInfo for the
// package (secpkg.CallInfoFrom), with its newest logon session.
func (c *conn) callCtx(ctx context.Context) (context.Context, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: %w", err)
	}
	ci := c.caller
	ci.LogonID = c.e.logons.latest(ci.UID, c.e.now())
	return secpkg.WithCallInfo(ctx, ci), nil
}

// newHandleLocked returns a handle unused on this connection. c.mu is
// held. (Handles of different connections may coincide: a handle names
// something only on the connection that holds it.)
func (c *conn) newHandleLocked() lsa.SecHandle {
	for {
		h := lsa.SecHandle{Epoch: c.e.epoch, ID: randomUint64()}
		if c.creds[h] == nil && c.contexts[h] == nil {
			return h
		}
	}
}

// checkEpoch refuses a handle of another LSA instance.
func (c *conn) checkEpoch(h lsa.SecHandle) error {
	if h.Epoch != c.e.epoch && !h.IsZero() {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: handle %v was issued by another LSA instance", h)
	}
	return nil
}

// errInvalidHandle is the answer for a handle the connection does not
// hold: one of another connection is reported exactly like one that does
// not exist.
func errInvalidHandle(h lsa.SecHandle) error {
	return secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: invalid handle %v", h)
}

// count returns how many credentials and contexts the connection holds.
func (c *conn) count() (creds, contexts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.creds), len(c.contexts)
}

func (c *conn) EnumeratePackages(ctx context.Context) ([]secpkg.PackageInfo, error) {
	if _, err := c.callCtx(ctx); err != nil {
		return nil, err
	}
	return c.e.Packages(), nil
}

func (c *conn) LogonUser(ctx context.Context, req *lsa.LogonUserRequest) (*lsa.LogonSessionInfo, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.e.pkg(req.Package)
	if err != nil {
		return nil, err
	}
	if err := c.e.authorize(c.caller, Access{Kind: AccessLogonUser, Package: p.name, Principal: principal(req.Identity.Domain, req.Identity.User), Explicit: true}); err != nil {
		return nil, err
	}
	lu, ok := p.lsa.(secpkg.LogonUserer)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s does not support logon", p.name)
	}
	res, err := lu.LogonUser(ctx, &secpkg.LogonRequest{Identity: req.Identity, Type: req.Type})
	if err != nil {
		return nil, err
	}
	info, ok := c.e.logons.info(res.LogonID, c.caller.UID, c.e.now())
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s logged on without a logon session", p.name)
	}
	return &info, nil
}

func (c *conn) LogonSessions(ctx context.Context) ([]lsa.LogonSessionInfo, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	list := c.e.logons.list(c.caller.UID, c.e.now())
	for i := range list {
		list[i].Credentials = c.e.listCredentials(ctx, list[i].LogonID)
	}
	return list, nil
}

func (c *conn) Logoff(ctx context.Context, id secpkg.LogonID) error {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return err
	}
	if !c.e.logons.remove(id, c.caller.UID, c.e.now()) {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: no such logon session %v", id)
	}
	c.e.logonsEnded(ctx)
	return nil
}

// Close frees every handle the connection holds.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	creds, contexts, regs := c.creds, c.contexts, c.regs
	c.creds, c.contexts, c.regs = nil, nil, nil
	c.mu.Unlock()
	c.dropRegistrations(regs)
	e := c.e
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	ctx := context.Background()
	// Contexts first, so that credentials lose their last references.
	for _, x := range contexts {
		x.release(ctx, e)
	}
	for _, cr := range creds {
		e.quotas.releaseHandle(cr.uid)
		cr.drop(ctx, e)
	}
	return nil
}

var _ lsa.Conn = (*conn)(nil)
