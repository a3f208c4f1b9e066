package sspinet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory" // the memory: store
	"github.com/opensspi/sspi/embedded"
	"github.com/opensspi/sspi/lsa/engine"
	_ "github.com/opensspi/sspi/packages/all"
	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/sspinet"
)

const (
	user     = "alice"
	domain   = "EXAMPLE"
	password = "alice-Passw0rd"
	target   = "HOST/server.example.com"
)

// newProvider is an embedded LSA with NTLM and an account for alice.
func newProvider(t testing.TB) *sspi.Provider {
	t.Helper()
	store, err := accounts.Open(context.Background(), "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, eng, err := embedded.NewProvider(&engine.Config{
		Packages: []string{ntlm.Name},
		Accounts: store,
		Parameters: secpkg.Parameters{MachineName: "SERVER", DomainName: domain,
			DNSMachineName: "server.example.com", DNSDomainName: "example.com"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); store.Close() })
	if err := eng.SetPassword(context.Background(), domain, user, []byte(password)); err != nil {
		t.Fatal(err)
	}
	return p
}

func configs(p *sspi.Provider, records sspinet.RecordProtection) (client, server *sspinet.Config) {
	client = &sspinet.Config{Provider: p, Package: ntlm.Name, Target: target, Records: records,
		Identity: &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte(password)}}
	server = &sspinet.Config{Provider: p, Package: ntlm.Name, Principal: target, Records: records}
	return client, server
}

var recordModes = []sspinet.RecordProtection{sspinet.RecordsSealed, sspinet.RecordsSigned, sspinet.RecordsSessionKey}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return a, <-ch
}

// pair returns an established client and server connection.
func pair(t testing.TB, ccfg, scfg *sspinet.Config) (*sspinet.Conn, *sspinet.Conn) {
	t.Helper()
	a, b := tcpPair(t)
	c, s := sspinet.Client(a, ccfg), sspinet.Server(b, scfg)
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake(context.Background()) }()
	if err := c.Handshake(context.Background()); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return c, s
}

func TestNetConn(t *testing.T) {
	for _, mode := range recordModes {
		t.Run(mode.String(), func(t *testing.T) {
			p := newProvider(t)
			ccfg, scfg := configs(p, mode)
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				c, s := pair(t, ccfg, scfg)
				return c, s, func() { c.Close(); s.Close() }, nil
			})
		})
	}
}

func TestIdentityAndState(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	c, s := pair(t, ccfg, scfg)
	defer c.Close()
	defer s.Close()
	id, err := s.Identity()
	if err != nil || id.User != user || id.Domain != domain || id.Package != ntlm.Name {
		t.Fatalf("Identity = %+v, %v", id, err)
	}
	if _, err := c.Identity(); err == nil {
		t.Error("a client has a peer identity")
	}
	cs, ss := c.ConnectionState(), s.ConnectionState()
	if !cs.Mapped || cs.Package != ntlm.Name || cs.ClientFlags&sspi.ISCRetConfidentiality == 0 || cs.Target != target {
		t.Errorf("client state %+v", cs)
	}
	if ss.Identity == nil || ss.ServerFlags&sspi.ASCRetIntegrity == 0 {
		t.Errorf("server state %+v", ss)
	}
}

func TestLargeRecordsAndInterleaving(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	ccfg.MaxRecordSize, scfg.MaxRecordSize = 1000, 1000
	c, s := pair(t, ccfg, scfg)
	defer c.Close()
	defer s.Close()
	msg := make([]byte, 100000)
	rand.Read(msg)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.Write(msg) }()
	go func() { defer wg.Done(); s.Write(msg) }()
	got1, got2 := make([]byte, len(msg)), make([]byte, len(msg))
	if _, err := io.ReadFull(s, got1); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got2); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !bytes.Equal(got1, msg) || !bytes.Equal(got2, msg) {
		t.Fatal("data differs")
	}
}

func TestWrongPassword(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	ccfg.Identity = &sspi.AuthIdentity{User: user, Domain: domain, Password: []byte("wrong")}
	a, b := tcpPair(t)
	c, s := sspinet.Client(a, ccfg), sspinet.Server(b, scfg)
	defer c.Close()
	defer s.Close()
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake(context.Background()) }()
	cerr := c.Handshake(context.Background())
	serr := <-errc
	if !errors.Is(serr, sspi.ErrLogonDenied) || !errors.Is(cerr, sspi.ErrLogonDenied) {
		t.Fatalf("client %v, server %v; want SEC_E_LOGON_DENIED on both sides", cerr, serr)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Fatalf("Write after a failed handshake: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	scfg.Authorize = func(ctx context.Context, id *sspi.Identity) error {
		if id.User == user {
			return errors.New("alice is not welcome")
		}
		return nil
	}
	a, b := tcpPair(t)
	c, s := sspinet.Client(a, ccfg), sspinet.Server(b, scfg)
	defer c.Close()
	defer s.Close()
	go s.Handshake(context.Background())
	if err := c.Handshake(context.Background()); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Fatalf("refused client: %v", err)
	}
}

// flipper flips one byte of what passes through it after skip bytes.
type flipper struct {
	net.Conn
	mu   sync.Mutex
	skip int
	done bool
}

func (f *flipper) Write(b []byte) (int, error) {
	f.mu.Lock()
	if !f.done && f.skip < len(b) {
		b = append([]byte(nil), b...)
		b[f.skip] ^= 0x20
		f.done = true
	} else if !f.done {
		f.skip -= len(b)
	}
	f.mu.Unlock()
	return f.Conn.Write(b)
}

// TestTamperedRecord flips each byte of a record on the wire: the reader
// gets the error that byte calls for, never altered data, a panic or a
// hang. The sender closes after the record, so that a length made longer
// ends in io.ErrUnexpectedEOF instead of waiting for bytes that never
// come.
func TestTamperedRecord(t *testing.T) {
	for _, mode := range recordModes {
		t.Run(mode.String(), func(t *testing.T) { testTamperedRecord(t, mode) })
	}
}

func testTamperedRecord(t *testing.T, mode sspinet.RecordProtection) {
	p := newProvider(t)
	ccfg, scfg := configs(p, mode)
	msg := []byte("an important message")
	// The record on the wire: the 6-byte frame header, then NTLM's
	// 16-byte signature and the content (content byte and data), or the
	// content and GCM's 16-byte tag.
	const hdr, sig = 6, 16
	recordLen := hdr + sig + 1 + len(msg)
	buf := make([]byte, 100)
	for i := 0; i < recordLen; i++ {
		want := tamperedStatus(mode, i)
		a, b := tcpPair(t)
		fl := &flipper{Conn: a, skip: 1 << 30}
		c, s := sspinet.Client(fl, ccfg), sspinet.Server(b, scfg)
		errc := make(chan error, 1)
		go func() { errc <- s.Handshake(context.Background()) }()
		if err := c.Handshake(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		fl.mu.Lock()
		fl.skip = i
		fl.mu.Unlock()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		c.Close()
		// Not a condition of the test: a guard that turns a hang into
		// a failure.
		s.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := s.Read(buf)
		switch {
		case err == nil:
			t.Errorf("byte %d flipped: read %q without an error", i, buf[:n])
		case want == nil && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Errorf("byte %d flipped: %v, want io.ErrUnexpectedEOF", i, err)
		case want != nil && (!errors.Is(err, want) || sspi.StatusOf(err) != want):
			t.Errorf("byte %d flipped: %v, want %v", i, err, want)
		}
		s.Close()
	}
}

// tamperedStatus is the status a reader reports for a record whose byte
// i was flipped (bit 0x20), or nil for io.ErrUnexpectedEOF.
func tamperedStatus(mode sspinet.RecordProtection, i int) error {
	switch {
	case i < 2: // version, type
		return sspi.StatusInvalidToken
	case i < 4: // the length's high bytes: past the limit
		return sspi.StatusInvalidToken
	case i == 4: // 8 KiB longer: the peer's close cuts it short
		return nil
	case i == 5: // 32 bytes shorter
		if mode == sspinet.RecordsSessionKey {
			return sspi.StatusMessageAltered // the tag is not where GCM looks
		}
		// Shorter than NTLM's signature (DecryptMessage).
		return sspi.StatusIncompleteMessage
	case mode != sspinet.RecordsSessionKey && i >= 6+12 && i < 6+16:
		// NTLM's SeqNum (MS-NLMP 2.2.2.9.1).
		return sspi.StatusOutOfSequence
	}
	// NTLM's Version and Checksum, the sealed or signed content; the
	// GCM ciphertext and tag.
	return sspi.StatusMessageAltered
}

func TestTruncation(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	c, s := pair(t, ccfg, scfg)
	defer s.Close()
	c.Write([]byte("partial"))
	// Cut the connection without close_notify.
	c.NetConn().Close()
	buf := make([]byte, 100)
	n, err := s.Read(buf)
	if err != nil || string(buf[:n]) != "partial" {
		t.Fatalf("first read: %q %v", buf[:n], err)
	}
	if _, err := s.Read(buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read after a cut: %v, want io.ErrUnexpectedEOF", err)
	}
	// A clean close gives io.EOF.
	c2, s2 := pair(t, ccfg, scfg)
	defer s2.Close()
	c2.Write([]byte("all"))
	c2.Close()
	got, err := io.ReadAll(s2)
	if err != nil || string(got) != "all" {
		t.Fatalf("ReadAll after close_notify = %q, %v", got, err)
	}
}

func TestOversizedFrame(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	c, s := pair(t, ccfg, scfg)
	defer c.Close()
	defer s.Close()
	// A frame header announcing 1 GiB: refused before allocation.
	c.NetConn().Write([]byte{1, 0x10, 0x40, 0, 0, 0})
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, sspi.ErrInvalidToken) {
		t.Fatalf("oversized frame: %v, want SEC_E_INVALID_TOKEN", err)
	}
}

func TestGarbageHandshake(t *testing.T) {
	p := newProvider(t)
	_, scfg := configs(p, sspinet.RecordsSealed)
	for _, junk := range [][]byte{
		{1, 4, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 3, 'a', 'b', 'c'}, // a token that is no NTLM message
		{1, 1, 0, 0, 0, 3, 'a', 'b', 'c'},                      // a token before the records frame
		{1, 4, 0, 0, 0, 2, 0, 0},                               // a records frame of two bytes
		{9, 1, 0, 0, 0, 0},                                     // unknown version
		{1, 1, 0xff, 0xff, 0xff, 0xff},                         // huge token
		[]byte("GET / HTTP/1.1\r\n\r\n"),                       // not our protocol at all
	} {
		a, b := tcpPair(t)
		s := sspinet.Server(b, scfg)
		a.Write(junk)
		done := make(chan error, 1)
		go func() { done <- s.Handshake(context.Background()) }()
		select {
		case err := <-done:
			if !errors.Is(err, sspi.ErrInvalidToken) {
				t.Fatalf("handshake on %q: %v, want SEC_E_INVALID_TOKEN", junk, err)
			}
		case <-time.After(hangGuard):
			t.Fatalf("handshake on %q hangs", junk)
		}
		a.Close()
		s.Close()
	}
}

func TestDialListen(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSealed)
	ln, err := sspinet.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	c, err := sspinet.Dial(context.Background(), "tcp", ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("echo me"))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "echo me" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
}

// TestRecordModeMismatch: both sides must use one record protection. The
// server refuses a client of another before anything reaches the LSA,
// with SEC_E_ALGORITHM_MISMATCH on both sides and, for the client, the
// server's protection: what to change.
func TestRecordModeMismatch(t *testing.T) {
	p := newProvider(t)
	for _, modes := range [][2]sspinet.RecordProtection{
		{sspinet.RecordsSealed, sspinet.RecordsSessionKey},
		{sspinet.RecordsSessionKey, sspinet.RecordsSealed},
		{sspinet.RecordsSigned, sspinet.RecordsSealed},
		{sspinet.RecordsSealed, sspinet.RecordsSigned},
	} {
		ccfg, _ := configs(p, modes[0])
		_, scfg := configs(p, modes[1])
		legs := 0
		scfg.OnLeg = func(sspinet.Leg) { legs++ }
		a, b := tcpPair(t)
		c, s := sspinet.Client(a, ccfg), sspinet.Server(b, scfg)
		errc := make(chan error, 1)
		go func() { errc <- s.Handshake(context.Background()) }()
		cerr := c.Handshake(context.Background())
		serr := <-errc
		if sspi.StatusOf(cerr) != sspi.StatusAlgorithmMismatch || sspi.StatusOf(serr) != sspi.StatusAlgorithmMismatch {
			t.Errorf("%v client, %v server: client %v, server %v; want SEC_E_ALGORITHM_MISMATCH on both", modes[0], modes[1], cerr, serr)
		} else if !strings.Contains(cerr.Error(), "the server's records are "+modes[1].String()) {
			t.Errorf("the client is not told the server's record protection: %v", cerr)
		}
		if legs != 0 {
			t.Errorf("%v client, %v server: the server ran %d legs before refusing", modes[0], modes[1], legs)
		}
		c.Close()
		s.Close()
	}
}

// TestSessionKeyRecordsReplay: a record replayed or reordered on the wire
// fails its authentication.
func TestSessionKeyRecordsReplay(t *testing.T) {
	p := newProvider(t)
	ccfg, scfg := configs(p, sspinet.RecordsSessionKey)
	a, b := tcpPair(t)
	rec := &recorder{Conn: a}
	c, s := sspinet.Client(rec, ccfg), sspinet.Server(b, scfg)
	defer c.Close()
	defer s.Close()
	go s.Handshake(context.Background())
	if err := c.Handshake(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.start()
	c.Write([]byte("one"))
	buf := make([]byte, 10)
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "one" {
		t.Fatalf("first record: %q %v", buf[:n], err)
	}
	a.Write(rec.frames()) // the same record again
	s.SetReadDeadline(time.Now().Add(hangGuard))
	if _, err := s.Read(buf); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Fatalf("replayed record: %v, want SEC_E_MESSAGE_ALTERED", err)
	}
}

// recorder keeps what is written through it after start.
type recorder struct {
	net.Conn
	mu  sync.Mutex
	on  bool
	buf []byte
}

func (r *recorder) start() { r.mu.Lock(); r.on = true; r.mu.Unlock() }

func (r *recorder) frames() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf...)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	if r.on {
		r.buf = append(r.buf, b...)
	}
	r.mu.Unlock()
	return r.Conn.Write(b)
}
