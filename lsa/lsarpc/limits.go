package lsarpc

import (
	"errors"
	"sync"
	"time"
)

// Limits bound what the callers of a Server may make it hold, so that one
// local user cannot starve the others: connections (per uid, and in all
// with a reserve for privileged callers), calls running, bytes buffered,
// and the time a connection may stay idle, take over one frame or leave a
// reply unread. The zero value of each field means its default;
// a negative duration means no limit.
type Limits struct {
	// MaxConns bounds the connections of all callers. It must stay below
	// the process's open-file limit: lsad derives it from RLIMIT_NOFILE.
	// Default 4096.
	MaxConns int
	// ReservedConns of MaxConns are kept for privileged callers
	// (Server.Privileged): when the others hold MaxConns-ReservedConns,
	// only those may connect. Default 32.
	ReservedConns int
	// MaxConnsPerUID bounds the connections of one uid (privileged
	// callers are not bound by it). Default 256.
	MaxConnsPerUID int
	// MaxCallsPerConn bounds the calls of one connection that run or
	// wait to send their reply; the server stops reading the connection
	// at the limit. Default 64.
	MaxCallsPerConn int
	// MaxCallsPerUID bounds the same over all connections of a uid.
	// Default 256.
	MaxCallsPerUID int
	// MaxBytesPerUID is a uid's budget for requests being read or served
	// and replies not yet sent, over all its connections. A frame's
	// declared length is reserved before its body is read; while the
	// budget is spent the server reads no frame of the uid. At least
	// MaxFrame. Default 32 MiB.
	MaxBytesPerUID int64
	// HelloTimeout bounds the time from connecting to the hello. Default
	// 10 seconds.
	HelloTimeout time.Duration
	// FrameTimeout bounds the time from a frame's first byte to its last
	// (waiting for the budget included). Default 10 seconds.
	FrameTimeout time.Duration
	// IdleTimeout closes a connection that holds no handle and has had no
	// call for this long (at most twice this). Default 5 minutes.
	IdleTimeout time.Duration
	// WriteTimeout bounds the sending of one reply: a client that does not
	// read its replies loses its connection. Default 30 seconds.
	WriteTimeout time.Duration
	// CallTimeout cancels a call's context after this long. Zero means
	// none: a call runs to its end, and the packages bound their own work
	// (handshake deadlines, a KDC's). A context that may be cancelled
	// costs each query of the SQL account store two goroutines.
	CallTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxConns        = 4096
	DefaultReservedConns   = 32
	DefaultMaxConnsPerUID  = 256
	DefaultMaxCallsPerConn = 64
	DefaultMaxCallsPerUID  = 256
	DefaultMaxBytesPerUID  = 32 << 20
	DefaultHelloTimeout    = 10 * time.Second
	DefaultFrameTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 5 * time.Minute
	DefaultWriteTimeout    = 30 * time.Second
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0 // no limit
		}
	}
	def(&l.MaxConns, DefaultMaxConns)
	if l.ReservedConns == 0 {
		l.ReservedConns = DefaultReservedConns
	}
	l.ReservedConns = min(max(l.ReservedConns, 0), l.MaxConns-1)
	def(&l.MaxConnsPerUID, DefaultMaxConnsPerUID)
	def(&l.MaxCallsPerConn, DefaultMaxCallsPerConn)
	def(&l.MaxCallsPerUID, DefaultMaxCallsPerUID)
	if l.MaxBytesPerUID <= 0 {
		l.MaxBytesPerUID = DefaultMaxBytesPerUID
	}
	l.MaxBytesPerUID = max(l.MaxBytesPerUID, MaxFrame)
	dur(&l.HelloTimeout, DefaultHelloTimeout)
	dur(&l.FrameTimeout, DefaultFrameTimeout)
	dur(&l.IdleTimeout, DefaultIdleTimeout)
	dur(&l.WriteTimeout, DefaultWriteTimeout)
	l.CallTimeout = max(l.CallTimeout, 0)
	return l
}

// uidQuota is what the connections of one uid hold in a server.
type uidQuota struct {
	conns int // guarded by Server.mu

	mu    sync.Mutex
	calls int
	bytes int64
	wake  chan struct{} // closed when calls or bytes are released, if anyone waits
}

var errQuotaTimeout = errors.New("lsarpc: the caller's budget stayed spent for the frame timeout")

// acquire takes n bytes and c calls of the uid's budget, waiting while
// they are not available, until deadline (zero: no deadline: the calls
// that hold them end).
func (q *uidQuota) acquire(l *Limits, n int64, c int, deadline time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		q.mu.Lock()
		if (n == 0 || q.bytes+n <= l.MaxBytesPerUID) && (c == 0 || q.calls+c <= l.MaxCallsPerUID) {
			q.bytes += n
			q.calls += c
			q.mu.Unlock()
			return nil
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		wake := q.wake
		q.mu.Unlock()
		var expired <-chan time.Time
		if !deadline.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(deadline))
			}
			expired = timer.C
		}
		select {
		case <-wake:
		case <-expired:
			return errQuotaTimeout
		}
	}
}

// charge takes n bytes without waiting (a reply: its call already holds
// its place).
func (q *uidQuota) charge(n int64) {
	q.mu.Lock()
	q.bytes += n
	q.mu.Unlock()
}

// release gives n bytes and c calls back.
func (q *uidQuota) release(n int64, c int) {
	q.mu.Lock()
	q.bytes -= n
	q.calls -= c
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
	q.mu.Unlock()
}
