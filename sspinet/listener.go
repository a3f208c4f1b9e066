package sspinet

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/opensspi/sspi"
)

// listener wraps accepted connections in Server. It holds what its
// connections share: the inbound credentials, acquired once, and the
// slots that bound the handshakes holding an LSA context at once.
type listener struct {
	net.Listener
	cfg   *Config
	slots chan struct{} // one token per running handshake

	credLock chan struct{} // held while acquiring, so that waiters honour their context
	mu       sync.Mutex
	cred     *sspi.Credentials
	closed   bool
}

// NewListener returns a listener whose Accept wraps each connection of
// inner in Server; the handshake runs on the first Read or Write, or
// Handshake. Its connections share one set of inbound credentials
// (acquired when the first handshake needs them, freed by Close) and at
// most cfg.MaxHandshakes of them hold a security context in the LSA
// before they are authenticated.
func NewListener(inner net.Listener, cfg *Config) net.Listener {
	return &listener{Listener: inner, cfg: cfg,
		slots: make(chan struct{}, cfg.maxHandshakes()), credLock: make(chan struct{}, 1)}
}

// Listen listens on addr and returns a listener of server connections
// (see NewListener).
func Listen(network, addr string, cfg *Config) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return NewListener(ln, cfg), nil
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := Server(c, l.cfg)
	s.ln = l
	return s, nil
}

// Close stops accepting and frees the shared credentials. Connections
// already accepted go on: their contexts outlive the credentials
// (FreeCredentialsHandle), and a handshake not yet started fails.
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	cred := l.cred
	l.cred, l.closed = nil, true
	l.mu.Unlock()
	if cred != nil {
		cred.Free()
	}
	return err
}

var errListenerClosed = errors.New("sspinet: the listener is closed")

// credentials returns the listener's inbound credentials, acquiring them
// if no handshake has yet. One caller acquires at a time; the others wait
// for it or for their own context.
func (l *listener) credentials(ctx context.Context) (*sspi.Credentials, error) {
	select {
	case l.credLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.credLock }()
	l.mu.Lock()
	cred, closed := l.cred, l.closed
	l.mu.Unlock()
	if closed {
		return nil, errListenerClosed
	}
	if cred != nil {
		return cred, nil
	}
	p, err := l.cfg.provider()
	if err != nil {
		return nil, err
	}
	cred, err = p.AcquireCredentials(ctx, l.cfg.Package, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: l.cfg.Principal})
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		cred.Free()
		return nil, errListenerClosed
	}
	l.cred = cred
	return cred, nil
}

// acquireSlot waits for a handshake slot, or for ctx. The returned
// function gives the slot back.
func (l *listener) acquireSlot(ctx context.Context) (func(), error) {
	release := func() { <-l.slots }
	select {
	case l.slots <- struct{}{}:
		return release, nil
	default:
	}
	if testHookSlotWait != nil {
		testHookSlotWait()
	}
	select {
	case l.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// testHookSlotWait, if set by a test, is called when a handshake starts
// to wait for a slot.
var testHookSlotWait func()
