package lsarpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(&engine.Config{Packages: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

type served struct {
	srv  *Server
	path string
	dir  string
}

func serve(t testing.TB, e *engine.Engine) *served {
	t.Helper()
	dir, err := os.MkdirTemp("", "lsarpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &served{dir: dir, path: filepath.Join(dir, "s")}
	s.start(t, e)
	return s
}

func (s *served) start(t testing.TB, e *engine.Engine) {
	t.Helper()
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = &Server{Authority: e, Limits: Limits{HelloTimeout: 2 * time.Second}}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
}

func rawDial(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func frame(v any) []byte {
	b, err := marshalFrame(v)
	if err != nil {
		panic(err)
	}
	return b
}

func helloFrame(versions ...uint32) []byte {
	body, _ := encMode.Marshal(&hello{Versions: versions})
	return frame(&request{Op: opHello, Body: body})
}

// closed reports whether the server closed c within two seconds (EOF, or
// a reset when it closed with our bytes unread).
func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := io.ReadAll(c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func TestHelloAndCall(t *testing.T) {
	s := serve(t, newEngine(t))
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkgs, err := c.EnumeratePackages(context.Background())
	if err != nil || len(pkgs) != 0 {
		t.Fatalf("EnumeratePackages = %v, %v", pkgs, err)
	}
	_, err = c.AcquireCredentials(context.Background(), &lsa.AcquireCredentialsRequest{Package: "Nope", Use: secpkg.CredentialInbound})
	if !errors.Is(err, secpkg.StatusPackageNotFound) {
		t.Fatalf("typed error lost: %v", err)
	}
}

func TestBadFramesDropOnlyTheirConnection(t *testing.T) {
	s := serve(t, newEngine(t))
	good, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, 0xFFFFFFFF)
	cases := map[string][]byte{
		"GarbageFirst":      bytes.Repeat([]byte{0xde, 0xad}, 40),
		"HugeLength":        huge,
		"ZeroLength":        {0, 0, 0, 0},
		"NotCBOR":           append(helloFrame(Version), 0, 0, 0, 3, 0xff, 0xff, 0xff),
		"RequestBeforeHelo": frame(&request{ID: 1, Op: opEnumeratePackages}),
		"CBORNotAMap":       append(helloFrame(Version), frame([]int{1, 2, 3})...),
		"SecondHello":       append(helloFrame(Version), helloFrame(Version)...),
		"Truncated":         append(helloFrame(Version), 0, 0, 1, 0, 0xa1),
		"IndefiniteLength":  append(helloFrame(Version), 0, 0, 0, 2, 0x9f, 0xff),
		"DuplicateKeys":     append(helloFrame(Version), 0, 0, 0, 7, 0xa2, 0x62, 'o', 'p', 0x60, 0x62, 'o', 'p'),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := rawDial(t, s.path)
			c.Write(b)
			if name == "Truncated" {
				c.(*net.UnixConn).CloseWrite()
			}
			if !closed(c) {
				t.Fatal("connection still open")
			}
			// Everyone else is still served.
			if _, err := good.EnumeratePackages(context.Background()); err != nil {
				t.Fatalf("other connection: %v", err)
			}
		})
	}
}

func TestUnknownVersion(t *testing.T) {
	s := serve(t, newEngine(t))
	c := rawDial(t, s.path)
	c.Write(helloFrame(Version-1, Version+1))
	b, err := readFrame(c, MaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := decMode.Unmarshal(b, &r); err != nil || r.Err == nil || r.Err.Status != uint32(secpkg.StatusUnsupportedFunction) {
		t.Fatalf("reply %+v, %v", r, err)
	}
	if !closed(c) {
		t.Fatal("connection still open")
	}
}

func TestUnknownOpAndBadBody(t *testing.T) {
	s := serve(t, newEngine(t))
	c := rawDial(t, s.path)
	c.Write(helloFrame(Version))
	if _, err := readFrame(c, MaxFrame); err != nil {
		t.Fatal(err)
	}
	c.Write(frame(&request{ID: 7, Op: "FlyToTheMoon"}))
	c.Write(frame(&request{ID: 8, Op: opFreeCredentials, Body: []byte{0x83, 1, 2, 3}}))
	got := map[uint64]uint32{}
	for i := 0; i < 2; i++ {
		b, err := readFrame(c, MaxFrame)
		if err != nil {
			t.Fatal(err)
		}
		var r reply
		decMode.Unmarshal(b, &r)
		if r.Err != nil {
			got[r.ID] = r.Err.Status
		}
	}
	if got[7] != uint32(secpkg.StatusUnsupportedFunction) || got[8] != uint32(secpkg.StatusInvalidParameter) {
		t.Fatalf("replies %v", got)
	}
}

func TestHelloTimeout(t *testing.T) {
	s := serve(t, newEngine(t))
	c := rawDial(t, s.path)
	start := time.Now()
	if !closed(c) && time.Since(start) > 5*time.Second {
		t.Fatal("silent connection kept open")
	}
}

func TestManyInFlight(t *testing.T) {
	s := serve(t, newEngine(t))
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.LogonSessions(context.Background()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestServerGoneAndBack(t *testing.T) {
	e := newEngine(t)
	s := serve(t, e)
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.EnumeratePackages(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.srv.Close()
	os.Remove(s.path)
	start := time.Now()
	_, err = c.EnumeratePackages(context.Background())
	if !errors.Is(err, secpkg.StatusInternalError) || time.Since(start) > 5*time.Second {
		t.Fatalf("call to a dead server: %v after %v", err, time.Since(start))
	}
	// A new LSA instance on the same socket: the client dials again, and
	// handles of the old instance are refused.
	e2 := newEngine(t)
	s.start(t, e2)
	if _, err := c.EnumeratePackages(context.Background()); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	old := lsa.SecHandle{Epoch: e.Epoch(), ID: 1}
	if err := c.FreeCredentials(context.Background(), old); !errors.Is(err, secpkg.StatusInvalidHandle) {
		t.Fatalf("old handle: %v", err)
	}
}

func TestCallTimeout(t *testing.T) {
	// A server that says hello and then never answers.
	dir, _ := os.MkdirTemp("", "lsarpc")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		readFrame(nc, MaxFrame)
		body, _ := encMode.Marshal(&helloReply{Version: Version})
		nc.Write(frame(&reply{Body: body}))
		io.Copy(io.Discard, nc)
	}()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.EnumeratePackages(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, secpkg.StatusInternalError) {
		t.Fatalf("hung call: %v", err)
	}
}

// probe runs in the child of TestOtherUID, as uid 65534.
func probe() {
	fail := func(f string, a ...any) { fmt.Printf("probe: "+f+"\n", a...); os.Exit(2) }
	var h lsa.SecHandle
	fmt.Sscanf(os.Getenv("LSARPC_HANDLE"), "%d:%d", &h.Epoch, &h.ID)
	c := &Client{path: os.Getenv("LSARPC_PROBE"), name: "probe"}
	cc, err := c.dial(context.Background())
	if err != nil {
		fail("dial: %v", err)
	}
	c.cur = cc
	defer c.Close()
	missing := lsa.SecHandle{Epoch: h.Epoch, ID: h.ID + 1}
	errOwned := c.FreeCredentials(context.Background(), h)
	errMissing := c.FreeCredentials(context.Background(), missing)
	if !errors.Is(errOwned, secpkg.StatusInvalidHandle) {
		fail("another uid freed the handle: %v", errOwned)
	}
	norm := func(err error, h lsa.SecHandle) string { return strings.ReplaceAll(err.Error(), h.String(), "H") }
	if norm(errOwned, h) != norm(errMissing, missing) {
		fail("existing and missing handles are told apart: %q vs %q", errOwned, errMissing)
	}
	if _, err := c.QueryCredentials(context.Background(), h); !errors.Is(err, secpkg.StatusInvalidHandle) {
		fail("another uid queried the handle: %v", err)
	}
	fmt.Printf("probe ok uid=%d\n", os.Getuid())
	os.Exit(0)
}

// rpcTest is a minimal package for the tests above: credentials only.
type rpcTest struct{ creds secpkg.HandleTable[bool] }

func init() { secpkg.Register("RPCTest", rpcTestPackage{}) }

type rpcTestPackage struct{}

func (rpcTestPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, &rpcTest{}, nil
}
func (rpcTestPackage) UserModeInitialize(uint32) (uint32, secpkg.UserPackage, error) {
	return 0, nil, secpkg.StatusUnsupportedFunction
}
func (p *rpcTest) Initialize(context.Context, uint32, *secpkg.Parameters, secpkg.LSAFunctions) error {
	return nil
}
func (p *rpcTest) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: "RPCTest"} }
func (p *rpcTest) AcquireCredentialsHandle(_ context.Context, req *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	if req.Principal == "block" {
		rpcBlocked <- struct{}{}
		<-rpcRelease
	}
	return &secpkg.Credentials{Handle: p.creds.Add(true), Name: "rpc"}, nil
}

// An AcquireCredentials call of RPCTest for the principal "block" says
// on rpcBlocked that it has begun, then waits for rpcRelease.
var rpcBlocked, rpcRelease = make(chan struct{}), make(chan struct{})

func (p *rpcTest) FreeCredentialsHandle(_ context.Context, h secpkg.Handle) error {
	p.creds.Delete(h)
	return nil
}
func (p *rpcTest) QueryCredentialsAttributes(_ context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: h, Name: "rpc"}, nil
}
func (p *rpcTest) InitLsaModeContext(context.Context, *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *rpcTest) AcceptLsaModeContext(context.Context, *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *rpcTest) DeleteContext(context.Context, secpkg.Handle) error { return nil }
func (p *rpcTest) QueryContextAttributes(context.Context, secpkg.Handle) (*secpkg.ContextAttributes, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *rpcTest) Shutdown(context.Context) error { return nil }

func FuzzDispatch(f *testing.F) {
	// Well-formed requests of several kinds, and their corruptions.
	f.Add(frame(&request{ID: 1, Op: opEnumeratePackages})[4:])
	body, _ := encMode.Marshal(toAcquireRequest(&lsa.AcquireCredentialsRequest{Package: "NTLM", Use: secpkg.CredentialOutbound, Identity: &secpkg.AuthIdentity{User: "u", Password: []byte("p")}}))
	f.Add(frame(&request{ID: 2, Op: opAcquireCredentials, Body: body})[4:])
	body, _ = encMode.Marshal(toInitializeRequest(&lsa.InitializeContextRequest{Target: "HOST/x", Token: []byte{1, 2, 3}, Bindings: &secpkg.ChannelBindings{ApplicationData: []byte("tls-unique:x")}}))
	f.Add(frame(&request{ID: 3, Op: opInitializeContext, Body: body})[4:])
	body, _ = encMode.Marshal(toMessageRequest(&lsa.MessageRequest{Op: lsa.OpMakeSignature, Buffers: []secpkg.Buffer{{Type: 1, Data: []byte("x")}}}))
	f.Add(frame(&request{ID: 4, Op: opProtectMessage, Body: body})[4:])
	f.Add([]byte{0xa0})
	e := newEngine(f)
	s := &Server{Authority: e}
	s.init()
	f.Fuzz(func(t *testing.T, b []byte) {
		var req request
		if err := decMode.Unmarshal(b, &req); err != nil {
			return
		}
		conn := e.Connect(secpkg.CallInfo{UID: 1000})
		defer conn.Close()
		c := &serverConn{s: s, l: &s.limits, conn: conn}
		out, err := c.dispatch(context.Background(), req.Op, req.Body)
		if err != nil && !secpkg.StatusOf(err).Failed() {
			t.Fatalf("error without a failure status: %v", err)
		}
		if out != nil {
			if _, err := encMode.Marshal(out); err != nil {
				t.Fatalf("reply does not encode: %v", err)
			}
		}
	})
}

// TestHandlers checks that the table serves exactly the operations of the
// protocol.
func TestHandlers(t *testing.T) {
	for _, op := range allOps {
		if handlers[op] == nil {
			t.Errorf("no handler for %s", op)
		}
	}
	if len(handlers) != len(allOps) {
		t.Errorf("%d handlers for %d operations", len(handlers), len(allOps))
	}
}

// BenchmarkRoundTrip is one call on an established connection: the cost
// of the protocol itself (framing, CBOR both ways, the socket).
func BenchmarkRoundTrip(b *testing.B) {
	s := serve(b, newEngine(b))
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.LogonSessions(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// fuzzConn is a net.Conn over bytes: reads come from r, writes vanish,
// and deadlines do nothing, so that the frame reader can be fuzzed without
// waiting on a clock.
type fuzzConn struct {
	net.Conn
	r io.Reader
}

func (c *fuzzConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *fuzzConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) Close() error                     { return nil }

// FuzzReadRequest feeds a connection's bytes after the hello to the
// server's frame reader: it reads requests until the bytes end or a frame
// is malformed, never panics, reserves each frame's length in the budget
// and gives back what it reserved for a frame it refused.
func FuzzReadRequest(f *testing.F) {
	for _, gc := range goldenCases() {
		if gc.op != "" && gc.op != opHello {
			f.Add(gc.encode(&testing.T{}))
		}
	}
	f.Add(append(header(MaxFrame), 0xa1)) // a frame that never ends
	f.Add([]byte{0, 0, 0, 0})             // zero length
	f.Add(append(frame(&request{ID: 1, Op: opDeleteContext, NoReply: true}), frame(&request{ID: 2, Op: opEnumeratePackages})...))
	s := &Server{}
	s.init()
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &serverConn{s: s, l: &s.limits, nc: &fuzzConn{r: bytes.NewReader(b)}, q: new(uidQuota)}
		c.r = bufio.NewReaderSize(c.nc, readBufferSize)
		var held int64
		for {
			req, size, err := c.readRequest()
			if err != nil {
				break
			}
			if req.id == 0 || req.op == "" || (req.call == nil) == (req.err == nil) {
				t.Fatalf("request %+v", req)
			}
			if req.err != nil && !secpkg.StatusOf(req.err).Failed() {
				t.Fatalf("decoding error without a failure status: %v", req.err)
			}
			held += size
		}
		if c.q.bytes != held {
			t.Fatalf("the budget holds %d bytes, the requests read %d", c.q.bytes, held)
		}
	})
}
