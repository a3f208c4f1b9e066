package sspi

import (
	"bytes"
	"context"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// ClientConfig configures a client context. The zero value asks for
// nothing beyond authentication.
type ClientConfig struct {
	// Target is pszTargetName: the service principal name of the server,
	// such as "HTTP/www.example.com".
	Target string
	// Flags are the context requirements (ISC_REQ_*).
	Flags ISCFlags
	// Bindings are channel bindings (a SECBUFFER_CHANNEL_BINDINGS input),
	// or nil. See the TLS helpers in this package.
	Bindings *ChannelBindings
	// DataRep is TargetDataRep; zero means NativeDataRep.
	DataRep uint32
}

// ClientContext is the client side of a security context, established with
// InitializeSecurityContext.
type ClientContext struct {
	Context
	cred *Credentials
	cfg  ClientConfig
	// sent is the first token when it came from cred's repeatable ones:
	// the LSA holds no context yet, and the second leg carries it.
	sent []byte
}

// NewClientContext returns a client context that will authenticate with
// cred (outbound credentials) as cfg says. Nothing is sent to the LSA until
// the first call to Initialize.
func NewClientContext(cred *Credentials, cfg *ClientConfig) *ClientContext {
	c := &ClientContext{cred: cred}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.DataRep == 0 {
		c.cfg.DataRep = NativeDataRep
	}
	if cred != nil {
		c.p, c.pkg = cred.p, cred.pkg
	}
	return c
}

// Initialize runs one leg of the client's handshake
// (InitializeSecurityContext): in is the server's last token (nil on the
// first call). It returns the token to send to the server, which may be
// empty, and a status:
//
//   - StatusOK: the context is established; send out if it is not empty.
//   - StatusContinueNeeded: send out and call Initialize with the reply.
//   - StatusCompleteNeeded / StatusCompleteAndContinue: call
//     CompleteAuthToken on out first, then as above.
//
// A failure returns an error carrying a SEC_E_* Status; it is sticky, and
// only Delete frees the context.
func (c *ClientContext) Initialize(ctx context.Context, in []byte) (out []byte, status Status, err error) {
	if c.cred == nil {
		return nil, 0, secpkg.Errorf(StatusInvalidHandle, "sspi: client context has no credentials")
	}
	return c.step(func() (*lsa.ContextReply, error) {
		// c.mu is held.
		first := c.handle.IsZero()
		var key firstKey
		if first {
			key = c.firstKey()
		}
		if first && in == nil && c.sent == nil {
			if f, ok := c.cred.first(key); ok {
				c.sent = f.token
				return &lsa.ContextReply{Status: StatusContinueNeeded, Token: bytes.Clone(f.token), Flags: f.flags, Expiry: f.expiry}, nil
			}
		}
		req := &lsa.InitializeContextRequest{
			Credential: c.cred.handle,
			Context:    c.handle,
			Target:     c.cfg.Target,
			Flags:      c.cfg.Flags,
			DataRep:    c.cfg.DataRep,
			Token:      in,
			Bindings:   c.cfg.Bindings,
			CanMap:     canMap(c.pkg),
		}
		if first {
			req.SentToken = c.sent
		}
		r, err := c.p.conn.InitializeContext(ctx, req)
		switch {
		case err != nil && req.SentToken != nil:
			c.cred.forgetFirst(key) // the LSA makes another token now
		case err == nil && r.Repeatable:
			c.cred.rememberFirst(key, r)
		}
		c.sent = nil
		return r, err
	})
}

// firstKey is what the context's first token depends on besides its
// credentials. c.mu is held.
func (c *ClientContext) firstKey() firstKey {
	k := firstKey{target: c.cfg.Target, flags: c.cfg.Flags, dataRep: c.cfg.DataRep, bindings: "\x00"}
	if c.cfg.Bindings != nil {
		k.bindings = "\x01" + string(c.cfg.Bindings.GSSEncoding())
	}
	return k
}

// step runs one leg: the LSA call under the context's lock, then the
// reply applied (and the context mapped when the reply carries a packed
// context). A failure is sticky.
func (c *Context) step(call func() (*lsa.ContextReply, error)) ([]byte, Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.handshakeAllowed(); err != nil {
		return nil, 0, err
	}
	r, err := call()
	if err != nil {
		return nil, 0, c.fail(err)
	}
	if err := c.applyReply(r); err != nil {
		return nil, 0, c.fail(err)
	}
	return r.Token, r.Status, nil
}

// handshakeAllowed returns an error unless another leg may run. c.mu is
// held.
func (c *Context) handshakeAllowed() error {
	switch {
	case c.err != nil:
		return c.err
	case c.state == stateEstablished:
		return secpkg.Errorf(StatusInvalidHandle, "sspi: context is already established")
	case c.state == stateNeedComplete:
		return secpkg.Errorf(StatusInvalidHandle, "sspi: CompleteAuthToken has not been called")
	}
	return nil
}

// Target returns the target name the context was created for.
func (c *ClientContext) Target() string { return c.cfg.Target }

// Flags returns the context attributes the handshake produced so far
// (ISC_RET_*, SECPKG_ATTR_FLAGS).
func (c *ClientContext) Flags() ISCFlags {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flags.ISC()
}
