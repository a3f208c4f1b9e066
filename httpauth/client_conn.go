package httpauth

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi"
)

// connKey says where a connection goes: the origin, through which proxy.
// A connection serves one key only, for the Transport's one user.
type connKey struct {
	proxyScheme string // "", "http" or "https"
	proxyAddr   string // host:port of the proxy
	scheme      string // the origin's URL scheme
	addr        string // host:port of the origin
}

// viaHTTPProxy reports whether requests go to the proxy in absolute form
// (plain HTTP through a proxy), rather than through a CONNECT tunnel or
// directly.
func (k connKey) viaHTTPProxy() bool { return k.proxyAddr != "" && k.scheme == "http" }

// clientConn is one HTTP/1.1 connection of a Transport.
type clientConn struct {
	t   *Transport
	key connKey
	nc  net.Conn
	lr  *io.LimitedReader // under br: bounds a response's header
	br  *bufio.Reader
	bw  *bufio.Writer

	bindings      *sspi.ChannelBindings // tls-server-end-point of the origin
	proxyBindings *sspi.ChannelBindings // of an HTTPS proxy
	reused        bool                  // taken from the idle pool

	closeOnce sync.Once
}

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// retryableError is a failure on a kept connection before anything of a
// response arrived: the server had closed it while idle.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

func (cc *clientConn) close() {
	cc.closeOnce.Do(func() { cc.nc.Close() })
}

// getConn returns an idle connection for key, or dials one.
func (t *Transport) getConn(ctx context.Context, key connKey) (*clientConn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errors.New("httpauth: transport closed")
	}
	if conns := t.idle[key]; len(conns) > 0 {
		cc := conns[len(conns)-1]
		t.idle[key] = conns[:len(conns)-1]
		t.mu.Unlock()
		cc.reused = true
		return cc, nil
	}
	t.mu.Unlock()
	return t.dial(ctx, key)
}

// putIdle keeps cc for reuse, or closes it.
func (t *Transport) putIdle(cc *clientConn) {
	t.mu.Lock()
	if !t.closed && len(t.idle[cc.key]) < t.cfg.MaxIdleConnsPerHost {
		t.idle[cc.key] = append(t.idle[cc.key], cc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	cc.close()
}

// dial connects for key: to the origin, or to the proxy and, for an
// HTTPS origin, through a CONNECT tunnel (authenticating to the proxy on
// the way); then TLS to an HTTPS origin.
func (t *Transport) dial(ctx context.Context, key connKey) (*clientConn, error) {
	addr := key.addr
	if key.proxyAddr != "" {
		addr = key.proxyAddr
	}
	nc, err := t.cfg.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cc := &clientConn{t: t, key: key}
	cc.setConn(nc)
	ok := false
	defer func() {
		if !ok {
			cc.close()
		}
	}()
	if key.proxyScheme == "https" {
		if cc.proxyBindings, err = cc.startTLS(ctx, hostOf(key.proxyAddr)); err != nil {
			return nil, fmt.Errorf("httpauth: TLS to proxy %s: %w", key.proxyAddr, err)
		}
	}
	if key.proxyAddr != "" && key.scheme == "https" {
		if err := t.connect(ctx, cc); err != nil {
			return nil, err
		}
	}
	if key.scheme == "https" {
		if cc.bindings, err = cc.startTLS(ctx, hostOf(key.addr)); err != nil {
			return nil, fmt.Errorf("httpauth: TLS to %s: %w", key.addr, err)
		}
	}
	ok = true
	return cc, nil
}

// setConn makes nc the connection's transport, with fresh buffers.
func (cc *clientConn) setConn(nc net.Conn) {
	cc.nc = nc
	cc.lr = &io.LimitedReader{R: nc, N: math.MaxInt64}
	cc.br = bufio.NewReader(cc.lr)
	cc.bw = bufio.NewWriter(nc)
}

// startTLS runs a TLS handshake over the connection to serverName and
// returns the tls-server-end-point channel bindings of the certificate
// the server presented (RFC 5929 4).
func (cc *clientConn) startTLS(ctx context.Context, serverName string) (*sspi.ChannelBindings, error) {
	var cfg *tls.Config
	if cc.t.cfg.TLSClientConfig != nil {
		cfg = cc.t.cfg.TLSClientConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	// Connection-oriented authentication is HTTP/1.1's.
	cfg.NextProtos = []string{"http/1.1"}
	if cc.br.Buffered() > 0 {
		return nil, errors.New("unexpected data before the TLS handshake")
	}
	tc := tls.Client(cc.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	cc.setConn(tc)
	cs := tc.ConnectionState()
	return sspi.ClientTLSServerEndPointBindings(&cs)
}

// connect opens a CONNECT tunnel to the origin through the proxy cc is
// connected to, answering the proxy's 407 challenges on the same
// connection (which http.Transport cannot: it sends one static
// Proxy-Authorization, if any).
func (t *Transport) connect(ctx context.Context, cc *clientConn) error {
	target := cc.key.addr
	send := func(field, value string) (*http.Response, error) {
		req := &http.Request{
			Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target,
			Header: make(http.Header), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}
		req = req.WithContext(ctx)
		if field != "" {
			req.Header.Set(field, value)
		}
		return cc.exchange(ctx, req)
	}
	resp, err := send("", "")
	if err != nil {
		return fmt.Errorf("httpauth: CONNECT %s through %s: %w", target, cc.key.proxyAddr, err)
	}
	if resp.StatusCode == http.StatusProxyAuthRequired {
		resp, err = t.handshake(ctx, cc, resp, authRole{proxy: true, host: hostOf(cc.key.proxyAddr)}, send)
		if err != nil {
			return err
		}
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return fmt.Errorf("httpauth: CONNECT %s through %s: %s", target, cc.key.proxyAddr, resp.Status)
	}
	// The tunnel's bytes are the origin's now; a 2xx to CONNECT has no
	// body (RFC 9110 9.3.6).
	if cc.br.Buffered() > 0 {
		return fmt.Errorf("httpauth: CONNECT %s through %s: the proxy sent data after its response", target, cc.key.proxyAddr)
	}
	return nil
}

// exchange writes req and reads the response's header, bounded by ctx.
// The response's body reads from the connection: read or discard it
// before the next exchange.
func (cc *clientConn) exchange(ctx context.Context, req *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { cc.nc.SetDeadline(aLongTimeAgo) })
	defer func() {
		if !stop() {
			// The deadline was hit; the connection is unusable.
			cc.close()
		}
	}()
	var err error
	if cc.key.viaHTTPProxy() {
		err = req.WriteProxy(cc.bw)
	} else {
		err = req.Write(cc.bw)
	}
	if err == nil {
		err = cc.bw.Flush()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, retryableError{fmt.Errorf("httpauth: writing the request: %w", err)}
	}
	for {
		cc.lr.N = cc.t.cfg.MaxResponseHeaderBytes
		if _, err := cc.br.Peek(1); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, retryableError{fmt.Errorf("httpauth: reading the response: %w", err)}
		}
		resp, err := http.ReadResponse(cc.br, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cc.lr.N <= 0 {
				return nil, fmt.Errorf("httpauth: response header larger than %d bytes", cc.t.cfg.MaxResponseHeaderBytes)
			}
			return nil, fmt.Errorf("httpauth: reading the response: %w", err)
		}
		cc.lr.N = math.MaxInt64
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			resp.Body.Close()
			return nil, errors.New("httpauth: protocol upgrades are not supported")
		case resp.StatusCode/100 == 1:
			continue // 100 Continue, 103 Early Hints: the response follows
		}
		return resp, nil
	}
}

// errClosing is a response after which the server closes the
// connection.
var errClosing = errors.New("httpauth: the server closed the connection")

// redial replaces the connection with a new one for the same key.
func (cc *clientConn) redial(ctx context.Context) error {
	n, err := cc.t.dial(ctx, cc.key)
	if err != nil {
		return err
	}
	cc.close()
	cc.nc, cc.lr, cc.br, cc.bw = n.nc, n.lr, n.br, n.bw
	cc.bindings, cc.proxyBindings = n.bindings, n.proxyBindings
	cc.closeOnce = sync.Once{}
	cc.reused = false
	return nil
}

// discard reads and closes the body of an intermediate response, keeping
// the connection for the next leg.
func (cc *clientConn) discard(ctx context.Context, resp *http.Response) error {
	defer resp.Body.Close()
	stop := context.AfterFunc(ctx, func() { cc.nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("httpauth: reading a %s: %w", resp.Status, err)
	case n > maxDrain:
		return fmt.Errorf("httpauth: the body of a %s is larger than %d bytes", resp.Status, maxDrain)
	case resp.Close:
		return fmt.Errorf("%w after %s, in the middle of the handshake", errClosing, resp.Status)
	}
	return nil
}

// deliver hands resp to the caller: once its body has been read to the
// end, the connection goes back to the idle pool (unless either side
// said it closes); closing the body earlier, or ctx ending, closes the
// connection.
func (cc *clientConn) deliver(ctx context.Context, resp *http.Response, closeAfter bool) *http.Response {
	reuse := !resp.Close && !resp.Request.Close && !closeAfter
	if resp.Body == http.NoBody {
		if reuse {
			cc.t.putIdle(cc)
		} else {
			cc.close()
		}
		return resp
	}
	b := &connBody{rc: resp.Body, cc: cc, reuse: reuse}
	b.stop = context.AfterFunc(ctx, func() { cc.nc.SetDeadline(aLongTimeAgo) })
	resp.Body = b
	return resp
}

// connBody is a response body that releases its connection.
type connBody struct {
	rc    io.ReadCloser
	cc    *clientConn
	reuse bool
	stop  func() bool // stops the AfterFunc of the request's context

	mu   sync.Mutex
	done bool
	eof  bool
}

func (b *connBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		if b.eof {
			return 0, io.EOF
		}
		return 0, errors.New("httpauth: read on a closed response body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
		b.release()
	} else if err != nil {
		b.reuse = false
		b.release()
	}
	return n, err
}

func (b *connBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.eof {
		b.reuse = false
	}
	b.release()
	return nil
}

// release gives the connection back (or closes it), once. b.mu is held.
func (b *connBody) release() {
	if b.done {
		return
	}
	b.done = true
	b.rc.Close()
	if !b.stop() {
		b.reuse = false // the deadline was hit
	}
	if b.reuse {
		b.cc.t.putIdle(b.cc)
	} else {
		b.cc.close()
	}
}

// canonicalAddr returns u's host:port, with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// hostOf returns the host of a host:port.
func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
