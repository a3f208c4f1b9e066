package kerberos

import (
	"context"
	"sync"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// lsaContext is a context in the LSA-mode half: an initiator waiting for
// the AP-REP, or an established context of either side, or a failure that
// sticks until DeleteContext.
type lsaContext struct {
	mu        sync.Mutex
	initiator bool
	err       error

	// apreq is the initiator's AP-REQ while it waits for the AP-REP.
	apreq *krb5.APReq

	established bool
	// mcfg is the context's key and first sequence numbers; msg the
	// per-message state derived from them, when messages are protected in
	// the LSA (the slow path, and the SPNEGO mechListMIC). A context that
	// is mapped into the application at once (the common case) never
	// derives its keys here. Both are nil once the context is mapped.
	mcfg           *msgConfig
	msg            *msgState
	mapped         bool
	flags          secpkg.ContextFlags
	gss            krb5.GSSFlags
	client, server krb5.Principal
	start, expiry  time.Time
	identity       *secpkg.Identity // server side: the authenticated client
}

// contextETypeOK reports whether the per-message layer can protect
// messages with a key of type e.
func contextETypeOK(e krb5.EType) bool { return kcrypto.EType(e).Supported() }

// establish derives the per-message state of the context from its key
// (RFC 4121 2: the acceptor's subkey if it sent one, else the
// initiator's subkey) and the two first sequence numbers. c.mu is held,
// or c is not shared yet.
func (c *lsaContext) establish(p *lsaPackage, key krb5.Key, acceptorSubkey bool, initiatorSeq, acceptorSeq uint32) error {
	if !contextETypeOK(key.EType()) {
		return secpkg.Errorf(secpkg.StatusAlgorithmMismatch, "kerberos: context key of type %v, which the per-message layer does not implement", key.EType())
	}
	send, recv := acceptorSeq, initiatorSeq
	if c.initiator {
		send, recv = initiatorSeq, acceptorSeq
	}
	e := kcrypto.EType(key.EType())
	b := key.Bytes()
	if len(b) != e.KeySize() {
		clear(b)
		return secpkg.Errorf(secpkg.StatusInternalError, "kerberos: %v key of %d bytes", e, len(b))
	}
	c.mcfg = &msgConfig{
		EType:          e,
		Key:            b,
		Initiator:      c.initiator,
		AcceptorSubkey: acceptorSubkey,
		SendSeq:        uint64(send),
		RecvSeq:        uint64(recv),
		Replay:         c.gss&krb5.GSSReplay != 0,
		Sequence:       c.gss&krb5.GSSSequence != 0,
		Rand:           p.lsa.Rand(),
	}
	c.established = true
	return nil
}

// state returns the per-message state, deriving it on first use. c.mu is
// held and the context is established and not mapped.
func (c *lsaContext) state() (*msgState, error) {
	if c.msg == nil {
		m, err := newMsgState(*c.mcfg)
		if err != nil {
			return nil, err
		}
		c.msg = m
		clear(c.mcfg.Key)
		c.mcfg = nil
	}
	return c.msg, nil
}

// shell is the per-message state of a context whose keys are not derived
// yet: enough to pack the context and to tell its sizes (the fields
// msgState.appendPacked and msgState.sizes read), nothing to protect a
// message with.
func (c *lsaContext) shell() *msgState {
	if c.msg != nil {
		return c.msg
	}
	cfg := c.mcfg
	m := &msgState{etype: cfg.EType, key: cfg.Key, initiator: cfg.Initiator, acceptorSubkey: cfg.AcceptorSubkey, h: cfg.EType.ChecksumSize()}
	m.send.seq = cfg.SendSeq
	m.recv.seq = newSeqState(cfg.RecvSeq, cfg.Replay, cfg.Sequence, true)
	return m
}

// keyed reports whether the LSA still holds the context's keys (it is
// established and not mapped).
func (c *lsaContext) keyed() bool { return c.msg != nil || c.mcfg != nil }

// result is the ContextResult of a leg; an established context is mapped
// with its packed context.
func (c *lsaContext) result(h secpkg.Handle, st secpkg.Status, token []byte) *secpkg.ContextResult {
	res := &secpkg.ContextResult{Context: h, Status: st, Token: token, Flags: c.flags, Expiry: c.expiry}
	if c.established && c.keyed() {
		res.Mapped = true
		res.ContextData = c.pack()
	}
	return res
}

// fail makes err sticky. c.mu is held.
func (c *lsaContext) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.wipeLocked()
}

func (c *lsaContext) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wipeLocked()
}

func (c *lsaContext) wipeLocked() {
	if c.apreq != nil {
		c.apreq.Subkey.Destroy()
		c.apreq = nil
	}
	c.dropKeys()
}

// dropKeys wipes the context's keys. c.mu is held.
func (c *lsaContext) dropKeys() {
	if c.msg != nil {
		c.msg.wipe()
		c.msg = nil
	}
	if c.mcfg != nil {
		clear(c.mcfg.Key)
		c.mcfg = nil
	}
}

// resume returns context h, locked, for its next leg, unless its last leg
// failed (the sticky error) or it is not awaiting one (which fails it).
func (p *lsaPackage) resume(h secpkg.Handle, awaiting func(*lsaContext) bool, role string) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such context")
	}
	c.mu.Lock()
	if c.err == nil && !awaiting(c) {
		c.fail(secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: context is not %s", role))
	}
	if err := c.err; err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c, nil
}

// DeleteContext is SpDeleteContext; it works in any state.
func (p *lsaPackage) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.ctxs.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such context")
	}
	c.wipe()
	return nil
}

// ContextMapped implements secpkg.ContextMapper: the application's
// user-mode half protects the messages from now on, so the LSA-mode
// copy drops the keys and keeps the names and the identity.
func (p *lsaPackage) ContextMapped(ctx context.Context, h secpkg.Handle) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mapped = true
	c.dropKeys()
}

// established returns context h, locked, if it is established and its
// messages are protected here.
func (p *lsaPackage) established(h secpkg.Handle) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such context")
	}
	c.mu.Lock()
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return nil, err
	case !c.established:
		c.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: context not established")
	case !c.keyed():
		c.mu.Unlock()
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: the context is mapped: its messages are protected in the application")
	}
	if err := c.checkExpiry(p.lsa.Now()); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c, nil
}

// checkExpiry fails once the ticket has expired (GSS_S_CONTEXT_EXPIRED).
func (c *lsaContext) checkExpiry(now time.Time) error {
	if !c.expiry.IsZero() && now.After(c.expiry) {
		return secpkg.Errorf(secpkg.StatusContextExpired, "kerberos: the context expired with its ticket at %v", c.expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

// QueryContextAttributes is SpQueryContextAttributes.
func (p *lsaPackage) QueryContextAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.ContextAttributes, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if !c.established {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: context not established")
	}
	a := &secpkg.ContextAttributes{
		UserName:          c.client.String(),
		ClientName:        c.client.String(),
		ServerName:        c.server.String(),
		Start:             c.start,
		Expiry:            c.expiry,
		NegotiatedPackage: Name,
		NegotiationState:  secpkg.NegotiationComplete,
	}
	if c.keyed() {
		m := c.shell()
		a.Sizes = m.sizes()
		a.StreamSizes = m.streamSizes()
	}
	if c.identity != nil {
		id := *c.identity
		a.Identity = &id
	}
	return a, nil
}

// QuerySessionKey answers SECPKG_ATTR_SESSION_KEY in the LSA: the
// context key (the acceptor's subkey if it sent one, else the
// initiator's), as Windows and MIT's GSS_C_INQ_SSPI_SESSION_KEY report.
func (p *lsaPackage) QuerySessionKey(ctx context.Context, h secpkg.Handle) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return append([]byte(nil), c.shell().key...), nil
}

// MakeSignature is the unmapped slow path of SpMakeSignature.
func (p *lsaPackage) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return err
	}
	return m.makeSignature(qop, msg)
}

// VerifySignature is the unmapped slow path of SpVerifySignature.
func (p *lsaPackage) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return 0, err
	}
	return m.verifySignature(msg)
}

// SealMessage is the unmapped slow path of SpSealMessage.
func (p *lsaPackage) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return err
	}
	return m.sealMessage(qop, msg)
}

// UnsealMessage is the unmapped slow path of SpUnsealMessage.
func (p *lsaPackage) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return 0, err
	}
	return unseal(m, msg)
}

// MakeMechListMIC implements secpkg.MechListMICer: GSS_GetMIC over the
// SPNEGO mechList with the context's sending state (RFC 4178 5), which
// takes the next sequence number as MIT's SPNEGO does.
func (p *lsaPackage) MakeMechListMIC(ctx context.Context, h secpkg.Handle, mechList []byte) ([]byte, []byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, nil, err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return nil, nil, err
	}
	mic, err := m.getMIC(mechList)
	if err != nil {
		return nil, nil, err
	}
	return mic, c.pack(), nil
}

// VerifyMechListMIC implements secpkg.MechListMICer: GSS_VerifyMIC of the
// peer's mechListMIC. A MIC that does not verify leaves the context as it
// was and fails with SEC_E_MESSAGE_ALTERED.
func (p *lsaPackage) VerifyMechListMIC(ctx context.Context, h secpkg.Handle, mechList, mic []byte) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	m, err := c.state()
	if err != nil {
		return nil, err
	}
	if err := m.verifyMIC(mechList, mic); err != nil {
		if st := secpkg.StatusOf(err); st != secpkg.StatusMessageAltered {
			err = secpkg.Errorf(secpkg.StatusMessageAltered, "kerberos: mechListMIC: %w", err)
		}
		return nil, err
	}
	return c.pack(), nil
}

// MechListMICRequired implements secpkg.MechListMICer: Kerberos makes the
// mechListMIC mandatory only when it was not the initiator's first
// choice, which Negotiate decides (RFC 4178 5).
func (p *lsaPackage) MechListMICRequired(ctx context.Context, h secpkg.Handle) (bool, error) {
	if _, ok := p.ctxs.Get(h); !ok {
		return false, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: no such context")
	}
	return false, nil
}
