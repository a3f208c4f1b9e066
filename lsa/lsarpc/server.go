package lsarpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Server serves an LSA to local clients on Unix sockets (the daemon side
// of the protocol, the LPC port of LSASS).
type Server struct {
	// Authority is the LSA the server exposes (an *engine.Engine).
	Authority lsa.Authority
	// Name is sent to clients in the hello reply ("lsad" if empty).
	Name string
	// Logger receives connection-level events (never secrets). Nil
	// discards.
	Logger *slog.Logger
	// Limits bound what callers may make the server hold.
	Limits Limits
	// Privileged reports whether a caller may use the connections held in
	// reserve (Limits.ReservedConns) and is free of the per-uid connection
	// limit: lsad says the policy's administrators. Nil means root only.
	Privileged func(secpkg.CallInfo) bool

	calls atomic.Uint64 // requests read, on every connection
	stop  chan struct{} // closed by Close: idle workers end

	wmu     sync.Mutex
	idle    []*worker    // workers waiting for a call, the latest to finish last
	workers atomic.Int64 // workers alive, busy or idle

	// The watch over calls run by their connection's reader (watch).
	imu       sync.Mutex
	inline    []*reader     // readers running a call
	watching  bool          // watchInline runs
	started   bool          // a call began inline since the last tick
	handedOff atomic.Uint64 // readings handed to a worker by the watch

	once   sync.Once
	limits Limits // Limits with defaults, fixed at the first Serve

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	nconns   int // admitted connections, hello or not
	uids     map[uint32]*uidQuota
	lns      map[net.Listener]struct{}
	closed   bool
	refused  int       // connections refused since lastWarn
	lastWarn time.Time // of a refusal
	wg       sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("lsarpc: server closed")

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) init() {
	s.once.Do(func() {
		s.limits = s.Limits.withDefaults()
		s.stop = make(chan struct{})
		s.mu.Lock()
		s.conns = make(map[*serverConn]struct{})
		s.uids = make(map[uint32]*uidQuota)
		s.lns = make(map[net.Listener]struct{})
		s.mu.Unlock()
	})
}

// Serve accepts connections on ln (a Unix socket listener) until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
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
		s.wg.Add(1) // done by the connection's end
		go s.serveConn(c)
	}
}

// Close stops the listeners, closes every connection (which frees every
// handle of every client) and waits for the connections' goroutines.
func (s *Server) Close() error {
	s.init()
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
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

func (s *Server) privileged(ci secpkg.CallInfo) bool {
	if s.Privileged != nil {
		return s.Privileged(ci)
	}
	return ci.UID == 0
}

// admit counts a new connection of caller against the limits, or says
// why it may not have one.
func (s *Server) admit(caller secpkg.CallInfo) (*uidQuota, error) {
	l := &s.limits
	priv := s.privileged(caller)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, secpkg.Errorf(secpkg.StatusShutdownInProgress, "lsarpc: the LSA is shutting down")
	}
	q := s.uids[caller.UID]
	switch {
	case !priv && s.nconns >= l.MaxConns-l.ReservedConns, priv && s.nconns >= l.MaxConns:
		return nil, secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsarpc: the LSA serves its limit of %d connections", s.nconns)
	case !priv && q != nil && q.conns >= l.MaxConnsPerUID:
		return nil, secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsarpc: uid %d holds its limit of %d connections", caller.UID, l.MaxConnsPerUID)
	}
	if q == nil {
		q = new(uidQuota)
		s.uids[caller.UID] = q
	}
	q.conns++
	s.nconns++
	return q, nil
}

// leave ends what admit began, once the connection's calls are over.
func (s *Server) leave(uid uint32, q *uidQuota) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nconns--
	if q.conns--; q.conns == 0 {
		delete(s.uids, uid)
	}
}

// refuse tells a caller over a limit why, and logs it (at most one line
// a second, with the count).
func (s *Server) refuse(nc net.Conn, caller secpkg.CallInfo, err error) {
	s.mu.Lock()
	s.refused++
	now := time.Now()
	var n int
	if now.Sub(s.lastWarn) >= time.Second {
		n, s.refused, s.lastWarn = s.refused, 0, now
	}
	s.mu.Unlock()
	if n > 0 {
		s.log().Warn("connection refused", "uid", caller.UID, "pid", caller.PID, "err", err, "refused", n)
	}
	b, _ := marshalFrame(&reply{Err: toWireError(err)})
	nc.SetWriteDeadline(now.Add(time.Second))
	nc.Write(b)
}

type serverConn struct {
	s      *Server
	l      *Limits
	nc     net.Conn
	r      *bufio.Reader
	conn   lsa.Conn
	caller secpkg.CallInfo
	q      *uidQuota
	log    *slog.Logger

	sem     chan struct{}  // a place per call running or sending its reply
	calls   sync.WaitGroup // the calls' goroutines
	handles atomic.Int64   // handles the connection holds, as far as the replies tell
	frames  uint64         // frames read (the reader's own)
	idleAt  uint64         // frames when the idle deadline was set

	wmu sync.Mutex // serializes writes
}

// readBufferSize is the read buffer of a connection: most frames fit, and
// are decoded where they lie.
const readBufferSize = 8 << 10

func (s *Server) serveConn(nc net.Conn) {
	s.init()
	log := s.log()
	caller, err := peerCredentials(nc)
	if err != nil {
		log.Warn("connection without peer credentials refused", "err", err)
		nc.Close()
		s.wg.Done()
		return
	}
	q, err := s.admit(caller)
	if err != nil {
		s.refuse(nc, caller, err)
		nc.Close()
		s.wg.Done()
		return
	}
	log = log.With("uid", caller.UID, "pid", caller.PID)
	c := &serverConn{s: s, l: &s.limits, nc: nc, r: bufio.NewReaderSize(nc, readBufferSize), caller: caller, q: q, log: log,
		sem: make(chan struct{}, s.limits.MaxCallsPerConn)}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	if err := c.hello(); err != nil {
		log.Info("connection dropped during hello", "err", err)
		c.end()
		return
	}
	c.conn = s.Authority.Connect(caller)
	c.armIdle()
	c.readLoop()
}

// readLoop reads the connection's requests and runs them, until the
// connection ends or another goroutine takes over the reading (a call
// run here outlasted inlineTicks of the watch).
//
// A call runs in the goroutine that read it when no other request is
// waiting in the read buffer: a round trip then wakes no goroutine but
// the reader, which on two cores shared with the applications halved a
// call's latency (117 to 57 µs for a call that does no work) and cut
// lsad's CPU per call by half. The watch hands the reading to a worker
// when such a call takes long (a KDC exchange, a key stretch, a store
// waiting on a lock), so that the connection's other requests do not wait
// behind it.
func (c *serverConn) readLoop() {
	s := c.s
	me := &reader{c: c, watched: -1}
	for {
		req, size, err := c.readRequest()
		if err != nil {
			switch {
			case errors.Is(err, errIdle):
				c.log.Debug("idle connection closed")
			case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
				c.log.Info("connection dropped", "err", err)
			}
			c.end()
			return
		}
		s.calls.Add(1)
		// A place on the connection, then one of the uid's: the reader
		// stops here while either is full.
		c.sem <- struct{}{}
		if err := c.q.acquire(c.l, 0, 1, time.Time{}); err != nil {
			<-c.sem
			c.q.release(size, 0)
			c.end()
			return
		}
		c.calls.Add(1)
		switch {
		case req.noReply:
			// A request nobody waits for (DeleteContext) runs here: it
			// is quick, and the frames after it, often in the same read,
			// wait only for this connection's own request.
			c.serve(req, size)
		case c.r.Buffered() > 0:
			// More requests wait: this one runs beside them.
			s.spawn(func() { c.serve(req, size) })
		default:
			s.watch(me)
			c.serve(req, size)
			if !s.unwatch(me) {
				return // the reading went on in another goroutine
			}
		}
	}
}

// end is the connection's last act, by the goroutine whose read ended
// it: it waits for the calls still running, frees every handle of the
// client and gives back the connection's place.
func (c *serverConn) end() {
	s := c.s
	c.calls.Wait()
	if c.conn != nil {
		c.conn.Close()
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.leave(c.caller.UID, c.q)
	c.nc.Close()
	s.wg.Done()
}

// inlineTick is the period of the watch over calls run by their
// connection's reader; a call is handed its own goroutine's reading after
// inlineTicks of them (so after between inlineTicks-1 and inlineTicks
// periods). Variables for tests.
var (
	inlineTick  = time.Millisecond
	inlineTicks = 2
)

// watchIdle is how many ticks without a call run inline the watch waits
// before it ends (the next such call starts it again).
const watchIdle = 100

// A reader is a goroutine reading a connection's requests (readLoop), as
// the watch sees it. Its fields are guarded by Server.imu.
type reader struct {
	c       *serverConn
	watched int  // its place in Server.inline; -1 when not there
	ticks   int  // the watch's ticks since it began its call
	gone    bool // the watch gave the reading to another goroutine
}

// watch puts r, about to run a call, under the watch.
func (s *Server) watch(r *reader) {
	s.imu.Lock()
	r.watched, r.ticks = len(s.inline), 0
	s.inline = append(s.inline, r)
	s.started = true
	if !s.watching {
		s.watching = true
		go s.watchInline()
	}
	s.imu.Unlock()
}

// unwatch takes r off the watch once its call is done; false if the watch
// gave the reading to another goroutine meanwhile.
func (s *Server) unwatch(r *reader) bool {
	s.imu.Lock()
	defer s.imu.Unlock()
	if r.gone {
		return false
	}
	s.dropWatched(r)
	return true
}

// dropWatched removes r from the watch. s.imu is held.
func (s *Server) dropWatched(r *reader) {
	last := len(s.inline) - 1
	moved := s.inline[last]
	s.inline[r.watched], moved.watched = moved, r.watched
	s.inline[last] = nil
	s.inline = s.inline[:last]
	r.watched = -1
}

// watchInline is the watch: every inlineTick it hands the reading of each
// connection whose reader has been running a call for inlineTicks to a
// worker. It ends after watchIdle ticks without such calls, or when the
// server closes.
func (s *Server) watchInline() {
	t := time.NewTicker(inlineTick)
	defer t.Stop()
	var takeOver []*serverConn
	quiet := 0
	for {
		select {
		case <-t.C:
		case <-s.stop:
			s.imu.Lock()
			s.watching = false
			s.imu.Unlock()
			return
		}
		s.imu.Lock()
		if len(s.inline) == 0 && !s.started {
			if quiet++; quiet >= watchIdle {
				s.watching = false
				s.imu.Unlock()
				return
			}
		} else {
			quiet = 0
		}
		s.started = false
		for i := 0; i < len(s.inline); {
			r := s.inline[i]
			if r.ticks++; r.ticks < inlineTicks {
				i++
				continue
			}
			s.dropWatched(r) // moves the last one to i
			r.gone = true
			takeOver = append(takeOver, r.c)
		}
		s.imu.Unlock()
		for i, c := range takeOver {
			s.handedOff.Add(1)
			s.spawn(c.readLoop)
			takeOver[i] = nil
		}
		takeOver = takeOver[:0]
	}
}

// workerIdle is how long a worker waits for the next call before it ends
// (a variable for tests).
var workerIdle = 10 * time.Second

// worker is a goroutine that serves calls one after another.
type worker struct {
	work chan func() // the next call; buffered, so that spawn never waits
}

// spawn runs f on an idle worker, or on a new one. A worker keeps the
// stack it grew for the next call: a call into the engine goes deep (the
// account store's SQLite), and growing a fresh goroutine's stack to that
// depth for every call cost lsad 15 % of its CPU. The calls in flight
// are bounded by the connections' semaphores, not here.
//
// The idle workers are a stack: the one that finished last serves the
// next call, so that after a burst the workers beyond what the steady
// load needs stay idle and end. (Handing calls to the longest idle
// worker, as a channel's queue of receivers does, keeps every worker of
// the burst alive for as long as calls come more often than workerIdle
// divided by their number.)
func (s *Server) spawn(f func()) {
	s.wmu.Lock()
	if n := len(s.idle); n > 0 {
		w := s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.wmu.Unlock()
		w.work <- f
		return
	}
	s.wmu.Unlock()
	go s.worker(&worker{work: make(chan func(), 1)}, f)
}

func (s *Server) worker(w *worker, f func()) {
	s.workers.Add(1)
	defer s.workers.Add(-1)
	idle := workerIdle
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		f()
		s.wmu.Lock()
		s.idle = append(s.idle, w)
		s.wmu.Unlock()
		t.Reset(idle)
		select {
		case f = <-w.work:
			continue
		case <-t.C:
		case <-s.stop:
		}
		// Idle too long, or the server closed: end, unless spawn took
		// this worker off the stack meanwhile and a call is on its way.
		if s.leaveIdle(w) {
			return
		}
		f = <-w.work
	}
}

// leaveIdle takes w off the idle stack; false if it was no longer there
// (spawn took it).
func (s *Server) leaveIdle(w *worker) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	i := slices.Index(s.idle, w)
	if i < 0 {
		return false
	}
	s.idle = slices.Delete(s.idle, i, i+1) // clears the slot left behind
	return true
}

var errIdle = errors.New("lsarpc: connection idle")

// armIdle sets the read deadline at which the connection is looked at
// for idleness.
func (c *serverConn) armIdle() {
	c.idleAt = c.frames
	if c.l.IdleTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.l.IdleTimeout))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

// awaitFrame waits for the first byte of the next frame. When the idle
// deadline passes on a connection that holds no handle, has no call and
// read no frame since the deadline was set, it tells the client and
// returns errIdle: the server read nothing after the notice, so the client
// may send its unanswered requests again on a new connection.
func (c *serverConn) awaitFrame() error {
	for c.r.Buffered() == 0 {
		_, err := c.r.Peek(1)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if c.frames == c.idleAt && len(c.sem) == 0 && c.handles.Load() <= 0 {
			c.send(&reply{Err: toWireError(secpkg.Errorf(secpkg.StatusContextExpired, "lsarpc: connection idle for %v", c.l.IdleTimeout))})
			return errIdle
		}
		c.armIdle()
	}
	return nil
}

// inRequest is a request read and decoded, ready to run.
type inRequest struct {
	id      uint64
	op      string
	noReply bool
	call    call  // nil if decoding failed
	err     error // why
}

// readRequest reads the next request and decodes its body into the call
// to run, with the frame's length reserved in the uid's budget (size).
func (c *serverConn) readRequest() (req *inRequest, size int64, err error) {
	if err := c.awaitFrame(); err != nil {
		return nil, 0, err
	}
	// The frame has begun: all of it must arrive within FrameTimeout.
	var deadline time.Time
	arm := func() {
		if deadline.IsZero() && c.l.FrameTimeout > 0 {
			deadline = time.Now().Add(c.l.FrameTimeout)
			c.nc.SetReadDeadline(deadline)
		}
	}
	defer func() {
		if !deadline.IsZero() && err == nil {
			c.armIdle()
		}
	}()
	if c.r.Buffered() < 4 {
		arm()
	}
	hdr, err := c.r.Peek(4)
	if err != nil {
		return nil, 0, err
	}
	n, err := frameLen(hdr, MaxFrame)
	if err != nil {
		return nil, 0, err
	}
	c.frames++
	wait := deadline
	if wait.IsZero() && c.l.FrameTimeout > 0 {
		wait = time.Now().Add(c.l.FrameTimeout)
	}
	if err := c.q.acquire(c.l, int64(n), 0, wait); err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			c.q.release(int64(n), 0)
		}
	}()
	var payload []byte
	inBuffer := 4+n <= c.r.Size()
	if inBuffer {
		// Decoded where it lies in the read buffer: the decoder copies
		// what it keeps.
		if c.r.Buffered() < 4+n {
			arm()
		}
		b, err := c.r.Peek(4 + n)
		if err != nil {
			return nil, 0, err
		}
		payload = b[4:]
	} else {
		arm()
		c.r.Discard(4)
		if payload, err = readBody(c.r, n); err != nil {
			return nil, 0, err
		}
	}
	r, err := parseRequest(payload)
	if err == nil && (r.Op == "" || r.Op == opHello || r.ID == 0) {
		err = errors.New("no op or id")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lsarpc: malformed request: %w", err)
	}
	req = &inRequest{id: r.ID, op: r.Op, noReply: r.NoReply}
	req.call, req.err = c.decode(r.Op, r.Body)
	if inBuffer {
		c.r.Discard(4 + n)
	}
	return req, int64(n), nil
}

// hello runs the version handshake: the first frame must be a hello
// naming a version the server speaks, within HelloTimeout.
func (c *serverConn) hello() error {
	if c.l.HelloTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.l.HelloTimeout))
	}
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

// send writes a reply, within WriteTimeout.
func (c *serverConn) send(r *reply) error {
	b, err := marshalFrame(r)
	if err != nil {
		b, _ = marshalFrame(&reply{ID: r.ID, Err: toWireError(secpkg.Errorf(secpkg.StatusInternalError, "lsarpc: reply too large"))})
	}
	return c.write(b)
}

func (c *serverConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.l.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.l.WriteTimeout))
	}
	_, err := c.nc.Write(b)
	return err
}

// serve runs one call and sends its reply. The request's bytes are given
// back to the budget once it is served; the reply's are charged until
// they are sent.
func (c *serverConn) serve(req *inRequest, size int64) {
	defer c.calls.Done()
	var out any
	err := req.err
	if req.call != nil {
		// A call gets a context that is never cancelled unless a
		// CallTimeout is set: given one that may be, database/sql and the
		// SQLite driver start two goroutines for each query of the
		// account store, which cost lsad 8 % of its CPU in handshakes.
		ctx := context.Background()
		if c.l.CallTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.l.CallTimeout)
			defer cancel()
		}
		out, err = req.call(ctx, c)
		req.call = nil // the request's values are garbage from here on
	}
	if req.noReply {
		c.q.release(size, 1)
		<-c.sem
		return
	}
	var werr *wireError
	if err != nil {
		werr, out = toWireError(err), nil
	}
	bp := framePool.Get().(*[]byte)
	b, err := appendReply((*bp)[:0], req.id, werr, out)
	if err != nil {
		msg := "lsarpc: reply too large"
		if !errors.Is(err, errFrameTooLarge) {
			msg = "lsarpc: encode reply: " + err.Error()
		}
		b, _ = appendReply(b[:0], req.id, toWireError(secpkg.Errorf(secpkg.StatusInternalError, "%s", msg)), nil)
	}
	out = nil
	c.q.charge(int64(len(b)))
	c.q.release(size, 0)
	if err := c.write(b); err != nil {
		c.nc.Close()
	}
	c.q.release(int64(len(b)), 1)
	putFrame(bp, b)
	<-c.sem
}
