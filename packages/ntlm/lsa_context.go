package ntlm

import (
	"context"
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

// lsaContext is a context in the LSA-mode half: a handshake in progress
// (client or server state) or an established session, or a failure that
// sticks until DeleteContext.
type lsaContext struct {
	mu     sync.Mutex
	client *clientState
	server *serverState
	err    error
	sess   *session
	id     *secpkg.Identity // server side: the authenticated client
}

// resume returns context h, locked, for its next leg: unless its last leg
// failed (the sticky error) or it is not awaiting one in this role, which
// fails it.
func (p *lsaPackage) resume(h secpkg.Handle, awaiting func(*lsaContext) bool, role string) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	if c.err == nil && !awaiting(c) {
		c.err = secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context is not %s", role)
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
	if c.client != nil {
		c.client.wipe()
		c.client = nil
	}
	if c.server != nil {
		c.server.wipe()
		c.server = nil
	}
	if c.sess != nil {
		c.sess.wipe()
		c.sess.deleted = true
	}
}

// DeleteContext is SpDeleteContext; it works in any state.
func (p *lsaPackage) DeleteContext(ctx context.Context, h secpkg.Handle) error {
	c, ok := p.ctxs.Delete(h)
	if !ok {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	if c.server != nil && c.server.challengeSent {
		p.forgetIssued(c.server.challenge.serverChallenge)
	}
	c.mu.Unlock()
	c.wipe()
	return nil
}

// ContextMapped implements secpkg.ContextMapper. The LSA has handed the
// context to the application, whose user-mode half signs and seals from
// now on, so the LSA-mode copy drops its session key, signing and sealing
// keys and RC4 states (about 2 KiB a context) and keeps only the names
// and the identity that SpQueryContextAttributes reports. A context the
// LSA keeps unmapped is never told, and keeps its keys for the slow path.
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

// established returns the session of an established context.
func (p *lsaPackage) established(h secpkg.Handle) (*lsaContext, error) {
	c, ok := p.ctxs.Get(h)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: no such context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		if c.err != nil {
			return nil, c.err
		}
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "ntlm: context not established")
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
	return c.sess.sessionKey()
}

// MakeSignature is the unmapped slow path of SpMakeSignature.
func (p *lsaPackage) MakeSignature(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.makeSignature(qop, msg, seq)
}

// VerifySignature is the unmapped slow path of SpVerifySignature.
func (p *lsaPackage) VerifySignature(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.verifySignature(msg, seq)
}

// SealMessage is the unmapped slow path of SpSealMessage.
func (p *lsaPackage) SealMessage(ctx context.Context, h secpkg.Handle, qop uint32, msg []secpkg.Buffer, seq uint32) error {
	c, err := p.established(h)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.seal(qop, msg, seq)
}

// UnsealMessage is the unmapped slow path of SpUnsealMessage.
func (p *lsaPackage) UnsealMessage(ctx context.Context, h secpkg.Handle, msg []secpkg.Buffer, seq uint32) (uint32, error) {
	c, err := p.established(h)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.unseal(msg, seq)
}
