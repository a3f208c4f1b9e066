package krb5

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// recorder is a slog.Handler that keeps the messages it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := rec.Message
	rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	r.msgs = append(r.msgs, s)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
func (r *recorder) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// withKDCs returns a copy of cfg whose realm has the given KDCs.
func withKDCs(cfg *Config, realm string, kdcs ...KDCAddr) *Config {
	c := *cfg
	c.Realms = map[string]RealmConfig{}
	for k, v := range cfg.Realms {
		c.Realms[k] = v
	}
	c.Realms[realm] = RealmConfig{KDCs: kdcs}
	return &c
}

// closedPort returns a loopback address where nothing listens (for UDP
// and TCP): the kernel answers at once, with ICMP or RST.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTransportUDPFallsBackToTCP(t *testing.T) {
	r := realm(t)
	big := os.Getenv("SSPI_KRB5_BIG_SERVICE")
	if big == "" {
		t.Skip("SSPI_KRB5_BIG_SERVICE not set (an older dev-realm.sh)")
	}
	c := r.client(t)
	rec := &recorder{}
	c.Logger = slog.New(rec)
	tgt := r.tgt(t)
	sp, err := c.Config.Principal(big)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := c.GetServiceTicket(testContext(t), tgt, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cred.Server.Equal(sp) || !rec.has("too big for UDP") {
		t.Fatalf("got %v; log %q", cred, rec.msgs)
	}
	// A UDP-only KDC cannot answer it.
	c.Config = withKDCs(c.Config, r.Realm, KDCAddr{Addr: r.KDC, UDPOnly: true})
	if _, err := c.GetServiceTicket(testContext(t), tgt, sp, nil); !errors.Is(err, ErrNoKDC) {
		t.Fatalf("UDP only: %v", err)
	}
}

func TestTransportTCPOnly(t *testing.T) {
	r := realm(t)
	for name, cfg := range map[string]*Config{
		"udp_preference_limit=1": func() *Config { c := *r.config(t); c.UDPPreferenceLimit = 1; return &c }(),
		"tcp/":                   withKDCs(r.config(t), r.Realm, KDCAddr{Addr: r.KDC, TCPOnly: true}),
	} {
		t.Run(name, func(t *testing.T) {
			c := &Client{Config: cfg}
			if _, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTransportKDCsInOrder(t *testing.T) {
	r := realm(t)
	dead := closedPort(t)
	rec := &recorder{}
	c := &Client{Config: withKDCs(r.config(t), r.Realm,
		KDCAddr{Addr: dead}, KDCAddr{Addr: dead, TCPOnly: true}, KDCAddr{Addr: r.KDC}), Logger: slog.New(rec)}
	if _, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil); err != nil {
		t.Fatal(err)
	}
	if !rec.has("udp "+dead) || !rec.has("tcp "+dead) && !rec.has("kdc=tcp/"+dead) {
		t.Errorf("log %q", rec.msgs)
	}
	// Only dead KDCs: SEC_E_NO_AUTHENTICATING_AUTHORITY.
	c.Config = withKDCs(c.Config, r.Realm, KDCAddr{Addr: dead})
	_, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if !errors.Is(err, ErrNoKDC) || secpkg.StatusOf(err) != secpkg.StatusNoAuthenticatingAuthority {
		t.Fatalf("got %v", err)
	}
	// No KDC configured.
	_, err = c.GetInitialCredentialsPassword(testContext(t), Principal{Components: []string{"a"}, Realm: "NOWHERE"}, "x", nil)
	if secpkg.StatusOf(err) != secpkg.StatusNoAuthenticatingAuthority {
		t.Fatalf("got %v", err)
	}
}

// silentKDC accepts TCP connections, reports each on accepted, and never
// answers; or answers with the given bytes.
func silentKDC(t *testing.T, answer []byte) (addr string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 8)
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if answer != nil {
				var hdr [4]byte
				_, _ = c.Read(hdr[:])
				_, _ = c.Write(answer)
			}
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String(), ch
}

func TestTransportCancel(t *testing.T) {
	addr, accepted := silentKDC(t, nil)
	cfg := &Config{DefaultRealm: "X.TEST", Realms: map[string]RealmConfig{"X.TEST": {KDCs: []KDCAddr{{Addr: addr, TCPOnly: true}}}}}
	c := &Client{Config: cfg}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-accepted // the request is in the KDC's hands: give up on it
		cancel()
	}()
	_, err := c.GetInitialCredentialsPassword(ctx, Principal{Type: NamePrincipal, Components: []string{"a"}, Realm: "X.TEST"}, "x", nil)
	if !errors.Is(err, context.Canceled) || secpkg.StatusOf(err) != secpkg.StatusNoAuthenticatingAuthority {
		t.Fatalf("got %v", err)
	}
	// A context that has already ended sends nothing.
	_, err = c.GetInitialCredentialsPassword(ctx, Principal{Type: NamePrincipal, Components: []string{"a"}, Realm: "X.TEST"}, "x", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestTransportReplyBounded(t *testing.T) {
	for name, answer := range map[string][]byte{
		"2 GiB length":      {0x7f, 0xff, 0xff, 0xff},
		"reserved high bit": {0x80, 0, 0, 10},
		"zero length":       {0, 0, 0, 0},
		"not a KDC message": binary.BigEndian.AppendUint32(nil, 3),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "not a KDC message" {
				answer = append(answer, 1, 2, 3)
			}
			addr, _ := silentKDC(t, answer)
			c := &Client{Config: &Config{Realms: map[string]RealmConfig{"X.TEST": {KDCs: []KDCAddr{{Addr: addr, TCPOnly: true}}}}}}
			_, err := c.GetInitialCredentialsPassword(testContext(t), Principal{Type: NamePrincipal, Components: []string{"a"}, Realm: "X.TEST"}, "x", nil)
			if !errors.Is(err, ErrNoKDC) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// A real reply over the configured limit is refused before it is read.
	r := realm(t)
	c := &Client{Config: withKDCs(r.config(t), r.Realm, KDCAddr{Addr: r.KDC, TCPOnly: true}), MaxReplySize: 100}
	_, err := c.GetInitialCredentialsPassword(testContext(t), r.principal(t, r.User), r.Password, nil)
	if !errors.Is(err, ErrNoKDC) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("got %v", err)
	}
}
