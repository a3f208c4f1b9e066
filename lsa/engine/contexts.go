package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/secpkg"
)

// maxOutputToken bounds what a package may return in one leg; a package
// producing more is broken.
const maxOutputToken = 1 << 20

// contextEntry is a security context (CtxtHandle) in the LSA. pkg, server
// and uid are fixed when it is created; everything else is guarded by mu,
// which a leg holds from start to end, so that the LSA never runs two
// steps of one context at once.
//
// From its first successful leg until it is released the entry holds one
// handle of its uid's quota: in a connection's table, or waiting for
// import among the engine's exports.
type contextEntry struct {
	pkg    *loadedPackage
	server bool
	uid    uint32

	mu          sync.Mutex
	h           lsa.SecHandle // in its connection's table; a new one on import
	cred        *credEntry    // holds a reference; nil once released
	ph          secpkg.Handle
	pkgLive     bool // the package still holds ph
	legs        int
	deadline    time.Time
	established bool
	err         error // sticky
	mapped      bool
	flags       secpkg.ContextFlags
	expiry      time.Time
	attrs       *secpkg.ContextAttributes
	// handshakeBytes are the tokens of the unfinished handshake, charged
	// to the uid's quota until it ends.
	handshakeBytes int64
	released       bool
}

// endHandshake gives back the handshake bytes: the handshake is over (the
// package no longer keeps its messages). x.mu is held.
func (x *contextEntry) endHandshake(e *Engine) {
	e.quotas.releaseHandshake(x.uid, x.handshakeBytes)
	x.handshakeBytes = 0
}

// expire fails an unfinished context whose deadline passed and frees the
// package's state for it. The handle stays until the owner deletes it, so
// that the owner learns why.
func (x *contextEntry) expire(ctx context.Context, e *Engine, now time.Time) {
	if !x.mu.TryLock() {
		return // a step is running; the next sweep will see it
	}
	defer x.mu.Unlock()
	if x.established || x.err != nil || x.released || !now.After(x.deadline) {
		return
	}
	x.err = secpkg.Errorf(secpkg.StatusContextExpired, "lsa: handshake did not finish within %v", e.cfg.HandshakeTimeout)
	x.deletePackageContext(ctx, e)
	x.endHandshake(e)
}

// deletePackageContext tells the package to drop its context. x.mu is
// held.
func (x *contextEntry) deletePackageContext(ctx context.Context, e *Engine) {
	if !x.pkgLive {
		return
	}
	x.pkgLive = false
	if err := x.pkg.lsa.DeleteContext(ctx, x.ph); err != nil {
		e.log.Warn("SpDeleteContext failed", "package", x.pkg.name, "err", err)
	}
}

// release frees everything the context holds: the package's context, its
// reference to the credentials and its share of the uid's quota. The
// caller has taken it out of its table or the exports, so that nobody
// else releases it; a second release does nothing.
func (x *contextEntry) release(ctx context.Context, e *Engine) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.releaseLocked(ctx, e)
}

func (x *contextEntry) releaseLocked(ctx context.Context, e *Engine) {
	if x.released {
		return
	}
	x.released = true
	if x.err == nil {
		x.err = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was released")
	}
	x.deletePackageContext(ctx, e)
	x.endHandshake(e)
	if x.cred != nil {
		x.cred.drop(ctx, e)
		x.cred = nil
	}
	e.quotas.releaseHandle(x.uid)
}

type pendingExport struct {
	ctx      *contextEntry
	uid      uint32
	deadline time.Time
}

// context returns the context h names on this connection.
func (c *conn) context(h lsa.SecHandle) (*contextEntry, error) {
	if err := c.checkEpoch(h); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if x := c.contexts[h]; x != nil {
		return x, nil
	}
	return nil, errInvalidHandle(h)
}

// addContext enters x into the table under a fresh handle. x.mu is held.
func (c *conn) addContext(x *contextEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	x.h = c.newHandleLocked()
	c.contexts[x.h] = x
	return nil
}

// removeContext takes x out of the table, reporting false if it was not
// there (a concurrent call took it).
func (c *conn) removeContext(h lsa.SecHandle, x *contextEntry) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.contexts[h] != x {
		return false
	}
	delete(c.contexts, h)
	return true
}

// contextList returns the connection's contexts, for the janitor.
func (c *conn) contextList() []*contextEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*contextEntry, 0, len(c.contexts))
	for _, x := range c.contexts {
		out = append(out, x)
	}
	return out
}

// step is what InitializeContext and AcceptContext share: one leg of a
// handshake under the engine's limits.
type step struct {
	credential, context lsa.SecHandle
	server              bool
	token               []byte
	canMap              bool
}

func (c *conn) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	if req.SentToken != nil {
		return c.initializeAgain(ctx, req)
	}
	return c.initStep(ctx, req)
}

// initializeAgain runs a context's first leg, whose token the application
// already sent (req.SentToken, the token of an earlier context's
// repeatable first leg), and its second leg, in one call. The first leg
// is made again here, so that the LSA never takes the application's word
// for what the package sent.
func (c *conn) initializeAgain(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	if !req.Context.IsZero() {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: a token already sent comes only with a context's first call")
	}
	first := *req
	first.Token, first.SentToken = nil, nil
	r, err := c.initStep(ctx, &first)
	if err != nil {
		return nil, err
	}
	if !r.Repeatable || r.Status != secpkg.StatusContinueNeeded || !bytes.Equal(r.Token, req.SentToken) {
		c.DeleteContext(ctx, r.Context)
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: the first token the application sent is not the one the package makes for this request")
	}
	second := *req
	second.Context, second.SentToken = r.Context, nil
	r2, err := c.initStep(ctx, &second)
	if err != nil {
		// The application never learnt the context's handle.
		c.DeleteContext(ctx, r.Context)
		return nil, err
	}
	return r2, nil
}

func (c *conn) initStep(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	return c.step(ctx, &step{
		credential: req.Credential, context: req.Context, token: req.Token, canMap: req.CanMap,
	}, func(ctx context.Context, p *loadedPackage, cred, ctxt secpkg.Handle) (*secpkg.ContextResult, error) {
		return p.lsa.InitLsaModeContext(ctx, &secpkg.InitContextRequest{
			Credential: cred, Context: ctxt, Target: req.Target, Flags: req.Flags,
			DataRep: req.DataRep, Token: bytes.Clone(req.Token), Bindings: req.Bindings,
		})
	})
}

func (c *conn) AcceptContext(ctx context.Context, req *lsa.AcceptContextRequest) (*lsa.ContextReply, error) {
	return c.step(ctx, &step{
		credential: req.Credential, context: req.Context, token: req.Token, canMap: req.CanMap, server: true,
	}, func(ctx context.Context, p *loadedPackage, cred, ctxt secpkg.Handle) (*secpkg.ContextResult, error) {
		return p.lsa.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{
			Credential: cred, Context: ctxt, Flags: req.Flags,
			DataRep: req.DataRep, Token: bytes.Clone(req.Token), Bindings: req.Bindings,
		})
	})
}

func (c *conn) step(ctx context.Context, st *step, call func(context.Context, *loadedPackage, secpkg.Handle, secpkg.Handle) (*secpkg.ContextResult, error)) (*lsa.ContextReply, error) {
	e := c.e
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	var x *contextEntry
	fresh := st.context.IsZero()
	if fresh {
		x, err = c.begin(st)
	} else {
		x, err = c.continueContext(st)
	}
	if err != nil {
		return nil, err
	}
	defer x.mu.Unlock()
	// fail ends the leg with err: a failed first leg leaves nothing
	// behind (the package freed what it created, and so does the LSA);
	// a later one makes err sticky.
	fail := func(err error) (*lsa.ContextReply, error) {
		if fresh {
			x.releaseLocked(ctx, e)
		} else {
			x.err = err
		}
		return nil, err
	}
	x.legs++
	if err := e.quotas.chargeHandshake(x.uid, int64(len(st.token))); err != nil {
		return fail(err)
	}
	x.handshakeBytes += int64(len(st.token))

	res, err := call(ctx, x.pkg, x.cred.ph, x.ph)
	if err == nil {
		if err = validateResult(x.pkg, res); err != nil && res != nil && res.Context != 0 {
			x.ph, x.pkgLive = res.Context, true
		}
	}
	if err != nil {
		return fail(err)
	}
	x.ph, x.pkgLive = res.Context, true
	x.flags, x.expiry = res.Flags, res.Expiry
	done := res.Status == secpkg.StatusOK || res.Status == secpkg.StatusCompleteNeeded
	var attrs *secpkg.ContextAttributes
	if done {
		if attrs, err = x.pkg.lsa.QueryContextAttributes(ctx, x.ph); err != nil {
			return fail(err)
		}
	}
	if fresh {
		if err := c.addContext(x); err != nil {
			return fail(err)
		}
	}
	// The token leaves the LSA as a copy, as it would over a socket: the
	// package may keep its own (NTLM keeps every message for its MIC).
	reply := &lsa.ContextReply{Context: x.h, Status: res.Status, Token: bytes.Clone(res.Token), Flags: res.Flags, Expiry: res.Expiry,
		Repeatable: res.Repeatable && fresh && !st.server && res.Status == secpkg.StatusContinueNeeded}
	if done {
		x.established = true
		x.attrs = attrs
		reply.Attributes = attrs
		x.endHandshake(e)
	} else {
		// The package may keep what it sent until the next leg.
		e.quotas.addHandshake(x.uid, int64(len(res.Token)))
		x.handshakeBytes += int64(len(res.Token))
	}
	if res.Mapped && st.canMap {
		p := &lsa.Packed{PackageID: x.pkg.id, Package: x.pkg.name, Flags: res.Flags, Expiry: res.Expiry, Data: res.ContextData}
		reply.Packed = p.MarshalMapped()
		first := !x.mapped
		x.mapped = true
		// The application does the per-message work from now on; a
		// package that wants to know drops what only that work needs.
		if cm, ok := x.pkg.lsa.(secpkg.ContextMapper); ok && first {
			cm.ContextMapped(ctx, x.ph)
		}
	}
	clear(res.ContextData)
	e.log.Debug("context step", "package", x.pkg.name, "server", x.server, "leg", x.legs, "status", res.Status, "mapped", x.mapped)
	return reply, nil
}

// begin creates the entry of a new context, locked, holding a reference to
// its credentials and a handle of the caller's quota. It enters the
// connection's table once its first leg succeeds.
func (c *conn) begin(st *step) (*contextEntry, error) {
	e := c.e
	cred, err := c.holdCredentials(st.credential)
	if err != nil {
		return nil, err
	}
	want := secpkg.CredentialOutbound
	if st.server {
		want = secpkg.CredentialInbound
	}
	if cred.use&want == 0 {
		cred.drop(context.Background(), e)
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "lsa: credentials acquired for %v cannot be used here", cred.use)
	}
	if len(st.token) > e.cfg.MaxTokenSize {
		cred.drop(context.Background(), e)
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: token of %d bytes exceeds the limit of %d", len(st.token), e.cfg.MaxTokenSize)
	}
	if err := e.quotas.takeHandle(c.caller.UID); err != nil {
		cred.drop(context.Background(), e)
		return nil, err
	}
	x := &contextEntry{pkg: cred.pkg, server: st.server, uid: c.caller.UID, cred: cred, deadline: e.now().Add(e.cfg.HandshakeTimeout)}
	x.mu.Lock()
	return x, nil
}

// continueContext returns the entry of a context in progress, locked,
// after applying the limits. The context keeps the credentials it began
// with, even if their handle has been freed since; naming other
// credentials is an error.
func (c *conn) continueContext(st *step) (*contextEntry, error) {
	x, err := c.context(st.context)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	if x.server != st.server {
		x.mu.Unlock()
		return nil, errInvalidHandle(st.context)
	}
	if err := x.check(c.e, st.credential, st.token); err != nil {
		x.mu.Unlock()
		return nil, err
	}
	return x, nil
}

// check applies the limits to a continuing context. x.mu is held.
func (x *contextEntry) check(e *Engine, cred lsa.SecHandle, token []byte) error {
	if x.err != nil {
		return x.err
	}
	if x.established {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context is already established")
	}
	if !cred.IsZero() && cred != x.cred.h {
		x.err = secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "lsa: context continued with other credentials")
		return x.err
	}
	if len(token) > e.cfg.MaxTokenSize {
		x.err = secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: token of %d bytes exceeds the limit of %d", len(token), e.cfg.MaxTokenSize)
		return x.err
	}
	if x.legs >= e.cfg.MaxLegs {
		x.err = secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: handshake exceeds %d legs", e.cfg.MaxLegs)
		return x.err
	}
	if e.now().After(x.deadline) {
		x.err = secpkg.Errorf(secpkg.StatusContextExpired, "lsa: handshake did not finish within %v", e.cfg.HandshakeTimeout)
		return x.err
	}
	return nil
}

func validateResult(p *loadedPackage, res *secpkg.ContextResult) error {
	if res == nil || res.Context == 0 {
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s returned no context", p.name)
	}
	switch res.Status {
	case secpkg.StatusOK, secpkg.StatusContinueNeeded, secpkg.StatusCompleteNeeded, secpkg.StatusCompleteAndContinue:
	default:
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s returned status %v without an error", p.name, res.Status)
	}
	if len(res.Token) > maxOutputToken {
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s returned a token of %d bytes", p.name, len(res.Token))
	}
	return nil
}

func (c *conn) DeleteContext(ctx context.Context, h lsa.SecHandle) error {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return err
	}
	x, err := c.context(h)
	if err != nil {
		return err
	}
	if c.removeContext(h, x) {
		x.release(ctx, c.e)
	}
	return nil
}

// established returns a context entry, locked, that is established and
// not failed.
func (c *conn) established(h lsa.SecHandle) (*contextEntry, error) {
	x, err := c.context(h)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	switch {
	case x.err != nil:
		err = x.err
	case !x.established:
		err = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context is not established")
	case !x.pkgLive:
		err = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was released")
	}
	if err != nil {
		x.mu.Unlock()
		return nil, err
	}
	return x, nil
}

func (c *conn) ApplyControlToken(ctx context.Context, h lsa.SecHandle, input []secpkg.Buffer) error {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return err
	}
	x, err := c.context(h)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return x.err
	}
	a, ok := x.pkg.lsa.(secpkg.ControlTokenApplier)
	if !ok {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s takes no control tokens", x.pkg.name)
	}
	return a.ApplyControlToken(ctx, x.ph, input)
}

func (c *conn) ProtectMessage(ctx context.Context, req *lsa.MessageRequest) (*lsa.MessageReply, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	x, err := c.established(req.Context)
	if err != nil {
		return nil, err
	}
	defer x.mu.Unlock()
	if x.mapped {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: context is mapped into the application; protect messages there")
	}
	mp, ok := x.pkg.lsa.(secpkg.LSAMessageProtector)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s cannot protect messages in the LSA", x.pkg.name)
	}
	bufs := req.Buffers
	reply := &lsa.MessageReply{Buffers: bufs}
	switch req.Op {
	case lsa.OpMakeSignature:
		err = mp.MakeSignature(ctx, x.ph, req.QOP, bufs, req.Seq)
	case lsa.OpVerifySignature:
		reply.QOP, err = mp.VerifySignature(ctx, x.ph, bufs, req.Seq)
	case lsa.OpEncryptMessage:
		err = mp.SealMessage(ctx, x.ph, req.QOP, bufs, req.Seq)
	case lsa.OpDecryptMessage:
		reply.QOP, err = mp.UnsealMessage(ctx, x.ph, bufs, req.Seq)
	default:
		err = secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: unknown message operation %d", req.Op)
	}
	if err != nil {
		return nil, err
	}
	return reply, nil
}

func (c *conn) QuerySessionKey(ctx context.Context, h lsa.SecHandle) ([]byte, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	x, err := c.established(h)
	if err != nil {
		return nil, err
	}
	defer x.mu.Unlock()
	if x.mapped {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: context is mapped; its session key is in the application")
	}
	q, ok := x.pkg.lsa.(secpkg.SessionKeyQuerier)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s has no session key", x.pkg.name)
	}
	return q.QuerySessionKey(ctx, x.ph)
}

func (c *conn) CallPackage(ctx context.Context, h lsa.SecHandle, id uint32, input []byte) ([]byte, error) {
	ctx, err := c.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	if len(input) > c.e.cfg.MaxTokenSize {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: callback input of %d bytes exceeds the limit", len(input))
	}
	x, err := c.context(h)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return nil, x.err
	}
	cp, ok := x.pkg.lsa.(secpkg.CallPackager)
	if !ok || !x.pkgLive {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s takes no callbacks", x.pkg.name)
	}
	return cp.CallPackage(ctx, x.ph, id, input)
}

// ExportContext parks a mapped context among the engine's exports, still
// counted against its uid's handle quota, until a connection of the same
// uid imports it or ExportLifetime passes.
func (c *conn) ExportContext(ctx context.Context, h lsa.SecHandle, packed []byte) ([]byte, error) {
	if _, err := c.callCtx(ctx); err != nil {
		return nil, err
	}
	e := c.e
	x, err := c.established(h)
	if err != nil {
		return nil, err
	}
	if !x.mapped {
		x.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: only a mapped context can be exported")
	}
	p := &lsa.Packed{PackageID: x.pkg.id, Package: x.pkg.name, Flags: x.flags, Expiry: x.expiry}
	rand.Read(p.ExportID[:])
	rand.Read(p.Nonce[:])
	blob := p.SealExport(e.exportKey, packed)
	x.mu.Unlock()
	if !c.removeContext(h, x) {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was deleted")
	}
	e.exportsMu.Lock()
	if e.exports == nil {
		e.exportsMu.Unlock()
		x.release(context.Background(), e)
		return nil, secpkg.Errorf(secpkg.StatusShutdownInProgress, "lsa: shutting down")
	}
	e.exports[p.ExportID] = &pendingExport{ctx: x, uid: x.uid, deadline: e.now().Add(e.cfg.ExportLifetime)}
	e.exportsMu.Unlock()
	return blob, nil
}

func (c *conn) ImportContext(ctx context.Context, blob []byte) (*lsa.ImportReply, error) {
	if _, err := c.callCtx(ctx); err != nil {
		return nil, err
	}
	e := c.e
	p, err := lsa.ParsePacked(blob)
	if err != nil {
		return nil, err
	}
	if p.Kind != lsa.PackedExport {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: not an exported context")
	}
	payload, err := p.OpenExport(e.exportKey)
	if err != nil {
		return nil, err
	}
	e.exportsMu.Lock()
	pe, ok := e.exports[p.ExportID]
	if ok && pe.uid == c.caller.UID {
		delete(e.exports, p.ExportID)
	}
	e.exportsMu.Unlock()
	switch {
	case !ok:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: exported context was already imported or has expired")
	case pe.uid != c.caller.UID:
		return nil, secpkg.Errorf(secpkg.StatusNotOwner, "lsa: exported context belongs to another user")
	}
	// The context keeps the quota handle it held while waiting.
	x := pe.ctx
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := c.addContext(x); err != nil {
		x.releaseLocked(ctx, e)
		return nil, err
	}
	return &lsa.ImportReply{Context: x.h, Package: x.pkg.name, Packed: payload, Flags: x.flags, Attributes: x.attrs}, nil
}
