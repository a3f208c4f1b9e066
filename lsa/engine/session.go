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

type entryKind uint8

const (
	kindCredentials entryKind = iota + 1
	kindContext
)

// entry is one handle in the engine's table: a credentials handle or a
// context.
type entry struct {
	h     lsa.Handle
	kind  entryKind
	owner *session // nil while an exported context waits for import
	uid   uint32
	pkg   *loadedPackage
	ph    secpkg.Handle

	// Credentials (guarded by Engine.mu).
	refs   int // contexts using the credentials, plus one while the handle exists
	name   string
	expiry time.Time
	use    secpkg.CredentialUse

	// Context (guarded by mu).
	mu          sync.Mutex
	cred        *entry
	server      bool
	legs        int
	deadline    time.Time
	established bool
	err         error // sticky
	pkgLive     bool  // the package still holds ph
	mapped      bool
	flags       secpkg.ContextFlags
	ctxExpiry   time.Time
	attrs       *secpkg.ContextAttributes
}

func (en *entry) unfinishedPast(now time.Time) bool {
	en.mu.Lock()
	defer en.mu.Unlock()
	return !en.established && en.err == nil && now.After(en.deadline)
}

// expire fails an unfinished context whose deadline passed and frees the
// package's state for it. The handle stays until the owner deletes it, so
// that the owner learns why.
func (en *entry) expire(ctx context.Context, e *Engine) {
	if !en.mu.TryLock() {
		return // a step is running; the next sweep will see it
	}
	defer en.mu.Unlock()
	if en.established || en.err != nil {
		return
	}
	en.err = secpkg.Errorf(secpkg.StatusContextExpired, "lsa: handshake did not finish within %v", e.cfg.HandshakeTimeout)
	e.deletePackageContext(ctx, en)
}

type pendingExport struct {
	entry    *entry
	uid      uint32
	deadline time.Time
}

// session is the engine's lsa.Conn for one caller.
type session struct {
	e      *Engine
	caller secpkg.CallInfo

	mu     sync.Mutex
	closed bool
}

var errClosed = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: connection closed")

func (s *session) callCtx(ctx context.Context) (context.Context, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: %w", err)
	}
	ci := s.caller
	ci.LogonID = s.e.logons.latest(ci.UID)
	return secpkg.WithCallInfo(ctx, ci), nil
}

// newHandle enters en into the table under a fresh handle owned by s,
// within the caller's quota.
func (s *session) newHandle(en *entry) error {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return secpkg.Errorf(secpkg.StatusShutdownInProgress, "lsa: shutting down")
	}
	if e.perUID[s.caller.UID] >= e.cfg.MaxHandlesPerCaller {
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: handle quota of %d reached for uid %d", e.cfg.MaxHandlesPerCaller, s.caller.UID)
	}
	for {
		h := lsa.Handle{Epoch: e.epoch, ID: randomUint64()}
		if _, taken := e.handles[h]; !taken {
			en.h = h
			break
		}
	}
	en.owner = s
	en.uid = s.caller.UID
	e.handles[en.h] = en
	e.perUID[en.uid]++
	return nil
}

// lookup returns the entry for h if s owns it. A handle of another
// connection is reported exactly like one that does not exist.
func (s *session) lookup(h lsa.Handle, kind entryKind) (*entry, error) {
	e := s.e
	if h.Epoch != e.epoch && !h.IsZero() {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: handle %v was issued by another LSA instance", h)
	}
	e.mu.Lock()
	en, ok := e.handles[h]
	e.mu.Unlock()
	if !ok || en.owner != s || en.kind != kind {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: invalid handle %v", h)
	}
	return en, nil
}

// unlink removes en from the table; it reports false if en was not there
// (already removed by a concurrent call).
func (e *Engine) unlink(en *entry) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur, ok := e.handles[en.h]; !ok || cur != en {
		return false
	}
	delete(e.handles, en.h)
	if e.perUID[en.uid]--; e.perUID[en.uid] <= 0 {
		delete(e.perUID, en.uid)
	}
	return true
}

// dropCredRef releases one reference to credentials and frees them in the
// package when none is left.
func (e *Engine) dropCredRef(ctx context.Context, cred *entry) {
	e.mu.Lock()
	cred.refs--
	last := cred.refs == 0
	e.mu.Unlock()
	if last {
		if err := cred.pkg.lsa.FreeCredentialsHandle(ctx, cred.ph); err != nil {
			e.log.Warn("SpFreeCredentialsHandle failed", "package", cred.pkg.name, "err", err)
		}
	}
}

// deletePackageContext tells the package to drop its context. en.mu is
// held.
func (e *Engine) deletePackageContext(ctx context.Context, en *entry) {
	if !en.pkgLive {
		return
	}
	en.pkgLive = false
	if err := en.pkg.lsa.DeleteContext(ctx, en.ph); err != nil {
		e.log.Warn("SpDeleteContext failed", "package", en.pkg.name, "err", err)
	}
}

// releaseContext frees everything a context entry holds.
func (e *Engine) releaseContext(ctx context.Context, en *entry) {
	en.mu.Lock()
	e.deletePackageContext(ctx, en)
	cred := en.cred
	en.cred = nil
	en.mu.Unlock()
	if cred != nil {
		e.dropCredRef(ctx, cred)
	}
}

func (s *session) EnumeratePackages(ctx context.Context) ([]secpkg.PackageInfo, error) {
	if _, err := s.callCtx(ctx); err != nil {
		return nil, err
	}
	return s.e.Packages(), nil
}

func (s *session) AcquireCredentials(ctx context.Context, req *lsa.AcquireCredentialsRequest) (*lsa.CredentialsReply, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.e.pkg(req.Package)
	if err != nil {
		return nil, err
	}
	if req.Use&secpkg.CredentialBoth == 0 || req.Use&^(secpkg.CredentialBoth|secpkg.CredentialDefault) != 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: credential use %v", req.Use)
	}
	if err := s.e.authorize(s.caller, Access{Kind: AccessAcquireCredentials, Package: p.name, Principal: req.Principal, Use: req.Use, Explicit: req.Identity != nil}); err != nil {
		return nil, err
	}
	logon := req.LogonID
	if req.Identity == nil {
		if logon != 0 {
			if !s.e.logons.owns(logon, s.caller.UID) {
				return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: no such logon session %v", logon)
			}
		} else {
			logon = s.e.logons.latest(s.caller.UID)
		}
	}
	en := &entry{kind: kindCredentials, pkg: p, use: req.Use, refs: 1}
	if err := s.newHandle(en); err != nil {
		return nil, err
	}
	creds, err := p.lsa.AcquireCredentialsHandle(ctx, &secpkg.CredentialsRequest{
		Principal: req.Principal, Use: req.Use, LogonID: logon, Identity: req.Identity,
	})
	if err == nil && creds == nil {
		err = secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s returned no credentials", p.name)
	}
	if err != nil {
		s.e.unlink(en)
		return nil, err
	}
	en.ph, en.name, en.expiry = creds.Handle, creds.Name, creds.Expiry
	return &lsa.CredentialsReply{Handle: en.h, Package: p.name, Name: en.name, Expiry: en.expiry}, nil
}

func (s *session) QueryCredentials(ctx context.Context, h lsa.Handle) (*lsa.CredentialsReply, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	en, err := s.lookup(h, kindCredentials)
	if err != nil {
		return nil, err
	}
	creds, err := en.pkg.lsa.QueryCredentialsAttributes(ctx, en.ph)
	if err != nil {
		return nil, err
	}
	return &lsa.CredentialsReply{Handle: en.h, Package: en.pkg.name, Name: creds.Name, Expiry: creds.Expiry}, nil
}

func (s *session) FreeCredentials(ctx context.Context, h lsa.Handle) error {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return err
	}
	en, err := s.lookup(h, kindCredentials)
	if err != nil {
		return err
	}
	if s.e.unlink(en) {
		s.e.dropCredRef(ctx, en)
	}
	return nil
}

// step is what InitializeContext and AcceptContext share: one leg of a
// handshake under the engine's limits.
type step struct {
	credential, context lsa.Handle
	server              bool
	token               []byte
	canMap              bool
}

func (s *session) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	return s.step(ctx, &step{
		credential: req.Credential, context: req.Context, token: req.Token, canMap: req.CanMap,
	}, func(ctx context.Context, p *loadedPackage, cred, ctxt secpkg.Handle) (*secpkg.ContextResult, error) {
		return p.lsa.InitLsaModeContext(ctx, &secpkg.InitContextRequest{
			Credential: cred, Context: ctxt, Target: req.Target, Flags: req.Flags,
			DataRep: req.DataRep, Token: bytes.Clone(req.Token), Bindings: req.Bindings,
		})
	})
}

func (s *session) AcceptContext(ctx context.Context, req *lsa.AcceptContextRequest) (*lsa.ContextReply, error) {
	return s.step(ctx, &step{
		credential: req.Credential, context: req.Context, token: req.Token, canMap: req.CanMap, server: true,
	}, func(ctx context.Context, p *loadedPackage, cred, ctxt secpkg.Handle) (*secpkg.ContextResult, error) {
		return p.lsa.AcceptLsaModeContext(ctx, &secpkg.AcceptContextRequest{
			Credential: cred, Context: ctxt, Flags: req.Flags,
			DataRep: req.DataRep, Token: bytes.Clone(req.Token), Bindings: req.Bindings,
		})
	})
}

func (s *session) step(ctx context.Context, st *step, call func(context.Context, *loadedPackage, secpkg.Handle, secpkg.Handle) (*secpkg.ContextResult, error)) (*lsa.ContextReply, error) {
	e := s.e
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	var en *entry
	fresh := st.context.IsZero()
	if fresh {
		if en, err = s.begin(st); err != nil {
			return nil, err
		}
	} else if en, err = s.continueContext(st); err != nil {
		return nil, err
	}
	defer en.mu.Unlock()
	en.legs++

	res, err := call(ctx, en.pkg, en.cred.ph, en.ph)
	if err == nil {
		if err = validateResult(en.pkg, res); err != nil && res != nil && res.Context != 0 {
			en.ph, en.pkgLive = res.Context, true
		}
	}
	if err != nil {
		if fresh {
			// A failed first leg leaves nothing behind: the package
			// freed what it created, and so does the LSA.
			e.deletePackageContext(ctx, en)
			if e.unlink(en) {
				e.dropCredRef(ctx, en.cred)
				en.cred = nil
			}
			return nil, err
		}
		en.err = err
		return nil, err
	}
	en.ph, en.pkgLive = res.Context, true
	en.flags, en.ctxExpiry = res.Flags, res.Expiry
	// The token leaves the LSA as a copy, as it would over a socket: the
	// package may keep its own (NTLM keeps every message for its MIC).
	reply := &lsa.ContextReply{Context: en.h, Status: res.Status, Token: bytes.Clone(res.Token), Flags: res.Flags, Expiry: res.Expiry}
	if res.Status == secpkg.StatusOK || res.Status == secpkg.StatusCompleteNeeded {
		attrs, err := en.pkg.lsa.QueryContextAttributes(ctx, en.ph)
		if err != nil {
			en.err = err
			return nil, err
		}
		en.established = true
		en.attrs = attrs
		reply.Attributes = attrs
	}
	if res.Mapped && st.canMap {
		p := &lsa.Packed{PackageID: en.pkg.id, Package: en.pkg.name, Flags: res.Flags, Expiry: res.Expiry, Data: res.ContextData}
		reply.Packed = p.MarshalMapped()
		first := !en.mapped
		en.mapped = true
		// The application does the per-message work from now on; a
		// package that wants to know drops what only that work needs.
		if cm, ok := en.pkg.lsa.(secpkg.ContextMapper); ok && first {
			cm.ContextMapped(ctx, en.ph)
		}
	}
	clear(res.ContextData)
	e.log.Debug("context step", "package", en.pkg.name, "server", en.server, "leg", en.legs, "status", res.Status, "mapped", en.mapped)
	return reply, nil
}

// begin creates the entry of a new context, locked, holding a reference to
// its credentials.
func (s *session) begin(st *step) (*entry, error) {
	e := s.e
	cred, err := s.lookup(st.credential, kindCredentials)
	if err != nil {
		return nil, err
	}
	want := secpkg.CredentialOutbound
	if st.server {
		want = secpkg.CredentialInbound
	}
	if cred.use&want == 0 {
		return nil, secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "lsa: credentials acquired for %v cannot be used here", cred.use)
	}
	if len(st.token) > e.cfg.MaxTokenSize {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: token of %d bytes exceeds the limit of %d", len(st.token), e.cfg.MaxTokenSize)
	}
	en := &entry{kind: kindContext, pkg: cred.pkg, server: st.server, deadline: e.now().Add(e.cfg.HandshakeTimeout)}
	if err := s.newHandle(en); err != nil {
		return nil, err
	}
	e.mu.Lock()
	cred.refs++
	e.mu.Unlock()
	en.cred = cred
	en.mu.Lock()
	return en, nil
}

// continueContext returns the entry of a context in progress, locked,
// after applying the limits. The context keeps the credentials it began
// with, even if their handle has been freed since; naming other
// credentials is an error.
func (s *session) continueContext(st *step) (*entry, error) {
	en, err := s.lookup(st.context, kindContext)
	if err != nil {
		return nil, err
	}
	en.mu.Lock()
	if en.server != st.server {
		en.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: invalid handle %v", st.context)
	}
	if err := en.check(s.e, st.credential, st.token); err != nil {
		en.mu.Unlock()
		return nil, err
	}
	return en, nil
}

// check applies the limits to a continuing context. en.mu is held.
func (en *entry) check(e *Engine, cred lsa.Handle, token []byte) error {
	if en.err != nil {
		return en.err
	}
	if en.established {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context is already established")
	}
	if en.cred == nil {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was released")
	}
	if !cred.IsZero() && cred != en.cred.h {
		en.err = secpkg.Errorf(secpkg.StatusWrongCredentialHandle, "lsa: context continued with other credentials")
		return en.err
	}
	if len(token) > e.cfg.MaxTokenSize {
		en.err = secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: token of %d bytes exceeds the limit of %d", len(token), e.cfg.MaxTokenSize)
		return en.err
	}
	if en.legs >= e.cfg.MaxLegs {
		en.err = secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: handshake exceeds %d legs", e.cfg.MaxLegs)
		return en.err
	}
	if e.now().After(en.deadline) {
		en.err = secpkg.Errorf(secpkg.StatusContextExpired, "lsa: handshake did not finish within %v", e.cfg.HandshakeTimeout)
		return en.err
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

func (s *session) DeleteContext(ctx context.Context, h lsa.Handle) error {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return err
	}
	en, err := s.lookup(h, kindContext)
	if err != nil {
		return err
	}
	if s.e.unlink(en) {
		s.e.releaseContext(ctx, en)
	}
	return nil
}

// established returns a context entry, locked, that is established and
// not failed.
func (s *session) established(h lsa.Handle) (*entry, error) {
	en, err := s.lookup(h, kindContext)
	if err != nil {
		return nil, err
	}
	en.mu.Lock()
	switch {
	case en.err != nil:
		err = en.err
	case !en.established:
		err = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context is not established")
	case !en.pkgLive:
		err = secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was released")
	}
	if err != nil {
		en.mu.Unlock()
		return nil, err
	}
	return en, nil
}

func (s *session) ApplyControlToken(ctx context.Context, h lsa.Handle, input []secpkg.Buffer) error {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return err
	}
	en, err := s.lookup(h, kindContext)
	if err != nil {
		return err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.err != nil {
		return en.err
	}
	a, ok := en.pkg.lsa.(secpkg.ControlTokenApplier)
	if !ok {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s takes no control tokens", en.pkg.name)
	}
	return a.ApplyControlToken(ctx, en.ph, input)
}

func (s *session) ProtectMessage(ctx context.Context, req *lsa.MessageRequest) (*lsa.MessageReply, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	en, err := s.established(req.Context)
	if err != nil {
		return nil, err
	}
	defer en.mu.Unlock()
	if en.mapped {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: context is mapped into the application; protect messages there")
	}
	mp, ok := en.pkg.lsa.(secpkg.LSAMessageProtector)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s cannot protect messages in the LSA", en.pkg.name)
	}
	bufs := req.Buffers
	reply := &lsa.MessageReply{Buffers: bufs}
	switch req.Op {
	case lsa.OpMakeSignature:
		err = mp.MakeSignature(ctx, en.ph, req.QOP, bufs, req.Seq)
	case lsa.OpVerifySignature:
		reply.QOP, err = mp.VerifySignature(ctx, en.ph, bufs, req.Seq)
	case lsa.OpEncryptMessage:
		err = mp.SealMessage(ctx, en.ph, req.QOP, bufs, req.Seq)
	case lsa.OpDecryptMessage:
		reply.QOP, err = mp.UnsealMessage(ctx, en.ph, bufs, req.Seq)
	default:
		err = secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: unknown message operation %d", req.Op)
	}
	if err != nil {
		return nil, err
	}
	return reply, nil
}

func (s *session) QuerySessionKey(ctx context.Context, h lsa.Handle) ([]byte, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	en, err := s.established(h)
	if err != nil {
		return nil, err
	}
	defer en.mu.Unlock()
	if en.mapped {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: context is mapped; its session key is in the application")
	}
	q, ok := en.pkg.lsa.(secpkg.SessionKeyQuerier)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s has no session key", en.pkg.name)
	}
	return q.QuerySessionKey(ctx, en.ph)
}

func (s *session) CallPackage(ctx context.Context, h lsa.Handle, id uint32, input []byte) ([]byte, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	if len(input) > s.e.cfg.MaxTokenSize {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: callback input of %d bytes exceeds the limit", len(input))
	}
	en, err := s.lookup(h, kindContext)
	if err != nil {
		return nil, err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.err != nil {
		return nil, en.err
	}
	cp, ok := en.pkg.lsa.(secpkg.CallPackager)
	if !ok || !en.pkgLive {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s takes no callbacks", en.pkg.name)
	}
	return cp.CallPackage(ctx, en.ph, id, input)
}

func (s *session) ExportContext(ctx context.Context, h lsa.Handle, packed []byte) ([]byte, error) {
	if _, err := s.callCtx(ctx); err != nil {
		return nil, err
	}
	e := s.e
	en, err := s.established(h)
	if err != nil {
		return nil, err
	}
	if !en.mapped {
		en.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: only a mapped context can be exported")
	}
	p := &lsa.Packed{PackageID: en.pkg.id, Package: en.pkg.name, Flags: en.flags, Expiry: en.ctxExpiry}
	rand.Read(p.ExportID[:])
	rand.Read(p.Nonce[:])
	blob := p.SealExport(e.exportKey, packed)
	en.mu.Unlock()
	if !e.unlink(en) {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsa: context was deleted")
	}
	e.mu.Lock()
	en.owner = nil
	if e.closed {
		e.mu.Unlock()
		e.releaseContext(context.Background(), en)
		return nil, secpkg.Errorf(secpkg.StatusShutdownInProgress, "lsa: shutting down")
	}
	e.exports[p.ExportID] = &pendingExport{entry: en, uid: en.uid, deadline: e.now().Add(e.cfg.ExportLifetime)}
	e.mu.Unlock()
	return blob, nil
}

func (s *session) ImportContext(ctx context.Context, blob []byte) (*lsa.ImportReply, error) {
	if _, err := s.callCtx(ctx); err != nil {
		return nil, err
	}
	e := s.e
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
	e.mu.Lock()
	x, ok := e.exports[p.ExportID]
	if ok && x.uid == s.caller.UID {
		delete(e.exports, p.ExportID)
	}
	e.mu.Unlock()
	switch {
	case !ok:
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "lsa: exported context was already imported or has expired")
	case x.uid != s.caller.UID:
		return nil, secpkg.Errorf(secpkg.StatusNotOwner, "lsa: exported context belongs to another user")
	}
	en := x.entry
	if err := s.newHandle(en); err != nil {
		e.releaseContext(ctx, en)
		return nil, err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	return &lsa.ImportReply{Context: en.h, Package: en.pkg.name, Packed: payload, Flags: en.flags, Attributes: en.attrs}, nil
}

func (s *session) LogonUser(ctx context.Context, req *lsa.LogonUserRequest) (*lsa.LogonSessionInfo, error) {
	ctx, err := s.callCtx(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.e.pkg(req.Package)
	if err != nil {
		return nil, err
	}
	if err := s.e.authorize(s.caller, Access{Kind: AccessLogonUser, Package: p.name, Principal: principal(req.Identity.Domain, req.Identity.User), Explicit: true}); err != nil {
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
	info, ok := s.e.logons.info(res.LogonID, s.caller.UID)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: %s logged on without a logon session", p.name)
	}
	return &info, nil
}

func (s *session) LogonSessions(ctx context.Context) ([]lsa.LogonSessionInfo, error) {
	if _, err := s.callCtx(ctx); err != nil {
		return nil, err
	}
	return s.e.logons.list(s.caller.UID), nil
}

func (s *session) Logoff(ctx context.Context, id secpkg.LogonID) error {
	if _, err := s.callCtx(ctx); err != nil {
		return err
	}
	if !s.e.logons.remove(id, s.caller.UID) {
		return secpkg.Errorf(secpkg.StatusNoCredentials, "lsa: no such logon session %v", id)
	}
	return nil
}

// Close frees every handle the connection owns.
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	e := s.e
	var owned []*entry
	e.mu.Lock()
	delete(e.conns, s)
	for _, en := range e.handles {
		if en.owner == s {
			owned = append(owned, en)
		}
	}
	e.mu.Unlock()
	ctx := context.Background()
	// Contexts first, so that credentials lose their last references.
	for _, en := range owned {
		if en.kind == kindContext && e.unlink(en) {
			e.releaseContext(ctx, en)
		}
	}
	for _, en := range owned {
		if en.kind == kindCredentials && e.unlink(en) {
			e.dropCredRef(ctx, en)
		}
	}
	return nil
}

var _ lsa.Conn = (*session)(nil)
