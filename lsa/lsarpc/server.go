package lsarpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Server serves an LSA engine to local clients.
type Server struct {
	// Authority is the LSA the server exposes (an *engine.Engine).
	Authority lsa.Authority
	// Name is sent to clients in the hello reply ("lsad" if empty).
	Name string
	// Logger receives connection-level events (never secrets). Nil
	// discards.
	Logger *slog.Logger
	// MaxInFlight bounds the calls one connection may have running; the
	// server stops reading from a connection that reaches it. Zero means
	// 64.
	MaxInFlight int
	// HelloTimeout bounds how long a new connection may take to say hello.
	// Zero means 10 seconds.
	HelloTimeout time.Duration
	// CallTimeout bounds each call. Zero means 2 minutes.
	CallTimeout time.Duration

	calls atomic.Uint64 // requests read, on every connection

	mu     sync.Mutex
	conns  map[*serverConn]struct{}
	lns    map[net.Listener]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("lsarpc: server closed")

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Serve accepts connections on ln (a Unix socket listener) until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.lns == nil {
		s.lns = make(map[net.Listener]struct{})
		s.conns = make(map[*serverConn]struct{})
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log().Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

// Close stops the listeners, closes every connection (which frees every
// handle of every client) and waits for the connections' goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

type serverConn struct {
	s      *Server
	nc     net.Conn
	r      *bufio.Reader
	conn   lsa.Conn
	caller secpkg.CallInfo
	log    *slog.Logger

	wmu sync.Mutex // serializes writes
}

func (s *Server) serveConn(nc net.Conn) {
	defer nc.Close()
	log := s.log()
	caller, err := peerCredentials(nc)
	if err != nil {
		log.Warn("connection without peer credentials refused", "err", err)
		return
	}
	log = log.With("uid", caller.UID, "pid", caller.PID)
	c := &serverConn{s: s, nc: nc, r: bufio.NewReaderSize(nc, 16<<10), caller: caller, log: log}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()

	helloTimeout := s.HelloTimeout
	if helloTimeout <= 0 {
		helloTimeout = 10 * time.Second
	}
	nc.SetReadDeadline(time.Now().Add(helloTimeout))
	if err := c.hello(); err != nil {
		log.Info("connection dropped during hello", "err", err)
		return
	}
	nc.SetReadDeadline(time.Time{})

	c.conn = s.Authority.Connect(caller)
	defer c.conn.Close() // frees every handle of this client

	maxInFlight := s.MaxInFlight
	if maxInFlight <= 0 {
		maxInFlight = 64
	}
	ctx, cancel := context.WithCancel(context.Background())
	work := make(chan *request)
	var workers, idle int
	var wmu sync.Mutex // guards workers and idle
	var calls sync.WaitGroup
	defer func() {
		close(work)
		cancel()
		calls.Wait()
	}()
	// Calls run on a pool of workers that lives as long as the
	// connection: a worker keeps the stack it grew, and a new one starts
	// only when every worker is busy, up to maxInFlight. The reader
	// blocks (backpressure) when all of them are.
	worker := func() {
		defer calls.Done()
		for req := range work {
			c.handle(ctx, req)
			wmu.Lock()
			idle++
			wmu.Unlock()
		}
	}
	for {
		b, err := readFrame(c.r, MaxFrame)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Info("connection dropped", "err", err)
			}
			return
		}
		req := new(request)
		if err := decMode.Unmarshal(b, req); err != nil || req.Op == "" || req.Op == opHello {
			log.Info("connection dropped: malformed request", "err", err)
			return
		}
		s.calls.Add(1)
		wmu.Lock()
		if idle > 0 {
			idle--
		} else if workers < maxInFlight {
			workers++
			calls.Add(1)
			go worker()
		}
		wmu.Unlock()
		work <- req
	}
}

// hello runs the version handshake: the first frame must be a hello
// naming version 1.
func (c *serverConn) hello() error {
	b, err := readFrame(c.r, 4096)
	if err != nil {
		return err
	}
	var req request
	if err := decMode.Unmarshal(b, &req); err != nil || req.Op != opHello {
		return fmt.Errorf("lsarpc: first frame is not a hello")
	}
	var h hello
	if err := decMode.Unmarshal(req.Body, &h); err != nil {
		return fmt.Errorf("lsarpc: bad hello: %w", err)
	}
	ok := false
	for _, v := range h.Versions {
		ok = ok || v == Version
	}
	if !ok {
		c.send(&reply{ID: req.ID, Err: &wireError{Status: uint32(secpkg.StatusUnsupportedFunction), Msg: fmt.Sprintf("lsarpc: no common protocol version (server speaks %d)", Version)}})
		return fmt.Errorf("lsarpc: client speaks versions %v", h.Versions)
	}
	name := c.s.Name
	if name == "" {
		name = "lsad"
	}
	body, _ := encMode.Marshal(&helloReply{Version: Version, Server: name, Epoch: c.s.Authority.Epoch(), UID: c.caller.UID, GID: c.caller.GID, PID: c.caller.PID})
	return c.send(&reply{ID: req.ID, Body: body})
}

func (c *serverConn) send(r *reply) error {
	b, err := marshalFrame(r)
	if err != nil {
		b, _ = marshalFrame(&reply{ID: r.ID, Err: toWireError(secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: reply too large"))})
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err = c.nc.Write(b)
	return err
}

func (c *serverConn) handle(ctx context.Context, req *request) {
	timeout := c.s.CallTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.dispatch(ctx, req)
	r := &reply{ID: req.ID}
	if err != nil {
		r.Err = toWireError(err)
	} else if out != nil {
		body, merr := encMode.Marshal(out)
		if merr != nil {
			r.Err = toWireError(secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: encode reply: %v", merr))
		} else {
			r.Body = body
		}
	}
	if err := c.send(r); err != nil {
		c.nc.Close()
	}
}

// decode unmarshals a request body, turning a bad one into
// SEC_E_INVALID_PARAMETER (the connection stays up: the frame was sound).
func decode[T any](body cbor.RawMessage) (*T, error) {
	v := new(T)
	if len(body) == 0 {
		return v, nil
	}
	if err := decMode.Unmarshal(body, v); err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsarpc: malformed request body: %v", err)
	}
	return v, nil
}

func (c *serverConn) dispatch(ctx context.Context, req *request) (any, error) {
	conn := c.conn
	switch req.Op {
	case opEnumeratePackages:
		ps, err := conn.EnumeratePackages(ctx)
		if err != nil {
			return nil, err
		}
		return toPackagesReply(ps), nil
	case opAcquireCredentials:
		b, err := decode[acquireRequest](req.Body)
		if err != nil {
			return nil, err
		}
		r := b.request()
		defer clearIdentity(r.Identity)
		out, err := conn.AcquireCredentials(ctx, r)
		if err != nil {
			return nil, err
		}
		return toCredentialsReply(out), nil
	case opQueryCredentials:
		b, err := decode[handleBody](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.QueryCredentials(ctx, b.Handle.handle())
		if err != nil {
			return nil, err
		}
		return toCredentialsReply(out), nil
	case opFreeCredentials:
		b, err := decode[handleBody](req.Body)
		if err != nil {
			return nil, err
		}
		return nil, conn.FreeCredentials(ctx, b.Handle.handle())
	case opInitializeContext:
		b, err := decode[initializeRequest](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.InitializeContext(ctx, b.request())
		if err != nil {
			return nil, err
		}
		return toContextReply(out), nil
	case opAcceptContext:
		b, err := decode[acceptRequest](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.AcceptContext(ctx, b.request())
		if err != nil {
			return nil, err
		}
		return toContextReply(out), nil
	case opDeleteContext:
		b, err := decode[handleBody](req.Body)
		if err != nil {
			return nil, err
		}
		return nil, conn.DeleteContext(ctx, b.Handle.handle())
	case opApplyControlToken:
		b, err := decode[controlTokenBody](req.Body)
		if err != nil {
			return nil, err
		}
		return nil, conn.ApplyControlToken(ctx, b.Handle.handle(), buffers(b.Buffers))
	case opProtectMessage:
		b, err := decode[messageRequest](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.ProtectMessage(ctx, b.request())
		if err != nil {
			return nil, err
		}
		return toMessageReply(out), nil
	case opQuerySessionKey:
		b, err := decode[handleBody](req.Body)
		if err != nil {
			return nil, err
		}
		k, err := conn.QuerySessionKey(ctx, b.Handle.handle())
		if err != nil {
			return nil, err
		}
		return &bytesBody{Data: k}, nil
	case opCallPackage:
		b, err := decode[callPackageBody](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.CallPackage(ctx, b.Handle.handle(), b.ID, b.Input)
		if err != nil {
			return nil, err
		}
		return &bytesBody{Data: out}, nil
	case opExportContext:
		b, err := decode[exportBody](req.Body)
		if err != nil {
			return nil, err
		}
		blob, err := conn.ExportContext(ctx, b.Handle.handle(), b.Packed)
		clear(b.Packed)
		if err != nil {
			return nil, err
		}
		return &bytesBody{Data: blob}, nil
	case opImportContext:
		b, err := decode[bytesBody](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := conn.ImportContext(ctx, b.Data)
		if err != nil {
			return nil, err
		}
		return toImportReply(out), nil
	case opLogonUser:
		b, err := decode[logonRequest](req.Body)
		if err != nil {
			return nil, err
		}
		r := &lsa.LogonUserRequest{Package: b.Package, Identity: *b.Identity.identity()}
		defer clearIdentity(&r.Identity)
		out, err := conn.LogonUser(ctx, r)
		if err != nil {
			return nil, err
		}
		w := toWireLogonSession(out)
		return &w, nil
	case opLogonSessions:
		list, err := conn.LogonSessions(ctx)
		if err != nil {
			return nil, err
		}
		r := &sessionsReply{Sessions: make([]wireLogonSession, len(list))}
		for i := range list {
			r.Sessions[i] = toWireLogonSession(&list[i])
		}
		return r, nil
	case opLogoff:
		b, err := decode[logoffBody](req.Body)
		if err != nil {
			return nil, err
		}
		return nil, conn.Logoff(ctx, secpkg.LogonID(b.LogonID))
	}
	if out, ok, err := c.dispatchAdmin(ctx, req); ok {
		return out, err
	}
	if req.Op == opStats {
		m, ok := c.conn.(lsa.Monitor)
		if !ok {
			return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: this LSA reports no statistics")
		}
		b, err := decode[statsRequest](req.Body)
		if err != nil {
			return nil, err
		}
		out, err := m.Stats(ctx, &lsa.StatsRequest{GC: b.GC})
		if err != nil {
			return nil, err
		}
		if c.s != nil {
			out.Calls = c.s.calls.Load()
		}
		return toStatsReply(out), nil
	}
	return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsarpc: unknown operation %q", req.Op)
}

func clearIdentity(id *secpkg.AuthIdentity) {
	if id != nil {
		clear(id.Password)
	}
}

// dispatchAdmin serves the account operations, if the engine's connection
// offers them; ok is false for other operations.
func (c *serverConn) dispatchAdmin(ctx context.Context, req *request) (out any, ok bool, err error) {
	admin, isAdmin := c.conn.(lsa.Admin)
	if !isAdmin {
		return nil, false, nil
	}
	switch req.Op {
	case opAddAccount, opSetPassword:
		w, err := decode[accountRequest](req.Body)
		if err != nil {
			return nil, true, err
		}
		defer clear(w.Password)
		b := &lsa.AccountRequest{Domain: w.Domain, User: w.User, Password: w.Password, Groups: w.Groups, Disabled: w.Disabled}
		if req.Op == opAddAccount {
			return nil, true, admin.AddAccount(ctx, b)
		}
		return nil, true, admin.SetPassword(ctx, b)
	case opDeleteAccount, opUnlockAccount:
		b, err := decode[accountBody](req.Body)
		if err != nil {
			return nil, true, err
		}
		if req.Op == opDeleteAccount {
			return nil, true, admin.DeleteAccount(ctx, b.Domain, b.User)
		}
		return nil, true, admin.UnlockAccount(ctx, b.Domain, b.User)
	case opListAccounts:
		list, err := admin.ListAccounts(ctx)
		if err != nil {
			return nil, true, err
		}
		return toAccountsReply(list), true, nil
	}
	return nil, false, nil
}
