package sspinet_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
	"github.com/opensspi/sspi/sspinet"
)

// hangGuard bounds a wait that must end on an event, so that a bug shows
// as a failure rather than a test binary killed at its timeout. It is
// never a condition of a passing test.
const hangGuard = 2 * time.Minute

// frame builds one sspinet frame (doc/sspinet.md).
func frame(typ byte, payload []byte) []byte {
	b := []byte{1, typ}
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// TestHalfOpenHandshakes is the handle exhaustion attack: many peers open
// connections to an sspinet listener, some silent, some sending an NTLM
// NEGOTIATE_MESSAGE and never answering the CHALLENGE. The listener
// holds one credentials handle and at most MaxHandshakes contexts in the
// LSA for all of them, so another program of the same uid still acquires
// credentials and authenticates within the uid's handle quota; and once
// the peers go, the LSA holds what it held before.
func TestHalfOpenHandshakes(t *testing.T) {
	const (
		quota    = 64  // LSA handles of the uid
		slots    = 8   // the listener's MaxHandshakes
		silent   = 40  // connections that send nothing
		halfOpen = 120 // connections that stop after NEGOTIATE
	)
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{
		Packages: []string{ntlm.Name}, Accounts: store, MaxHandlesPerCaller: quota,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain,
			DNSMachineName: "server.example.com", DNSDomainName: "example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	if err := e.SetPassword(ctx, domain, user, []byte(password)); err != nil {
		t.Fatal(err)
	}
	// The server and the other program are two processes of one uid,
	// each with its own connection to the LSA.
	sock := secpkgtest.ServeEngine(t, e)
	program := func() *sspi.Provider {
		c, err := lsarpc.Dial(ctx, sock)
		if err != nil {
			t.Fatal(err)
		}
		p := sspi.NewProvider(c, nil)
		t.Cleanup(func() { p.Close() })
		return p
	}
	server, other := program(), program()

	// A real NEGOTIATE_MESSAGE, from a context of the other program.
	cred, err := other.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
	if err != nil {
		t.Fatal(err)
	}
	probe := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target})
	negotiate, _, err := probe.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe.Delete()
	cred.Free()
	base := e.Stats()

	_, scfg := configs(server, sspinet.RecordsSealed)
	scfg.MaxHandshakes = slots
	ln, err := sspinet.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, silent+halfOpen)
	var handlers sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			handlers.Go(func() {
				defer c.Close()
				c.(*sspinet.Conn).Handshake(ctx)
			})
		}
	}()

	// The attack.
	hello := append(frame(0x04, []byte{0}), frame(0x01, negotiate)...)
	var peers []net.Conn
	defer func() {
		for _, c := range peers {
			c.Close()
		}
	}()
	replies := make(chan byte, halfOpen)
	for i := range silent + halfOpen {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		peers = append(peers, c)
		if i < silent {
			continue
		}
		if _, err := c.Write(hello); err != nil {
			t.Fatal(err)
		}
		go func() {
			var hdr [6]byte
			if _, err := io.ReadFull(c, hdr[:]); err == nil {
				replies <- hdr[1]
			}
		}()
	}
	// Every connection accepted, and the handshakes that got a slot
	// have answered with a CHALLENGE.
	guard := time.After(hangGuard)
	for range silent + halfOpen {
		select {
		case <-accepted:
		case <-guard:
			t.Fatal("the listener does not accept")
		}
	}
	for range slots {
		select {
		case typ := <-replies:
			if typ != 0x01 {
				t.Fatalf("a half-open handshake got frame type %#x, want a token (CHALLENGE)", typ)
			}
		case <-guard:
			t.Fatal("no CHALLENGE")
		}
	}
	st := e.Stats()
	if creds, ctxs := st.Credentials-base.Credentials, st.Contexts-base.Contexts; creds > 1 || ctxs > slots {
		t.Errorf("%d silent and %d half-open connections hold %d credentials and %d contexts in the LSA; want at most 1 and %d",
			silent, halfOpen, creds, ctxs, slots)
	}

	// Another program of the uid: credentials and a whole handshake.
	cc, err := other.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound,
		&sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}})
	if err != nil {
		t.Fatalf("AcquireCredentials of another program during the attack: %v", err)
	}
	sc, err := other.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: target})
	if err != nil {
		t.Fatalf("AcquireCredentials (inbound) of another program during the attack: %v", err)
	}
	client := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: sspi.ISCReqConfidentiality})
	srv := sspi.NewServerContext(sc, nil)
	if err := secpkgtest.Handshake(ctx, client, srv); err != nil {
		t.Fatalf("handshake of another program during the attack: %v", err)
	}
	client.Delete()
	srv.Delete()
	cc.Free()
	sc.Free()

	// The peers go; every server handshake ends; the listener closes.
	for _, c := range peers {
		c.Close()
	}
	peers = nil
	done := make(chan struct{})
	go func() { handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatal("server handshakes do not end when their peers close")
	}
	ln.Close()
	if st := e.Stats(); st.Credentials != base.Credentials || st.Contexts != base.Contexts {
		t.Errorf("after the attack the LSA holds %d credentials and %d contexts, %d and %d before",
			st.Credentials, st.Contexts, base.Credentials, base.Contexts)
	}
}

// TestHandshakeDeadlineNotExtended: a peer that trickles its first token
// byte by byte cannot keep the handshake going past HandshakeTimeout.
func TestHandshakeDeadlineNotExtended(t *testing.T) {
	p := newProvider(t)
	_, scfg := configs(p, sspinet.RecordsSealed)
	scfg.HandshakeTimeout = 500 * time.Millisecond
	a, b := tcpPair(t)
	defer a.Close()
	s := sspinet.Server(b, scfg)
	defer s.Close()
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake(context.Background()) }()
	// The records frame, then a token frame of 1000 bytes, one byte
	// every 10 ms: 10 s for the frame, if nothing stopped it.
	if _, err := a.Write(append(frame(0x04, []byte{0}), 1, 0x01, 0, 0, 0x03, 0xe8)); err != nil {
		t.Fatal(err)
	}
	pace := time.NewTicker(10 * time.Millisecond) // the attacker's pace, not a wait
	defer pace.Stop()
	guard := time.After(hangGuard)
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, sspi.ErrContextExpired) {
				t.Fatalf("handshake of a trickling peer: %v, want the handshake deadline (SEC_E_CONTEXT_EXPIRED)", err)
			}
			return
		case <-pace.C:
			a.Write([]byte{'x'})
		case <-guard:
			t.Fatal("a trickling peer keeps the handshake alive")
		}
	}
}

// TestCloseEndsWaitingHandshake: Close ends a handshake that waits for
// a listener's handshake slot.
func TestCloseEndsWaitingHandshake(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	scfg.MaxHandshakes = 1
	ln, err := sspinet.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// A half-open handshake holds the one slot: its CHALLENGE came.
	holder, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	go first.(*sspinet.Conn).Handshake(context.Background())
	neg := negotiateToken(t, ccfg)
	holder.Write(append(frame(0x04, []byte{0}), frame(0x01, neg)...))
	var hdr [6]byte
	if _, err := io.ReadFull(holder, hdr[:]); err != nil || hdr[1] != 0x01 {
		t.Fatalf("first handshake: %x %v", hdr, err)
	}
	// The second waits for the slot, then is closed.
	waiter, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	second, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	sspinet.SetTestHookSlotWait(func() { waiting <- struct{}{} })
	defer sspinet.SetTestHookSlotWait(nil)
	errc := make(chan error, 1)
	go func() { errc <- second.(*sspinet.Conn).Handshake(context.Background()) }()
	waiter.Write(append(frame(0x04, []byte{0}), frame(0x01, neg)...))
	select {
	case <-waiting:
	case <-time.After(hangGuard):
		t.Fatal("the second handshake does not wait for the slot")
	}
	second.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a closed connection's handshake succeeded")
		}
	case <-time.After(hangGuard):
		t.Fatal("Close does not end a handshake waiting for a slot")
	}
}

// negotiateToken is an NTLM NEGOTIATE_MESSAGE from a client of cfg.
func negotiateToken(t *testing.T, cfg *sspinet.Config) []byte {
	t.Helper()
	ctx := context.Background()
	cred, err := cfg.Provider.AcquireCredentials(ctx, ntlm.Name, sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: cfg.Identity})
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Free()
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target})
	defer c.Delete()
	tok, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// deadlineRecorder records the deadline calls made on a connection.
type deadlineRecorder struct {
	net.Conn
	mu    sync.Mutex
	calls []string
}

func (r *deadlineRecorder) note(what string) {
	r.mu.Lock()
	r.calls = append(r.calls, what)
	r.mu.Unlock()
}

func (r *deadlineRecorder) SetDeadline(t time.Time) error {
	r.note("SetDeadline")
	return r.Conn.SetDeadline(t)
}

func (r *deadlineRecorder) SetReadDeadline(t time.Time) error {
	r.note("SetReadDeadline")
	return r.Conn.SetReadDeadline(t)
}

func (r *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	r.note("SetWriteDeadline")
	return r.Conn.SetWriteDeadline(t)
}

// TestHandshakeLeavesDeadlines: a handshake that succeeds sets no
// deadline on the caller's connection (crypto/tls does the same), so a
// deadline the caller set before or during it still holds after it.
func TestHandshakeLeavesDeadlines(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	a, b := tcpPair(t)
	ra, rb := &deadlineRecorder{Conn: a}, &deadlineRecorder{Conn: b}
	c, s := sspinet.Client(ra, ccfg), sspinet.Server(rb, scfg)
	defer c.Close()
	defer s.Close()
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake(context.Background()) }()
	if err := c.Handshake(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for _, r := range []*deadlineRecorder{ra, rb} {
		r.mu.Lock()
		if len(r.calls) > 0 {
			t.Errorf("the handshake called %v on the caller's connection", r.calls)
		}
		r.mu.Unlock()
	}
}

// TestDeadlineBeforeHandshake: a read deadline the caller set before the
// handshake ends a handshake whose peer sends nothing.
func TestDeadlineBeforeHandshake(t *testing.T) {
	p := newProvider(t)
	_, scfg := configs(p, sspinet.RecordsSealed)
	a, b := tcpPair(t)
	defer a.Close()
	s := sspinet.Server(b, scfg)
	defer s.Close()
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake(context.Background()) }()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("handshake: %v, want the caller's read deadline", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the caller's read deadline does not end the handshake")
	}
}
