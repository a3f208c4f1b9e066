package sspinet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensspi/sspi"
)

// Frame layout (doc/sspinet.md): version, type, 32-bit big-endian payload
// length, payload.
const (
	frameVersion = 1
	headerLen    = 6

	frameToken   = 0x01 // a handshake token
	frameDone    = 0x02 // the server finished the handshake; payload: its last token, maybe empty
	frameError   = 0x03 // the handshake failed; payload: 32-bit status, then text
	frameRecords = 0x04 // the client's record protection, first; payload: one byte, a RecordProtection
	frameRecord  = 0x10 // a protected record

	recordData  = 0x00 // record content: application data
	recordClose = 0x01 // record content: close_notify, no more data
)

// Conn is an authenticated connection. It implements net.Conn; Read and
// Write run the handshake first if it has not run yet. A Conn is safe for
// concurrent use by one reader and one writer (and any number of calls to
// Close and the deadline methods).
type Conn struct {
	conn     net.Conn
	cfg      *Config
	isClient bool
	ln       *listener // the listener that accepted a server connection, if any

	hsMu     sync.Mutex
	hsDone   atomic.Bool
	hsErr    error
	hsCancel atomic.Pointer[context.CancelFunc] // ends the handshake in progress
	ctx      *sspi.Context                      // the established context
	aead     *recordAEAD                        // RecordsSessionKey
	client   *sspi.ClientContext
	server   *sspi.ServerContext
	id       *sspi.Identity
	cred     *sspi.Credentials // acquired for this connection alone, freed at Close
	state    ConnectionState

	rmu     sync.Mutex
	inBuf   []byte // holds rawIn
	rawIn   []byte // bytes read from conn, not yet a whole frame (a window of inBuf)
	pending []byte // plaintext not yet returned by Read
	rerr    error  // sticky read error
	eof     bool

	wmu     sync.Mutex
	werr    error        // sticky write error
	wbuf    []byte       // record plaintext being sealed
	unsent  []byte       // the rest of a frame a write deadline interrupted
	wdl     atomic.Int64 // write deadline, Unix nanoseconds; 0 = none
	closing atomic.Bool
}

// ConnectionState describes an established connection
// (tls.ConnectionState's counterpart).
type ConnectionState struct {
	Package     string           // the security package
	Negotiated  string           // the package a negotiating package chose
	Mapped      bool             // per-message work runs in this process
	Records     RecordProtection // how records are protected
	ClientFlags sspi.ISCFlags    // on a client, the context's ISC_RET_* flags
	ServerFlags sspi.ASCFlags    // on a server, the context's ASC_RET_* flags
	Identity    *sspi.Identity   // on a server, who the client is
	Target      string           // on a client, the target name asked for
	Sizes       sspi.Sizes
}

// Client returns a client-side connection over conn.
func Client(conn net.Conn, cfg *Config) *Conn {
	return &Conn{conn: conn, cfg: cfg, isClient: true}
}

// Server returns a server-side connection over conn.
func Server(conn net.Conn, cfg *Config) *Conn {
	return &Conn{conn: conn, cfg: cfg}
}

// Dial connects to addr and runs the client handshake.
func Dial(ctx context.Context, network, addr string, cfg *Config) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := Client(nc, cfg)
	if err := c.Handshake(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines. A Read or Write that
// times out can be retried after the deadline is extended.
func (c *Conn) SetDeadline(t time.Time) error {
	c.noteWriteDeadline(t)
	return c.conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline. A Write that times out has
// committed the records it sealed (they go out before anything else, on
// the next Write or Close), so it can be retried with the rest.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.noteWriteDeadline(t)
	return c.conn.SetWriteDeadline(t)
}

func (c *Conn) noteWriteDeadline(t time.Time) {
	if t.IsZero() {
		c.wdl.Store(0)
	} else {
		c.wdl.Store(t.UnixNano())
	}
}

// writeDeadlinePassed reports whether the write deadline is in the past,
// so that Write can fail before it seals anything.
func (c *Conn) writeDeadlinePassed() bool {
	d := c.wdl.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Identity returns who the client proved to be, on a server connection
// whose handshake is complete.
func (c *Conn) Identity() (*sspi.Identity, error) {
	if !c.hsDone.Load() || c.hsErr != nil {
		return nil, errors.New("sspinet: handshake not complete")
	}
	if c.id == nil {
		return nil, errors.New("sspinet: a client connection has no peer identity")
	}
	id := *c.id
	return &id, nil
}

// ConnectionState returns what the handshake established (the zero value
// before it completes).
func (c *Conn) ConnectionState() ConnectionState {
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	return c.state
}

// appendFrame appends a frame of typ holding payload to b.
func appendFrame(b []byte, typ byte, payload []byte) []byte {
	b = append(b, frameVersion, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func (c *Conn) writeFrame(typ byte, payload []byte) error {
	_, err := c.conn.Write(appendFrame(make([]byte, 0, headerLen+len(payload)), typ, payload))
	return err
}

// readFrame returns the next whole frame, keeping a partial one across a
// timeout so that a later Read resumes where this one stopped.
// c.rmu is held (or the handshake, which no Read runs concurrently with).
func (c *Conn) readFrame(limit int) (typ byte, payload []byte, err error) {
	for {
		if len(c.rawIn) >= headerLen {
			if c.rawIn[0] != frameVersion {
				return 0, nil, protocolError("sspinet: frame version %d, want %d", c.rawIn[0], frameVersion)
			}
			n := binary.BigEndian.Uint32(c.rawIn[2:])
			if uint64(n) > uint64(limit) {
				return 0, nil, protocolError("sspinet: frame of %d bytes exceeds the limit of %d", n, limit)
			}
			if total := headerLen + int(n); len(c.rawIn) >= total {
				typ, payload = c.rawIn[1], c.rawIn[headerLen:total]
				c.rawIn = c.rawIn[total:]
				return typ, payload, nil
			}
		}
		need := headerLen
		if len(c.rawIn) >= headerLen {
			need = headerLen + int(binary.BigEndian.Uint32(c.rawIn[2:]))
		}
		c.makeRoom(need)
		n, rerr := c.conn.Read(c.rawIn[len(c.rawIn):cap(c.rawIn)])
		c.rawIn = c.rawIn[:len(c.rawIn)+n]
		if rerr != nil {
			if n > 0 && errors.Is(rerr, io.EOF) {
				continue
			}
			if errors.Is(rerr, io.EOF) && len(c.rawIn) > 0 {
				rerr = io.ErrUnexpectedEOF
			}
			return 0, nil, rerr
		}
	}
}

// makeRoom makes c.rawIn able to grow to need bytes without moving: the
// window moves to the front of c.inBuf, which grows if it must. Frames
// are consumed from the front, so the buffer is reused from record to
// record. c.rmu is held (or the handshake runs).
func (c *Conn) makeRoom(need int) {
	if len(c.rawIn) == 0 {
		c.rawIn = c.inBuf[:0]
	}
	if cap(c.rawIn) >= need {
		return
	}
	if cap(c.inBuf) < need {
		c.inBuf = make([]byte, max(need, 16<<10))
	}
	n := copy(c.inBuf[:cap(c.inBuf)], c.rawIn)
	c.rawIn = c.inBuf[:n]
}

// isTimeout reports whether err is a deadline that a later call may
// outlive.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Read reads application data, after running the handshake if needed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(context.Background()); err != nil {
		return 0, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(b) == 0 {
			return 0, nil
		}
		if err := c.readRecord(); err != nil {
			if !isTimeout(err) {
				c.rerr = err
			}
			return 0, err
		}
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// readRecord reads and opens one record into c.pending. c.rmu is held.
func (c *Conn) readRecord() error {
	typ, payload, err := c.readFrame(c.cfg.maxRecord() + 1024)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The peer closed without close_notify: the data may have
			// been cut short.
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if typ != frameRecord {
		return protocolError("sspinet: unexpected frame type %#x after the handshake", typ)
	}
	pt, err := c.open(payload)
	if err != nil {
		return err
	}
	if len(pt) == 0 {
		return protocolError("sspinet: empty record")
	}
	switch pt[0] {
	case recordData:
		if len(pt)-1 > c.cfg.maxRecord() {
			return protocolError("sspinet: record exceeds the size limit")
		}
		c.pending = pt[1:]
		return nil
	case recordClose:
		if len(pt) != 1 {
			return protocolError("sspinet: malformed close_notify")
		}
		return io.EOF
	}
	return protocolError("sspinet: unknown record content %#x", pt[0])
}

// Write writes application data in records of at most MaxRecordSize
// bytes, after running the handshake if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(context.Background()); err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.closing.Load() {
		return 0, net.ErrClosed
	}
	if err := c.flushUnsent(); err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		if c.writeDeadlinePassed() {
			return n, os.ErrDeadlineExceeded
		}
		chunk := b[:min(len(b), c.cfg.maxRecord())]
		if err := c.writeRecord(recordData, chunk); err != nil {
			if isTimeout(err) {
				// The record is sealed and partly sent; the rest goes
				// out first next time. Its data counts as written.
				n += len(chunk)
			}
			return n, err
		}
		n += len(chunk)
		b = b[len(chunk):]
	}
	return n, nil
}

// flushUnsent sends the rest of a frame a deadline interrupted. c.wmu is
// held.
func (c *Conn) flushUnsent() error {
	if len(c.unsent) == 0 {
		return nil
	}
	n, err := c.conn.Write(c.unsent)
	c.unsent = c.unsent[n:]
	if err != nil && !isTimeout(err) {
		c.werr = err
	}
	return err
}

// writeRecord seals and sends one record. c.wmu is held. After a timeout
// the unsent rest of the frame waits in c.unsent; any other error is
// sticky.
func (c *Conn) writeRecord(content byte, data []byte) error {
	frame, err := c.seal(append(c.wbuf[:0], frameVersion, frameRecord, 0, 0, 0, 0), content, data)
	if err != nil {
		c.werr = fmt.Errorf("sspinet: record: %w", err)
		return c.werr
	}
	c.wbuf = frame
	n, err := c.conn.Write(frame)
	if err != nil {
		if isTimeout(err) {
			c.unsent = append([]byte(nil), frame[n:]...)
		} else {
			c.werr = err
		}
	}
	return err
}

// seal appends the protected record of content and data to the frame
// header in hdr and fills in its length.
func (c *Conn) seal(hdr []byte, content byte, data []byte) ([]byte, error) {
	if c.aead != nil {
		return c.aead.seal(hdr, content, data)
	}
	frame, err := c.ctx.AppendWrap(hdr, c.cfg.Records != RecordsSigned, []byte{content}, data)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(frame[2:], uint32(len(frame)-headerLen))
	return frame, nil
}

// open checks and opens a record payload where it lies: it is a slice of
// c.inBuf, which is not read into again until c.pending is used up.
func (c *Conn) open(payload []byte) ([]byte, error) {
	if c.aead != nil {
		return c.aead.open(payload)
	}
	pt, encrypted, err := c.ctx.UnwrapInPlace(payload)
	if err != nil {
		return nil, fmt.Errorf("sspinet: record: %w", err)
	}
	if encrypted != (c.cfg.Records == RecordsSealed) {
		return nil, &sspi.Error{Status: sspi.StatusAlgorithmMismatch, Detail: "sspinet: record protection does not match the configuration"}
	}
	return pt, nil
}

// CloseWrite sends close_notify: the peer's Read returns io.EOF after the
// data sent so far. The connection stays open for reading.
func (c *Conn) CloseWrite() error {
	if !c.hsDone.Load() || c.hsErr != nil {
		return errors.New("sspinet: CloseWrite before the handshake completed")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if err := c.flushUnsent(); err != nil {
		return err
	}
	if err := c.writeRecord(recordClose, nil); err != nil {
		return err
	}
	c.werr = errors.New("sspinet: close_notify sent")
	return nil
}

// Close sends close_notify (if the handshake completed and writing still
// works), closes the underlying connection and deletes the security
// context.
func (c *Conn) Close() error {
	if !c.closing.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	if cancel := c.hsCancel.Load(); cancel != nil {
		(*cancel)()
	}
	if c.hsDone.Load() && c.hsErr == nil && c.wmu.TryLock() {
		if c.werr == nil {
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if c.flushUnsent() == nil {
				c.writeRecord(recordClose, nil)
			}
			c.werr = net.ErrClosed
		}
		c.wmu.Unlock()
	}
	err := c.conn.Close()
	c.hsMu.Lock()
	if c.ctx != nil {
		c.ctx.Delete()
	} else if c.client != nil {
		c.client.Delete()
	} else if c.server != nil {
		c.server.Delete()
	}
	if c.cred != nil {
		c.cred.Free()
		c.cred = nil
	}
	c.hsMu.Unlock()
	return err
}
