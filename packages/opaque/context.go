package opaque

import (
	"context"
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

// lsaContext is a context in the LSA-mode half: a handshake in progress
// (initiator or acceptor state), an established session, or a failure
// that sticks until DeleteContext.
type lsaContext struct {
	mu        sync.Mutex
	initiator *initiatorState
	acceptor  *acceptorState
	err       error
	sess      *session
	id        *secpkg.Identity // acceptor: the authenticated client
}

// resume returns context h, locked, for its next leg, unless its last leg
// failed (the sticky error) or it is not awaiting one in this role, which
// fails it.
func (p *lsaPackage) resume(h secpkg.Handle, awaiting func(*lsaContext) bool, what string) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such context")
	}
	c.mu.Lock()
	if c.err == nil && !awaiting(c) {
		c.err = secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: context is not %s", what)
	}
	if err := c.err; err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c, nil
}

func (c *lsaContext) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.initiator != nil {
		c.initiator.wipe()
		c.initiator = nil
	}
	if c.acceptor != nil {
		c.acceptor.wipe()
		c.acceptor = nil
	}
	if c.sess != nil {
		c.sess.wipe()
		c.sess.deleted = true
	}
}

// DeleteContext is SpDeleteContext; it works in any state. An acceptor
// deleted between KE2 and KE3 is a login the client did not finish: its
// failure was counted when KE2 was sent, and it is audited now.
func (p *lsaPackage) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.ctxs.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such context")
	}
	c.mu.Lock()
	if hs := c.acceptor; hs != nil && hs.login != nil && c.err == nil {
		p.lsa.Audit(ctx, secpkg.AuditEvent{Kind: secpkg.AuditLogonFailure, Principal: hs.principal(), Reason: "no KE3: " + hs.reason(), Status: secpkg.StatusLogonDenied})
	}
	c.mu.Unlock()
	c.wipe()
	return nil
}

// ContextMapped implements secpkg.ContextMapper: the application holds
// the keys from now on, so the LSA-mode copy drops them and keeps the
// names and identity that SpQueryContextAttributes reports.
func (p *lsaPackage) ContextMapped(ctx context.Context, h secpkg.Handle) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		c.sess.wipe()
		c.sess.mapped = true
	}
}

// established returns an established context.
func (p *lsaPackage) established(h secpkg.Handle) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: no such context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		if c.err != nil {
			return nil, c.err
		}
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "opaque: context not established")
	}
	return c, nil
}

// QueryContextAttributes is SpQueryContextAttributes.
func (p *lsaPackage) QueryContextAttributes(ctx context.Context, h secpkg.Handle) (*secpkg.ContextAttributes, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.attributes(c.id), nil
}

// QuerySessionKey answers SECPKG_ATTR_SESSION_KEY in the LSA.
func (p *lsaPackage) QuerySessionKey(ctx context.Context, h secpkg.Handle) ([]byte, error) {
	c, err := p.established(h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.querySessionKey()
}

// withSession runs f on the session of an established context, locked:
// the slow path of the message functions for contexts the LSA keeps.
func (p *lsaPackage) withSession(h secpkg.Handle, f func(*session) error) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c.sess)
}

// MakeSignature is the unmapped slow path of SpMakeSignature.
func (p *lsaPackage) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return p.withSession(h, func(s *session) error { return s.makeSignature(qop, msg) })
}

// VerifySignature is the unmapped slow path of SpVerifySignature.
func (p *lsaPackage) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (qop uint32, err error) {
	err = p.withSession(h, func(s *session) error { qop, err = s.verifySignature(msg); return err })
	return qop, err
}

// SealMessage is the unmapped slow path of SpSealMessage.
func (p *lsaPackage) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return p.withSession(h, func(s *session) error { return s.sealMessage(qop, msg) })
}

// UnsealMessage is the unmapped slow path of SpUnsealMessage.
func (p *lsaPackage) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (qop uint32, err error) {
	err = p.withSession(h, func(s *session) error { qop, err = s.unsealMessage(msg); return err })
	return qop, err
}

// contextFlags are the services of an established context: integrity,
// confidentiality and mutual authentication always (the keys exist and
// the server has proved itself), a connection, and replay and sequence
// detection when either side's token asked for them.
func contextFlags(clientWire, serverWire uint8) secpkg.ContextFlags {
	f := secpkg.FlagIntegrity | secpkg.FlagConfidentiality | secpkg.FlagMutualAuth | secpkg.FlagConnection
	if (clientWire|serverWire)&(wireReplayDetect|wireSequenceDetect) != 0 {
		f |= secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect
	}
	return f
}

// wireFlags encodes the replay and sequence detection a caller asked for.
func wireFlags(f secpkg.ContextFlags) uint8 {
	var w uint8
	if f&secpkg.FlagReplayDetect != 0 {
		w |= wireReplayDetect
	}
	if f&secpkg.FlagSequenceDetect != 0 {
		w |= wireSequenceDetect
	}
	return w
}
