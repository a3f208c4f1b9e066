package lsarpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Client is a connection to lsad: an lsa.Conn over the Unix socket. It is
// safe for concurrent use, and many calls may be in flight at once. If the
// connection breaks (lsad restarted), the next call dials again; handles
// from before are then refused, since they belonged to the old connection
// and carry the old instance's epoch.
type Client struct {
	path string
	name string

	mu     sync.Mutex
	cur    *clientConn
	closed bool
}

// DefaultSocket is where lsad listens unless configured otherwise.
const DefaultSocket = "/run/opensspi/lsad.sock"

// Dial connects to the lsad socket at path and runs the version
// handshake.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path, name: clientName()}
	cc, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.cur = cc
	return c, nil
}

func clientName() string {
	exe, _ := os.Executable()
	return fmt.Sprintf("opensspi-go pid=%d exe=%s", os.Getpid(), exe)
}

type clientConn struct {
	nc      net.Conn
	r       *bufio.Reader
	epoch   uint64
	wmu     sync.Mutex
	mu      sync.Mutex
	pending map[uint64]*pendingCall
	nextID  uint64
	done    chan struct{}
	err     error
	// drained says the server closed the connection after a notice that
	// it read no request after it (an idle connection): requests without
	// a reply may be sent again.
	drained bool

	// The replies are read by the callers waiting for them: one at a
	// time (reading), each until its own reply has come, handing the
	// others theirs; when it has its own, it hands the reading to a
	// caller still waiting (turn). A call alone on the connection thus
	// wakes no goroutine but its own.
	reading atomic.Bool
	turn    chan struct{} // buffered: the reading is free to take

	// Requests that want no reply (DeleteContext) wait in deferred, in
	// order, and go out with the next request in the same write, or at
	// the flusher's next tick: a handshake's deletes then cost lsad no
	// wake-up of their own. Guarded by wmu.
	deferred []byte
	queued   bool // on the flusher's list
}

// A pendingCall is a call awaiting its reply. The connection's reader
// decodes the reply's body into out where it lies in the read buffer (the
// decoder copies what it keeps), then sends the call's outcome on done.
type pendingCall struct {
	op   string
	out  any        // the reply body's value; nil if the call wants none
	done chan error // buffered: the reader never waits
}

// pendingPool keeps the pendingCalls of calls that received their reply
// (one given up on may still be sent to, and is left to the collector).
var pendingPool = sync.Pool{New: func() any { return &pendingCall{done: make(chan error, 1)} }}

// oneWayDelay bounds how long a request that wants no reply may wait for
// the next request to go out with it.
const oneWayDelay = 5 * time.Millisecond

// flusher sends the deferred requests that no request took along, for
// every connection of the process, every oneWayDelay while there are
// any. One ticker for all, rather than a timer armed per deferred
// request: arming a timer that becomes the process's earliest wakes the
// runtime's network poller, which cost the application about a tenth of
// its CPU in Kerberos handshakes (two deletes each).
var flusher struct {
	mu      sync.Mutex
	conns   []*clientConn
	running bool
}

// queueFlush puts cc on the flusher's list. cc.wmu is held.
func queueFlush(cc *clientConn) {
	if cc.queued {
		return
	}
	cc.queued = true
	flusher.mu.Lock()
	flusher.conns = append(flusher.conns, cc)
	if !flusher.running {
		flusher.running = true
		go flushLoop()
	}
	flusher.mu.Unlock()
}

// flushLoop is the flusher; it ends after a second without deferred
// requests.
func flushLoop() {
	t := time.NewTicker(oneWayDelay)
	defer t.Stop()
	idle := 0
	var conns []*clientConn
	for range t.C {
		flusher.mu.Lock()
		conns, flusher.conns = flusher.conns, conns[:0]
		if len(conns) == 0 {
			if idle++; idle >= int(time.Second/oneWayDelay) {
				flusher.running = false
				flusher.mu.Unlock()
				return
			}
		} else {
			idle = 0
		}
		flusher.mu.Unlock()
		for i, cc := range conns {
			cc.flushDeferred()
			conns[i] = nil
		}
	}
}

func unreachable(format string, args ...any) error {
	return secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: "+format, args...)
}

func (c *Client) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return nil, unreachable("cannot reach the LSA at %s: %v", c.path, err)
	}
	cc := &clientConn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10), pending: make(map[uint64]*pendingCall), done: make(chan struct{}), turn: make(chan struct{}, 1)}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	body, _ := encMode.Marshal(&hello{Versions: []uint32{Version}, Client: c.name})
	b, _ := marshalFrame(&request{ID: 0, Op: opHello, Body: body})
	_, werr := nc.Write(b)
	// A server that refuses the connection (its limits) says why before
	// the hello and closes: read its answer even if the write failed.
	rb, err := readFrame(cc.r, MaxFrame)
	if err != nil {
		nc.Close()
		if werr != nil {
			err = werr
		}
		return nil, unreachable("hello: %v", err)
	}
	var r reply
	var hr helloReply
	if err := decMode.Unmarshal(rb, &r); err != nil {
		nc.Close()
		return nil, unreachable("bad hello reply: %v", err)
	}
	if r.Err != nil {
		nc.Close()
		return nil, r.Err.err()
	}
	if err := decMode.Unmarshal(r.Body, &hr); err != nil || hr.Version != Version {
		nc.Close()
		return nil, unreachable("server answered hello with version %d", hr.Version)
	}
	nc.SetDeadline(time.Time{})
	cc.epoch = hr.Epoch
	cc.nextID = 1
	return cc, nil
}

// readFor reads replies, handing each to its caller, until pc has its
// own (with pc nil: never), the connection ends, or ctx is done (then it
// returns ctx's error; the connection goes on). The caller holds the
// reading.
func (cc *clientConn) readFor(ctx context.Context, pc *pendingCall) error {
	if ctx.Done() != nil {
		// A read waits for the socket: ctx's end interrupts it.
		stop := context.AfterFunc(ctx, func() { cc.nc.SetReadDeadline(aLongTimeAgo) })
		defer stop()
	}
	for pc == nil || len(pc.done) == 0 {
		err := cc.readReply()
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Set by the end of a context, this one's or an earlier
			// reader's: a frame begun stays in the read buffer.
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cc.nc.SetReadDeadline(time.Time{})
			continue
		}
		cc.die(err)
		return nil
	}
	return nil
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// readReply reads one reply and hands it to its caller. An error ends
// the connection, except a passed read deadline before a frame was
// complete.
func (cc *clientConn) readReply() error {
	b, inBuffer, err := cc.nextFrame()
	if err != nil {
		return err
	}
	var r reply
	if err = r.parse(b); err != nil {
		return err
	}
	if r.ID == 0 {
		// A notice: the server is closing the connection.
		err = errors.New("closed by the LSA")
		if r.Err != nil {
			err = r.Err.err()
			cc.drained = r.Err.Status == uint32(secpkg.StatusContextExpired)
		}
		return err
	}
	cc.mu.Lock()
	pc := cc.pending[r.ID]
	delete(cc.pending, r.ID)
	cc.mu.Unlock()
	var cerr error
	switch {
	case pc == nil:
	case r.Err != nil:
		cerr = r.Err.err()
	case pc.out != nil && len(r.Body) > 0:
		if derr := decodeBody(r.Body, pc.out); derr != nil {
			cerr = unreachable("malformed %s reply: %v", pc.op, derr)
		}
	}
	if inBuffer {
		cc.r.Discard(4 + len(b))
	}
	if pc != nil {
		pc.done <- cerr
	}
	return nil
}

// die marks the connection dead after a read error: every call waiting
// on it fails with err, and the next call dials again.
func (cc *clientConn) die(err error) {
	cc.mu.Lock()
	if cc.pending == nil {
		cc.mu.Unlock()
		return
	}
	cc.err = unreachable("connection to the LSA lost: %v", err)
	cc.pending = nil
	cc.mu.Unlock()
	close(cc.done)
	cc.nc.Close()
}

// passReading gives up the reading, to a caller still waiting for its
// reply if there is one.
func (cc *clientConn) passReading() {
	cc.reading.Store(false)
	cc.mu.Lock()
	waiting := len(cc.pending) > 0
	cc.mu.Unlock()
	if waiting {
		select {
		case cc.turn <- struct{}{}:
		default: // a turn is already offered
		}
	}
}

// readUntilEnd reads until the connection has ended (after a write failed:
// the server's notice, if it sent one, says why).
func (cc *clientConn) readUntilEnd() {
	for {
		select {
		case <-cc.done:
			return
		default:
		}
		if cc.reading.CompareAndSwap(false, true) {
			cc.readFor(context.Background(), nil)
			cc.reading.Store(false)
			return
		}
		select {
		case <-cc.done:
			return
		case <-cc.turn:
		}
	}
}

// nextFrame returns the next frame's payload: where it lies in the read
// buffer if it fits there (inBuffer: the caller discards its 4+len bytes
// once done with it), else in a buffer of its own.
func (cc *clientConn) nextFrame() (b []byte, inBuffer bool, err error) {
	hdr, err := cc.r.Peek(4)
	if err != nil {
		return nil, false, err
	}
	n, err := frameLen(hdr, MaxFrame)
	if err != nil {
		return nil, false, err
	}
	if 4+n > cc.r.Size() {
		// Begun, the frame is read to its end: a read deadline set by
		// a context's end would leave the stream in its middle.
		cc.r.Discard(4)
		b, err = readBody(wholeFrameReader{cc}, n)
		return b, false, err
	}
	if b, err = cc.r.Peek(4 + n); err != nil {
		return nil, false, err
	}
	return b[4:], true, nil
}

// wholeFrameReader reads the connection, through passed read deadlines.
type wholeFrameReader struct{ cc *clientConn }

func (w wholeFrameReader) Read(p []byte) (int, error) {
	for {
		n, err := w.cc.r.Read(p)
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		w.cc.nc.SetReadDeadline(time.Time{})
	}
}

// conn returns the live connection, dialing a new one if it broke.
func (c *Client) conn(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "lsarpc: client closed")
	}
	if c.cur != nil {
		select {
		case <-c.cur.done:
			c.cur = nil
		default:
			return c.cur, nil
		}
	}
	cc, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.cur = cc
	return cc, nil
}

// send queues one request that asks for no reply; it goes out with the
// next request, or within oneWayDelay.
func (c *Client) send(ctx context.Context, op string, in any) error {
	cc, err := c.conn(ctx)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	if cc.pending == nil {
		cc.mu.Unlock()
		return cc.err
	}
	id := cc.nextID
	cc.nextID++
	cc.mu.Unlock()
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	n := len(cc.deferred)
	if cc.deferred, err = appendRequest(cc.deferred, id, op, true, in); err != nil {
		cc.deferred = cc.deferred[:n]
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsarpc: encode %s: %v", op, err)
	}
	if len(cc.deferred) >= 16<<10 {
		cc.writeLocked(ctx, op, nil)
	} else {
		queueFlush(cc)
	}
	// A failed write closed the connection: the request had nothing left
	// to do (the server frees every handle of a closed connection).
	return nil
}

// flushDeferred writes the deferred requests that no request took along.
func (cc *clientConn) flushDeferred() {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.queued = false
	if len(cc.deferred) > 0 {
		cc.writeLocked(context.Background(), "deferred requests", nil)
	}
}

// writeRequest encodes and sends a request frame.
func (cc *clientConn) writeRequest(ctx context.Context, id uint64, op string, noReply bool, in any) error {
	bp := framePool.Get().(*[]byte)
	frame, err := appendRequest((*bp)[:0], id, op, noReply, in)
	if err != nil {
		putFrame(bp, frame)
		if errors.Is(err, errFrameTooLarge) {
			return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsarpc: %s request too large", op)
		}
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsarpc: encode %s: %v", op, err)
	}
	cc.wmu.Lock()
	err = cc.writeLocked(ctx, op, frame)
	cc.wmu.Unlock()
	putFrame(bp, frame)
	return err
}

// writeLocked sends the deferred requests and frame, in one write.
func (cc *clientConn) writeLocked(ctx context.Context, op string, frame []byte) error {
	if dl, ok := ctx.Deadline(); ok {
		cc.nc.SetWriteDeadline(dl)
	} else {
		cc.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	}
	var err error
	if len(cc.deferred) == 0 {
		_, err = cc.nc.Write(frame)
	} else {
		bufs := net.Buffers{cc.deferred, frame}
		_, err = bufs.WriteTo(cc.nc)
		cc.deferred = cc.deferred[:0]
		if cap(cc.deferred) > 64<<10 {
			cc.deferred = nil
		}
	}
	if err != nil {
		// A partial write leaves the stream unusable. If the server
		// closed it, the reader will see why (a notice, then the end);
		// otherwise close it. Either way wait until the reader has marked
		// the connection dead, so that the next call dials again.
		gone := errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
		if !gone {
			cc.nc.Close()
		}
		cc.readUntilEnd()
		if cc.drained || gone {
			// The server read none of it: it may go again.
			return errDrained
		}
		return unreachable("send %s: %v", op, err)
	}
	return nil
}

// errDrained is what write returns when the server closed the connection
// without reading the request.
var errDrained = errors.New("lsarpc: connection drained")

// call sends one request and decodes the reply body into out (if not nil).
// If the server closed the connection without reading the request (an
// idle connection), call sends it again once on a new connection.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	for attempt := 0; ; attempt++ {
		cc, err := c.conn(ctx)
		if err != nil {
			return err
		}
		pc := pendingPool.Get().(*pendingCall)
		pc.op, pc.out = op, out
		cc.mu.Lock()
		if cc.pending == nil {
			cc.mu.Unlock()
			pc.op, pc.out = "", nil
			pendingPool.Put(pc)
			<-cc.done
			if cc.drained && attempt == 0 {
				continue
			}
			return cc.err
		}
		id := cc.nextID
		cc.nextID++
		cc.pending[id] = pc
		cc.mu.Unlock()
		if err := cc.writeRequest(ctx, id, op, false, in); err != nil {
			// The reader may have taken pc (the connection ended): it is
			// not reused.
			cc.forget(id)
			if err == errDrained && attempt == 0 {
				continue
			}
			if err == errDrained {
				return cc.err
			}
			return err
		}
		again, err := cc.await(ctx, id, pc)
		if again && attempt == 0 {
			continue
		}
		return err
	}
}

// await waits for the reply to call id, reading the replies while no
// other caller does. again says the server closed the connection without
// reading the request.
func (cc *clientConn) await(ctx context.Context, id uint64, pc *pendingCall) (again bool, err error) {
	for {
		if cc.reading.CompareAndSwap(false, true) {
			rerr := cc.readFor(ctx, pc)
			cc.passReading()
			if rerr != nil {
				cc.forget(id)
				return false, secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: %s: %w", pc.op, rerr)
			}
		}
		select {
		case err := <-pc.done:
			pc.op, pc.out = "", nil
			pendingPool.Put(pc)
			return false, err
		case <-cc.turn:
		case <-cc.done:
			// The reader may have answered just before it ended.
			select {
			case err := <-pc.done:
				return false, err
			default:
			}
			return cc.drained, cc.err
		case <-ctx.Done():
			cc.forget(id)
			return false, secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: %s: %w", pc.op, ctx.Err())
		}
	}
}

func (cc *clientConn) forget(id uint64) {
	cc.mu.Lock()
	if cc.pending != nil {
		delete(cc.pending, id)
	}
	cc.mu.Unlock()
}

// Close closes the connection; lsad frees every handle it held.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cur != nil {
		c.cur.nc.Close()
		c.cur = nil
	}
	return nil
}

// EnumeratePackages is lsa.Conn.EnumeratePackages over the socket
// (EnumerateSecurityPackages).
func (c *Client) EnumeratePackages(ctx context.Context) ([]secpkg.PackageInfo, error) {
	var out packagesReply
	if err := c.call(ctx, opEnumeratePackages, nil, &out); err != nil {
		return nil, err
	}
	return out.packages(), nil
}

// AcquireCredentials is lsa.Conn.AcquireCredentials over the socket
// (AcquireCredentialsHandle).
func (c *Client) AcquireCredentials(ctx context.Context, req *lsa.AcquireCredentialsRequest) (*lsa.CredentialsReply, error) {
	var out credentialsReply
	if err := c.call(ctx, opAcquireCredentials, toAcquireRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// QueryCredentials is lsa.Conn.QueryCredentials over the socket
// (QueryCredentialsAttributes).
func (c *Client) QueryCredentials(ctx context.Context, h lsa.SecHandle) (*lsa.CredentialsReply, error) {
	var out credentialsReply
	if err := c.call(ctx, opQueryCredentials, &handleBody{Handle: toWireHandle(h)}, &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// FreeCredentials is lsa.Conn.FreeCredentials over the socket
// (FreeCredentialsHandle).
func (c *Client) FreeCredentials(ctx context.Context, h lsa.SecHandle) error {
	return c.call(ctx, opFreeCredentials, &handleBody{Handle: toWireHandle(h)}, nil)
}

// InitializeContext is lsa.Conn.InitializeContext over the socket (one
// leg of InitializeSecurityContext).
func (c *Client) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	var out contextReply
	if err := c.call(ctx, opInitializeContext, toInitializeRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// AcceptContext is lsa.Conn.AcceptContext over the socket (one leg of
// AcceptSecurityContext).
func (c *Client) AcceptContext(ctx context.Context, req *lsa.AcceptContextRequest) (*lsa.ContextReply, error) {
	var out contextReply
	if err := c.call(ctx, opAcceptContext, toAcceptRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// DeleteContext sends DeleteSecurityContext asking for no reply, saving a
// round trip per context: the context is gone for the caller either way
// (the provider never names the handle again), and a failure could only
// say the handle was already invalid. The request goes out with the next
// one, or within oneWayDelay.
func (c *Client) DeleteContext(ctx context.Context, h lsa.SecHandle) error {
	return c.send(ctx, opDeleteContext, &handleBody{Handle: toWireHandle(h)})
}

// ApplyControlToken is lsa.Conn.ApplyControlToken over the socket.
func (c *Client) ApplyControlToken(ctx context.Context, h lsa.SecHandle, input []secpkg.Buffer) error {
	return c.call(ctx, opApplyControlToken, &controlTokenBody{Handle: toWireHandle(h), Buffers: toWireBuffers(input)}, nil)
}

// ProtectMessage is lsa.Conn.ProtectMessage over the socket (the message
// functions of an unmapped context).
func (c *Client) ProtectMessage(ctx context.Context, req *lsa.MessageRequest) (*lsa.MessageReply, error) {
	var out messageReply
	if err := c.call(ctx, opProtectMessage, toMessageRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// QuerySessionKey is lsa.Conn.QuerySessionKey over the socket
// (SECPKG_ATTR_SESSION_KEY of an unmapped context).
func (c *Client) QuerySessionKey(ctx context.Context, h lsa.SecHandle) ([]byte, error) {
	var out bytesBody
	err := c.call(ctx, opQuerySessionKey, &handleBody{Handle: toWireHandle(h)}, &out)
	return out.Data, err
}

// CallPackage is lsa.Conn.CallPackage over the socket.
func (c *Client) CallPackage(ctx context.Context, h lsa.SecHandle, id uint32, input []byte) ([]byte, error) {
	var out bytesBody
	err := c.call(ctx, opCallPackage, &callPackageBody{Handle: toWireHandle(h), ID: id, Input: input}, &out)
	return out.Data, err
}

// ExportContext is lsa.Conn.ExportContext over the socket
// (ExportSecurityContext).
func (c *Client) ExportContext(ctx context.Context, h lsa.SecHandle, packed []byte) ([]byte, error) {
	var out bytesBody
	err := c.call(ctx, opExportContext, &exportBody{Handle: toWireHandle(h), Packed: packed}, &out)
	return out.Data, err
}

// ImportContext is lsa.Conn.ImportContext over the socket
// (ImportSecurityContext).
func (c *Client) ImportContext(ctx context.Context, blob []byte) (*lsa.ImportReply, error) {
	var out importReply
	if err := c.call(ctx, opImportContext, &bytesBody{Data: blob}, &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// LogonUser is lsa.Conn.LogonUser over the socket (LsaLogonUser).
func (c *Client) LogonUser(ctx context.Context, req *lsa.LogonUserRequest) (*lsa.LogonSessionInfo, error) {
	var out wireLogonSession
	in := &logonRequest{Package: req.Package, Identity: *toWireIdentity(&req.Identity), Type: uint8(req.Type)}
	if err := c.call(ctx, opLogonUser, in, &out); err != nil {
		return nil, err
	}
	info := out.info()
	return &info, nil
}

// LogonSessions is lsa.Conn.LogonSessions over the socket.
func (c *Client) LogonSessions(ctx context.Context) ([]lsa.LogonSessionInfo, error) {
	var out sessionsReply
	if err := c.call(ctx, opLogonSessions, nil, &out); err != nil {
		return nil, err
	}
	list := make([]lsa.LogonSessionInfo, len(out.Sessions))
	for i := range out.Sessions {
		list[i] = out.Sessions[i].info()
	}
	return list, nil
}

// Logoff is lsa.Conn.Logoff over the socket.
func (c *Client) Logoff(ctx context.Context, id secpkg.LogonID) error {
	return c.call(ctx, opLogoff, &logoffBody{LogonID: uint64(id)}, nil)
}

func toAccountRequest(r *lsa.AccountRequest) *accountRequest {
	return &accountRequest{Domain: r.Domain, User: r.User, Password: r.Password, Groups: r.Groups, Disabled: r.Disabled, Packages: r.Packages}
}

// AddAccount is lsa.Admin.AddAccount over the socket.
func (c *Client) AddAccount(ctx context.Context, req *lsa.AccountRequest) error {
	return c.call(ctx, opAddAccount, toAccountRequest(req), nil)
}

// SetPassword is lsa.Admin.SetPassword over the socket.
func (c *Client) SetPassword(ctx context.Context, req *lsa.AccountRequest) error {
	return c.call(ctx, opSetPassword, toAccountRequest(req), nil)
}

// DeleteAccount is lsa.Admin.DeleteAccount over the socket.
func (c *Client) DeleteAccount(ctx context.Context, domain, user string) error {
	return c.call(ctx, opDeleteAccount, &accountBody{Domain: domain, User: user}, nil)
}

// UnlockAccount is lsa.Admin.UnlockAccount over the socket.
func (c *Client) UnlockAccount(ctx context.Context, domain, user string) error {
	return c.call(ctx, opUnlockAccount, &accountBody{Domain: domain, User: user}, nil)
}

// ListAccounts is lsa.Admin.ListAccounts over the socket.
func (c *Client) ListAccounts(ctx context.Context) ([]lsa.AccountInfo, error) {
	var out accountsReply
	if err := c.call(ctx, opListAccounts, nil, &out); err != nil {
		return nil, err
	}
	return out.accounts(), nil
}

// Stats is lsa.Monitor.Stats over the socket: what lsad holds and uses.
func (c *Client) Stats(ctx context.Context, req *lsa.StatsRequest) (*lsa.StatsReply, error) {
	var in any
	if req != nil {
		in = &statsRequest{GC: req.GC}
	}
	var out statsReply
	if err := c.call(ctx, opStats, in, &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// CreateRegistrationCode is lsa.Admin.CreateRegistrationCode over the
// socket.
func (c *Client) CreateRegistrationCode(ctx context.Context, req *lsa.RegistrationCodeRequest) (*lsa.RegistrationCodeReply, error) {
	var out registrationCodeReply
	if err := c.call(ctx, opCreateRegistrationCode, toRegistrationCodeRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// BeginRegistration is lsa.Registration.BeginRegistration over the
// socket.
func (c *Client) BeginRegistration(ctx context.Context, req *lsa.BeginRegistrationRequest) (*lsa.BeginRegistrationReply, error) {
	var out beginRegistrationReply
	if err := c.call(ctx, opBeginRegistration, toBeginRegistrationRequest(req), &out); err != nil {
		return nil, err
	}
	return out.reply(), nil
}

// FinishRegistration is lsa.Registration.FinishRegistration over the
// socket.
func (c *Client) FinishRegistration(ctx context.Context, req *lsa.FinishRegistrationRequest) error {
	return c.call(ctx, opFinishRegistration, toFinishRegistrationRequest(req), nil)
}

var (
	_ lsa.Conn         = (*Client)(nil)
	_ lsa.Admin        = (*Client)(nil)
	_ lsa.Monitor      = (*Client)(nil)
	_ lsa.Registration = (*Client)(nil)
)
