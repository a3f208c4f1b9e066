package sspi

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

type contextState uint8

const (
	stateHandshake contextState = iota
	stateNeedComplete
	stateEstablished
	stateDeleted
)

// Context is what client and server contexts share (a CtxtHandle): the
// message functions, the attributes, export and delete. It is safe for
// concurrent use; calls on one context are serialized.
//
// Once the handshake is done, a context whose package has a user-mode half
// is mapped: its packed context (session keys only) was handed to the
// package's user-mode half in this process, and message calls run here
// without a round trip to the LSA. Otherwise message calls go to the LSA.
type Context struct {
	p   *Provider
	pkg string

	mu         sync.Mutex
	handle     lsa.SecHandle            // the LSA's handle; zero before the first leg
	userHandle secpkg.UserContextHandle // this provider's name for the context (callbacks)
	user       secpkg.UserContext       // set when mapped
	state      contextState
	err        error // sticky
	status     Status
	flags      secpkg.ContextFlags
	expiry     time.Time
	attrs      *secpkg.ContextAttributes
}

// Package returns the name of the context's package.
func (c *Context) Package() string { return c.pkg }

// Established reports whether the handshake has finished.
func (c *Context) Established() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateEstablished
}

// Mapped reports whether the context runs in this process (its package's
// user-mode half holds it) rather than in the LSA.
func (c *Context) Mapped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user != nil
}

// Expiry returns when the context expires; zero means never.
func (c *Context) Expiry() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expiry
}

// applyReply records one leg's reply. c.mu is held.
func (c *Context) applyReply(r *lsa.ContextReply) error {
	c.handle = r.Context
	c.status = r.Status
	c.flags = r.Flags
	c.expiry = r.Expiry
	if r.Attributes != nil {
		c.attrs = r.Attributes
	}
	if r.Packed != nil {
		if err := c.mapPacked(r.Packed); err != nil {
			return err
		}
	}
	switch r.Status {
	case StatusOK:
		c.state = stateEstablished
	case StatusCompleteNeeded, StatusCompleteAndContinue:
		c.state = stateNeedComplete
	}
	return nil
}

// mapPacked initializes the user-mode half from a packed-context envelope
// (SpInitUserModeContext). c.mu is held.
func (c *Context) mapPacked(b []byte) error {
	pk, err := lsa.ParsePacked(b)
	if err != nil {
		return err
	}
	if pk.Kind != lsa.PackedMapped || !strings.EqualFold(pk.Package, c.pkg) {
		return secpkg.Errorf(StatusInternalError, "sspi: LSA mapped a context of %s into a %s context", pk.Package, c.pkg)
	}
	up, err := c.p.userPackage(c.pkg)
	if err != nil {
		return err
	}
	if c.userHandle == 0 {
		c.userHandle = userModes.register(c)
	}
	uc, err := up.InitUserModeContext(c.userHandle, pk.Data)
	clear(pk.Data)
	if err != nil {
		return err
	}
	if c.user != nil {
		c.user.DeleteUserModeContext()
	}
	c.user = uc
	return nil
}

// fail makes err the context's sticky error. c.mu is held.
func (c *Context) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return err
}

// ready returns an error unless the context is established. c.mu is held.
func (c *Context) ready() error {
	switch {
	case c.err != nil:
		return c.err
	case c.state == stateDeleted:
		return secpkg.Errorf(StatusInvalidHandle, "sspi: context was deleted")
	case c.state == stateNeedComplete:
		return secpkg.Errorf(StatusInvalidHandle, "sspi: CompleteAuthToken has not been called")
	case c.state != stateEstablished:
		return secpkg.Errorf(StatusInvalidHandle, "sspi: context is not established")
	}
	return nil
}

// CompleteAuthToken finishes a token after a leg returned
// StatusCompleteNeeded or StatusCompleteAndContinue (CompleteAuthToken).
// It returns the token to send; the package may change it.
func (c *Context) CompleteAuthToken(token []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.state != stateNeedComplete {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: CompleteAuthToken without SEC_I_COMPLETE_NEEDED")
	}
	comp, ok := c.user.(secpkg.AuthTokenCompleter)
	if !ok {
		return nil, c.fail(secpkg.Errorf(StatusUnsupportedFunction, "sspi: %s cannot complete tokens in this process", c.pkg))
	}
	bufs := []Buffer{{Type: secpkg.BufferToken, Data: append([]byte(nil), token...)}}
	if err := comp.CompleteAuthToken(bufs); err != nil {
		return nil, c.fail(err)
	}
	if c.status == StatusCompleteNeeded {
		c.state = stateEstablished
	} else {
		c.state = stateHandshake
	}
	return bufs[0].Data, nil
}

// Delete deletes the context (DeleteSecurityContext): the user-mode half
// wipes its keys and the LSA frees its state. It works in any state,
// including in the middle of a handshake or after a failure.
func (c *Context) Delete() error {
	c.mu.Lock()
	if c.state == stateDeleted {
		c.mu.Unlock()
		return secpkg.Errorf(StatusInvalidHandle, "sspi: context was already deleted")
	}
	c.state = stateDeleted
	if c.err == nil {
		c.err = secpkg.Errorf(StatusInvalidHandle, "sspi: context was deleted")
	}
	user, h, uh := c.user, c.handle, c.userHandle
	c.user = nil
	c.mu.Unlock()
	if uh != 0 {
		userModes.unregister(uh)
	}
	var err error
	if user != nil {
		err = user.DeleteUserModeContext()
	}
	if !h.IsZero() {
		ctx, cancel := c.p.bg()
		defer cancel()
		if derr := c.p.conn.DeleteContext(ctx, h); err == nil {
			err = derr
		}
	}
	return err
}

// Export moves the context out of this process (ExportSecurityContext
// with SECPKG_CONTEXT_EXPORT_DELETE_OLD): it returns a blob that
// [Provider.ImportContext] in another process of the same user turns back
// into a working context, once. The blob is sealed by the LSA and carries
// session keys; treat it as a secret. This context is deleted.
func (c *Context) Export(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return nil, err
	}
	if c.user == nil {
		return nil, secpkg.Errorf(StatusUnsupportedFunction, "sspi: only a mapped context can be exported")
	}
	packed, err := c.user.ExportContext()
	if err != nil {
		return nil, err
	}
	blob, err := c.p.conn.ExportContext(ctx, c.handle, packed)
	clear(packed)
	if err != nil {
		return nil, err
	}
	c.user.DeleteUserModeContext()
	c.user = nil
	userModes.unregister(c.userHandle)
	c.state = stateDeleted
	c.err = secpkg.Errorf(StatusInvalidHandle, "sspi: context was exported")
	return blob, nil
}

// ImportContext rebuilds a context exported by [Context.Export] in
// another process of the same user (ImportSecurityContext). A blob can be
// imported once.
func (p *Provider) ImportContext(ctx context.Context, blob []byte) (*Context, error) {
	r, err := p.conn.ImportContext(ctx, blob)
	if err != nil {
		return nil, err
	}
	c := &Context{p: p, pkg: r.Package, handle: r.Context, state: stateEstablished, flags: r.Flags, attrs: r.Attributes}
	fail := func(err error) (*Context, error) {
		dctx, cancel := p.bg()
		defer cancel()
		p.conn.DeleteContext(dctx, r.Context)
		return nil, err
	}
	up, err := p.userPackage(r.Package)
	if err != nil {
		return fail(err)
	}
	c.userHandle = userModes.register(c)
	uc, err := up.ImportContext(c.userHandle, r.Packed)
	clear(r.Packed)
	if err != nil {
		userModes.unregister(c.userHandle)
		return fail(err)
	}
	c.user = uc
	if r.Attributes != nil {
		c.expiry = r.Attributes.Expiry
	}
	return c, nil
}

// ApplyControlToken passes a control token to the context's package in the
// LSA (ApplyControlToken), such as a Schannel shutdown request. Packages
// that take none return an error carrying StatusUnsupportedFunction.
func (c *Context) ApplyControlToken(ctx context.Context, input []Buffer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.handle.IsZero() {
		return secpkg.Errorf(StatusInvalidHandle, "sspi: context has no LSA handle yet")
	}
	return c.p.conn.ApplyControlToken(ctx, c.handle, input)
}
