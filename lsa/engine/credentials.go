package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/secpkg"
)

// credEntry is a credentials handle (CredHandle) in the LSA. It is
// complete before it enters its connection's table and never changes
// afterwards; only refs moves, atomically.
type credEntry struct {
	h      lsa.SecHandle
	uid    uint32 // whose handle quota it counts against
	pkg    *loadedPackage
	ph     secpkg.Handle
	name   string
	expiry time.Time
	use    secpkg.CredentialUse

	// refs counts the handle itself and each context using the
	// credentials; the package frees them when it drops to zero. A
	// reference is only taken while the handle is in its table (under
	// the connection's lock), so it never rises from zero.
	refs atomic.Int32
}

// drop releases one reference and frees the credentials in the package
// with the last.
func (cr *credEntry) drop(ctx context.Context, e *Engine) {
	if cr.refs.Add(-1) == 0 {
		if err := cr.pkg.lsa.FreeCredentialsHandle(ctx, cr.ph); err != nil {
			e.log.Warn("SpFreeCredentialsHandle failed", "package", cr.pkg.name, "err", err)
		}
	}
}

// credentials returns the credentials h names on this connection.
func (c *conn) credentials(h lsa.SecHandle) (*credEntry, error) {
	if err := c.checkEpoch(h); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr := c.creds[h]; cr != nil {
		return cr, nil
	}
	return nil, errInvalidHandle(h)
}

// holdCredentials returns the credentials h names with a reference taken
// for a new context.
func (c *conn) holdCredentials(h lsa.SecHandle) (*credEntry, error) {
	if err := c.checkEpoch(h); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr := c.creds[h]; cr != nil {
		cr.refs.Add(1)
		return cr, nil
	}
	return nil, errInvalidHandle(h)
}

func (c *conn) AcquireCredentials(ctx context.Context, req *lsa.AcquireCredentialsRequest) (*lsa.CredentialsReply, error) {
	e := c.e
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	p, err := e.pkg(req.Package)
	if err != nil {
		return nil, err
	}
	if req.Use&secpkg.CredentialBoth == 0 || req.Use&^(secpkg.CredentialBoth|secpkg.CredentialDefault) != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: credential use %v", req.Use)
	}
	if err := e.authorize(c.caller, Access{Kind: AccessAcquireCredentials, Package: p.name, Principal: req.Principal, Use: req.Use, Explicit: req.Identity != nil}); err != nil {
		return nil, err
	}
	logon := req.LogonID
	if req.Identity == nil {
		if logon != 0 {
			if !e.logons.owns(logon, c.caller.UID, e.now()) {
				return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: no such logon session %v", logon)
			}
		} else {
			logon = e.logons.latest(c.caller.UID, e.now())
		}
	}
	// The quota is taken before the package does any work.
	uid := c.caller.UID
	if err := e.quotas.takeHandle(uid); err != nil {
		return nil, err
	}
	creds, err := p.lsa.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{
		Principal: req.Principal, Use: req.Use, LogonID: logon, Identity: req.Identity,
		PackageList: req.PackageList,
	})
	if err == nil && creds == nil {
		err = secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s returned no credentials", p.name)
	}
	if err != nil {
		e.quotas.releaseHandle(uid)
		return nil, err
	}
	cr := &credEntry{uid: uid, pkg: p, ph: creds.Handle, name: creds.Name, expiry: creds.Expiry, use: req.Use}
	cr.refs.Store(1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		e.quotas.releaseHandle(uid)
		cr.drop(ctx, e)
		return nil, errClosed
	}
	cr.h = c.newHandleLocked()
	c.creds[cr.h] = cr
	c.mu.Unlock()
	return &lsa.CredentialsReply{Handle: cr.h, Package: p.name, Name: cr.name, Expiry: cr.expiry}, nil
}

func (c *conn) QueryCredentials(ctx context.Context, h lsa.SecHandle) (*lsa.CredentialsReply, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	cr, err := c.credentials(h)
	if err != nil {
		return nil, err
	}
	creds, err := cr.pkg.lsa.QueryCredentialsAttributes(ctx, cr.ph)
	if err != nil {
		return nil, err
	}
	return &lsa.CredentialsReply{Handle: cr.h, Package: cr.pkg.name, Name: creds.Name, Expiry: creds.Expiry}, nil
}

func (c *conn) FreeCredentials(ctx context.Context, h lsa.SecHandle) error {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return err
	}
	if err := c.checkEpoch(h); err != nil {
		return err
	}
	c.mu.Lock()
	cr := c.creds[h]
	delete(c.creds, h)
	c.mu.Unlock()
	if cr == nil {
		return errInvalidHandle(h)
	}
	c.e.quotas.releaseHandle(cr.uid)
	cr.drop(ctx, c.e)
	return nil
}
