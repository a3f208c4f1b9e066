package lsarpc

import (
	"context"
	"errors"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// A handler serves one operation: it decodes the request body into the
// operation's wire type (in the connection's reader, before the frame's
// bytes are reused) and returns the call to make on the connection's
// lsa.Conn.
type handler func(body []byte) (call, error)

// A call is a decoded request. Its reply is a wire body, or nil for none.
type call func(ctx context.Context, c *serverConn) (any, error)

// none is the body of operations that take none: any map decodes into it.
type none struct{}

// op makes the handler of an operation whose request body is a Req: a
// body that does not decode is SEC_E_INVALID_PARAMETER (the connection
// stays: the frame itself was sound), an absent one the zero Req.
func op[Req any](f func(ctx context.Context, c *serverConn, req *Req) (any, error)) handler {
	return func(body []byte) (call, error) {
		req := new(Req)
		if len(body) > 0 {
			if err := decodeBody(body, req); err != nil {
				return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsarpc: malformed request body: %v", err)
			}
		}
		return func(ctx context.Context, c *serverConn) (any, error) { return f(ctx, c, req) }, nil
	}
}

// handlers are the operations of the protocol (doc/lsa-protocol.md).
var handlers = map[string]handler{
	opEnumeratePackages: op(func(ctx context.Context, c *serverConn, _ *none) (any, error) {
		ps, err := c.conn.EnumeratePackages(ctx)
		if err != nil {
			return nil, err
		}
		return toPackagesReply(ps), nil
	}),
	opAcquireCredentials: op(func(ctx context.Context, c *serverConn, b *acquireRequest) (any, error) {
		req := b.request()
		defer clearIdentity(req.Identity)
		out, err := c.conn.AcquireCredentials(ctx, req)
		if err != nil {
			return nil, err
		}
		c.handles.Add(1)
		return toCredentialsReply(out), nil
	}),
	opQueryCredentials: op(func(ctx context.Context, c *serverConn, b *handleBody) (any, error) {
		out, err := c.conn.QueryCredentials(ctx, b.Handle.handle())
		if err != nil {
			return nil, err
		}
		return toCredentialsReply(out), nil
	}),
	opFreeCredentials: op(func(ctx context.Context, c *serverConn, b *handleBody) (any, error) {
		return nil, c.dropped(c.conn.FreeCredentials(ctx, b.Handle.handle()))
	}),
	opInitializeContext: op(func(ctx context.Context, c *serverConn, b *initializeRequest) (any, error) {
		out, err := c.conn.InitializeContext(ctx, b.request())
		if err != nil {
			return nil, err
		}
		if b.Context.isZero() {
			c.handles.Add(1)
		}
		return toContextReply(out), nil
	}),
	opAcceptContext: op(func(ctx context.Context, c *serverConn, b *acceptRequest) (any, error) {
		out, err := c.conn.AcceptContext(ctx, b.request())
		if err != nil {
			return nil, err
		}
		if b.Context.isZero() {
			c.handles.Add(1)
		}
		return toContextReply(out), nil
	}),
	opDeleteContext: op(func(ctx context.Context, c *serverConn, b *handleBody) (any, error) {
		return nil, c.dropped(c.conn.DeleteContext(ctx, b.Handle.handle()))
	}),
	opApplyControlToken: op(func(ctx context.Context, c *serverConn, b *controlTokenBody) (any, error) {
		return nil, c.conn.ApplyControlToken(ctx, b.Handle.handle(), buffers(b.Buffers))
	}),
	opProtectMessage: op(func(ctx context.Context, c *serverConn, b *messageRequest) (any, error) {
		out, err := c.conn.ProtectMessage(ctx, b.request())
		if err != nil {
			return nil, err
		}
		return toMessageReply(out), nil
	}),
	opQuerySessionKey: op(func(ctx context.Context, c *serverConn, b *handleBody) (any, error) {
		k, err := c.conn.QuerySessionKey(ctx, b.Handle.handle())
		if err != nil {
			return nil, err
		}
		return &bytesBody{Data: k}, nil
	}),
	opCallPackage: op(func(ctx context.Context, c *serverConn, b *callPackageBody) (any, error) {
		out, err := c.conn.CallPackage(ctx, b.Handle.handle(), b.ID, b.Input)
		if err != nil {
			return nil, err
		}
		return &bytesBody{Data: out}, nil
	}),
	opExportContext: op(func(ctx context.Context, c *serverConn, b *exportBody) (any, error) {
		blob, err := c.conn.ExportContext(ctx, b.Handle.handle(), b.Packed)
		clear(b.Packed)
		if err := c.dropped(err); err != nil {
			return nil, err
		}
		return &bytesBody{Data: blob}, nil
	}),
	opImportContext: op(func(ctx context.Context, c *serverConn, b *bytesBody) (any, error) {
		out, err := c.conn.ImportContext(ctx, b.Data)
		if err != nil {
			return nil, err
		}
		c.handles.Add(1)
		return toImportReply(out), nil
	}),
	opLogonUser: op(func(ctx context.Context, c *serverConn, b *logonRequest) (any, error) {
		req := &lsa.LogonUserRequest{Package: b.Package, Identity: *b.Identity.identity(), Type: secpkg.LogonType(b.Type)}
		defer clearIdentity(&req.Identity)
		out, err := c.conn.LogonUser(ctx, req)
		if err != nil {
			return nil, err
		}
		return ptr(toWireLogonSession(out)), nil
	}),
	opLogonSessions: op(func(ctx context.Context, c *serverConn, _ *none) (any, error) {
		list, err := c.conn.LogonSessions(ctx)
		if err != nil {
			return nil, err
		}
		r := &sessionsReply{Sessions: make([]wireLogonSession, len(list))}
		for i := range list {
			r.Sessions[i] = toWireLogonSession(&list[i])
		}
		return r, nil
	}),
	opLogoff: op(func(ctx context.Context, c *serverConn, b *logoffBody) (any, error) {
		return nil, c.conn.Logoff(ctx, secpkg.LogonID(b.LogonID))
	}),

	opAddAccount: op(func(ctx context.Context, c *serverConn, b *accountRequest) (any, error) {
		defer clear(b.Password)
		return nil, admin(c, func(a lsa.Admin) error { return a.AddAccount(ctx, b.request()) })
	}),
	opSetPassword: op(func(ctx context.Context, c *serverConn, b *accountRequest) (any, error) {
		defer clear(b.Password)
		return nil, admin(c, func(a lsa.Admin) error { return a.SetPassword(ctx, b.request()) })
	}),
	opDeleteAccount: op(func(ctx context.Context, c *serverConn, b *accountBody) (any, error) {
		return nil, admin(c, func(a lsa.Admin) error { return a.DeleteAccount(ctx, b.Domain, b.User) })
	}),
	opUnlockAccount: op(func(ctx context.Context, c *serverConn, b *accountBody) (any, error) {
		return nil, admin(c, func(a lsa.Admin) error { return a.UnlockAccount(ctx, b.Domain, b.User) })
	}),
	opListAccounts: op(func(ctx context.Context, c *serverConn, _ *none) (any, error) {
		var list []lsa.AccountInfo
		err := admin(c, func(a lsa.Admin) (err error) { list, err = a.ListAccounts(ctx); return err })
		if err != nil {
			return nil, err
		}
		return toAccountsReply(list), nil
	}),

	opCreateRegistrationCode: op(func(ctx context.Context, c *serverConn, b *registrationCodeRequest) (any, error) {
		var out *lsa.RegistrationCodeReply
		err := admin(c, func(a lsa.Admin) (err error) { out, err = a.CreateRegistrationCode(ctx, b.request()); return err })
		if err != nil {
			return nil, err
		}
		return toRegistrationCodeReply(out), nil
	}),
	opBeginRegistration: op(func(ctx context.Context, c *serverConn, b *beginRegistrationRequest) (any, error) {
		r, ok := c.conn.(lsa.Registration)
		if !ok {
			return nil, errNoRegistration
		}
		out, err := r.BeginRegistration(ctx, b.request())
		if err != nil {
			return nil, err
		}
		c.handles.Add(1)
		return toBeginRegistrationReply(out), nil
	}),
	opFinishRegistration: op(func(ctx context.Context, c *serverConn, b *finishRegistrationRequest) (any, error) {
		r, ok := c.conn.(lsa.Registration)
		if !ok {
			return nil, errNoRegistration
		}
		err := r.FinishRegistration(ctx, b.request())
		if !errors.Is(err, secpkg.StatusInvalidHandle) {
			c.handles.Add(-1) // the registration is gone, whatever the outcome
		}
		return nil, err
	}),

	opStats: op(func(ctx context.Context, c *serverConn, b *statsRequest) (any, error) {
		m, ok := c.conn.(lsa.Monitor)
		if !ok {
			return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: this LSA reports no statistics")
		}
		out, err := m.Stats(ctx, &lsa.StatsRequest{GC: b.GC})
		if err != nil {
			return nil, err
		}
		out.Calls = c.s.calls.Load()
		return toStatsReply(out), nil
	}),
}

// decode finds an operation's handler and decodes its request body.
func (c *serverConn) decode(op string, body []byte) (call, error) {
	h, ok := handlers[op]
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: unknown operation %q", op)
	}
	return h(body)
}

// dispatch serves one call.
func (c *serverConn) dispatch(ctx context.Context, op string, body []byte) (any, error) {
	f, err := c.decode(op, body)
	if err != nil {
		return nil, err
	}
	return f(ctx, c)
}

var errNoRegistration = secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: this LSA registers no accounts")

// admin runs f on the connection's lsa.Admin face, if the LSA has one.
func admin(c *serverConn, f func(lsa.Admin) error) error {
	a, ok := c.conn.(lsa.Admin)
	if !ok {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: this LSA has no account administration")
	}
	return f(a)
}

// dropped counts a handle the connection no longer holds, if err is nil.
func (c *serverConn) dropped(err error) error {
	if err == nil {
		c.handles.Add(-1)
	}
	return err
}

func clearIdentity(id *secpkg.AuthIdentity) {
	if id != nil {
		clear(id.Password)
		if id.Packed != nil {
			clear(id.Packed.Data)
		}
	}
}

func ptr[T any](v T) *T { return &v }
