package sspi

import (
	"context"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// ServerConfig configures a server context. The zero value asks for
// nothing beyond authentication.
type ServerConfig struct {
	// Flags are the context requirements (ASC_REQ_*).
	Flags ASCFlags
	// Bindings are the channel bindings of the connection the client came
	// over, or nil. When set, packages require the client's bindings to
	// match (unless Flags has ASCReqAllowMissingBindings).
	Bindings *ChannelBindings
	// DataRep is TargetDataRep; zero means NativeDataRep.
	DataRep uint32
}

// ServerContext is the server side of a security context, established with
// AcceptSecurityContext.
type ServerContext struct {
	Context
	cred *Credentials
	cfg  ServerConfig
}

// NewServerContext returns a server context that accepts clients with cred
// (inbound credentials) as cfg says.
func NewServerContext(cred *Credentials, cfg *ServerConfig) *ServerContext {
	c := &ServerContext{cred: cred}
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

// Accept runs one leg of the server's handshake (AcceptSecurityContext): in
// is the client's last token. It returns the token to send back, which may
// be empty, and a status with the meanings documented at
// [ClientContext.Initialize]. A failure is sticky.
func (c *ServerContext) Accept(ctx context.Context, in []byte) (out []byte, status Status, err error) {
	if c.cred == nil {
		return nil, 0, secpkg.Errorf(StatusInvalidHandle, "sspi: server context has no credentials")
	}
	return c.step(func() (*lsa.ContextReply, error) {
		return c.p.conn.AcceptContext(ctx, &lsa.AcceptContextRequest{
			Credential: c.cred.handle,
			Context:    c.handle,
			Flags:      c.cfg.Flags,
			DataRep:    c.cfg.DataRep,
			Token:      in,
			Bindings:   c.cfg.Bindings,
			CanMap:     canMap(c.pkg),
		})
	})
}

// Flags returns the context attributes the handshake produced so far
// (ASC_RET_*, SECPKG_ATTR_FLAGS).
func (c *ServerContext) Flags() ASCFlags {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flags.ASC()
}

// Identity returns who the client proved to be. It fails until the
// context is established. Authentication gives an identity; what the
// client may do is the application's decision.
func (c *ServerContext) Identity() (*Identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return nil, err
	}
	if c.attrs == nil || c.attrs.Identity == nil {
		return nil, secpkg.Errorf(StatusNoContext, "sspi: %s reported no identity", c.pkg)
	}
	id := *c.attrs.Identity
	id.Groups = append([]string(nil), id.Groups...)
	return &id, nil
}
