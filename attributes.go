package sspi

import (
	"context"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Sizes returns the context's buffer sizes
// (QueryContextAttributes(SECPKG_ATTR_SIZES)).
func (c *Context) Sizes() (Sizes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return Sizes{}, err
	}
	if c.user != nil {
		return c.user.Sizes(), nil
	}
	return c.attrs.Sizes, nil
}

// StreamSizes returns the context's stream sizes
// (QueryContextAttributes(SECPKG_ATTR_STREAM_SIZES)).
func (c *Context) StreamSizes() (StreamSizes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return StreamSizes{}, err
	}
	if c.user != nil {
		return c.user.StreamSizes(), nil
	}
	return c.attrs.StreamSizes, nil
}

// SessionKey returns the context's session key
// (QueryContextAttributes(SECPKG_ATTR_SESSION_KEY)). It is a secret.
func (c *Context) SessionKey() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return nil, err
	}
	if c.user != nil {
		return c.user.SessionKey()
	}
	ctx, cancel := c.p.bg()
	defer cancel()
	return c.p.conn.QuerySessionKey(ctx, c.handle)
}

func (c *Context) attributes() (*secpkg.ContextAttributes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return nil, err
	}
	if c.attrs == nil {
		return nil, secpkg.Errorf(StatusNoContext, "sspi: %s reported no attributes", c.pkg)
	}
	return c.attrs, nil
}

// Names returns the name of the context's client
// (QueryContextAttributes(SECPKG_ATTR_NAMES)).
func (c *Context) Names() (string, error) {
	a, err := c.attributes()
	if err != nil {
		return "", err
	}
	return a.UserName, nil
}

// NativeNames returns the client and server names as the protocol knows
// them (QueryContextAttributes(SECPKG_ATTR_NATIVE_NAMES)).
func (c *Context) NativeNames() (client, server string, err error) {
	a, err := c.attributes()
	if err != nil {
		return "", "", err
	}
	return a.ClientName, a.ServerName, nil
}

// Lifespan returns when the context started and when it expires (zero:
// never) (QueryContextAttributes(SECPKG_ATTR_LIFESPAN)).
func (c *Context) Lifespan() (start, expiry time.Time, err error) {
	a, err := c.attributes()
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return a.Start, a.Expiry, nil
}

// PackageInfo returns the information of the context's package
// (QueryContextAttributes(SECPKG_ATTR_PACKAGE_INFO)).
func (c *Context) PackageInfo(ctx context.Context) (PackageInfo, error) {
	return c.p.QueryPackage(ctx, c.pkg)
}

// NegotiationInfo is SecPkgContext_NegotiationInfo: the package a
// negotiating package chose, and how far negotiation got.
type NegotiationInfo struct {
	Package PackageInfo
	State   NegotiationState
}

// NegotiationInfo returns the negotiated package
// (QueryContextAttributes(SECPKG_ATTR_NEGOTIATION_INFO)). For packages
// that negotiate nothing it is the package itself.
func (c *Context) NegotiationInfo(ctx context.Context) (NegotiationInfo, error) {
	a, err := c.attributes()
	if err != nil {
		return NegotiationInfo{}, err
	}
	name := a.NegotiatedPackage
	if name == "" {
		name = c.pkg
	}
	pi, err := c.p.QueryPackage(ctx, name)
	if err != nil {
		return NegotiationInfo{}, err
	}
	return NegotiationInfo{Package: pi, State: a.NegotiationState}, nil
}
