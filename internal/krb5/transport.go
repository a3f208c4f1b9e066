package krb5

// The KDC transport (RFC 4120 7.2.1 UDP, 7.2.2 TCP): our own, so that
// every exchange takes a context (deadline, cancellation), every reply is
// bounded before it is read, and the KDCs of a realm are tried in order.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// Defaults of the transport.
const (
	defaultMaxReplySize   = 512 << 10
	defaultAttemptTimeout = 3 * time.Second
	maxUDPReply           = 65507
)

// ErrNoKDC is the cause of an exchange that reached no KDC.
var ErrNoKDC = errors.New("krb5: no KDC answered")

// exchange sends req to the KDCs of realm, in order, and returns the first
// reply. A request no longer than the UDP preference limit goes over UDP
// first, and over TCP to the same KDC when that KDC answers
// KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 7.2.1); longer requests go over TCP.
func (c *Client) exchange(ctx context.Context, realm string, req []byte) ([]byte, error) {
	kdcs, err := c.config().KDCs(realm)
	if err != nil {
		return nil, statusErr(secpkg.StatusNoAuthenticatingAuthority, err, "%v", err)
	}
	useUDP := len(req) <= c.config().udpLimit()
	var errs []error
	for _, kdc := range kdcs {
		if err := ctx.Err(); err != nil {
			return nil, statusErr(secpkg.StatusNoAuthenticatingAuthority, err, "krb5: KDC exchange: %v", err)
		}
		var rep []byte
		var err error
		if kdc.UDPOnly || (useUDP && !kdc.TCPOnly) {
			rep, err = c.sendUDP(ctx, kdc.Addr, req)
			if err == nil && isResponseTooBig(rep) {
				if kdc.UDPOnly {
					err = fmt.Errorf("%s: reply too big for UDP, and TCP is not allowed", kdc)
				} else {
					c.logf(ctx, "krb5: KDC reply too big for UDP, retrying over TCP", "kdc", kdc.Addr)
					rep, err = c.sendTCP(ctx, kdc.Addr, req)
				}
			}
		} else {
			rep, err = c.sendTCP(ctx, kdc.Addr, req)
		}
		if err == nil {
			if c.tamper != nil {
				rep = c.tamper(rep)
			}
			return rep, nil
		}
		c.logf(ctx, "krb5: KDC did not answer", "kdc", kdc.String(), "err", err)
		errs = append(errs, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, statusErr(secpkg.StatusNoAuthenticatingAuthority, err, "krb5: KDC exchange: %v", err)
	}
	return nil, statusErr(secpkg.StatusNoAuthenticatingAuthority, errors.Join(append([]error{ErrNoKDC}, errs...)...),
		"krb5: no KDC of realm %s answered: %v", realm, errors.Join(errs...))
}

func isResponseTooBig(rep []byte) bool {
	if messageType(rep) != tagKRBError {
		return false
	}
	var m krbError
	return m.unmarshal(rep) == nil && m.Code == KRBErrResponseTooBig
}

// isKDCReply reports whether b looks like an answer from a KDC.
func isKDCReply(b []byte) bool {
	switch messageType(b) {
	case tagASRep, tagTGSRep, tagKRBError:
		return true
	}
	return false
}

// attemptContext bounds one attempt with one KDC.
func (c *Client) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.AttemptTimeout
	if d <= 0 {
		d = defaultAttemptTimeout
	}
	return context.WithTimeout(ctx, d)
}

func (c *Client) sendUDP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := closeOnDone(ctx, conn)
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("udp %s: %w", addr, ctxErr(ctx, err))
	}
	buf := make([]byte, maxUDPReply)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("udp %s: %w", addr, ctxErr(ctx, err))
		}
		// A connected socket only hears the KDC's address; still, skip
		// anything that is not a KDC reply rather than fail on it.
		if isKDCReply(buf[:n]) {
			if n > c.maxReply() {
				return nil, fmt.Errorf("udp %s: reply of %d bytes exceeds the limit", addr, n)
			}
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

func (c *Client) sendTCP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	ctx, cancel := c.attemptContext(ctx)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := closeOnDone(ctx, conn)
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(req)), uint32(len(req)))
	if _, err := conn.Write(append(msg, req...)); err != nil {
		return nil, fmt.Errorf("tcp %s: %w", addr, ctxErr(ctx, err))
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("tcp %s: %w", addr, ctxErr(ctx, err))
	}
	n := binary.BigEndian.Uint32(hdr[:])
	// The high bit is reserved (RFC 4120 7.2.2); a set bit or a length past
	// the limit ends the exchange before anything is allocated.
	if n&0x80000000 != 0 || n == 0 || int64(n) > int64(c.maxReply()) {
		return nil, fmt.Errorf("tcp %s: reply length %d refused", addr, n)
	}
	rep := make([]byte, n)
	if _, err := io.ReadFull(conn, rep); err != nil {
		return nil, fmt.Errorf("tcp %s: %w", addr, ctxErr(ctx, err))
	}
	if !isKDCReply(rep) {
		return nil, fmt.Errorf("tcp %s: reply is not a KDC message", addr)
	}
	return rep, nil
}

func (c *Client) maxReply() int {
	if c.MaxReplySize > 0 {
		return c.MaxReplySize
	}
	return defaultMaxReplySize
}

// closeOnDone closes conn when ctx ends, so a blocked read returns.
func closeOnDone(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.Close() })
}

// ctxErr prefers the context's error to the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
