package lsarpc

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// serveLimits serves a fresh engine (with the RPCTest package) under l;
// every caller is unprivileged unless priv says otherwise.
func serveLimits(t *testing.T, l Limits, priv func(secpkg.CallInfo) bool) (string, *Server) {
	t.Helper()
	e, err := engine.New(&engine.Config{Packages: []string{"RPCTest"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	dir, err := os.MkdirTemp("", "lsarpc")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if priv == nil {
		priv = func(secpkg.CallInfo) bool { return false }
	}
	srv := &Server{Authority: e, Limits: l, Privileged: priv}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	return path, srv
}

func dial(t *testing.T, path string) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// rawHello connects and says hello, and returns the connection with the
// hello reply read.
func rawHello(t *testing.T, path string) net.Conn {
	t.Helper()
	c := rawDial(t, path)
	c.Write(helloFrame(Version))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readFrame(c, MaxFrame); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// notice reads the frame a server sends as it closes a connection, and
// the end of the connection after it.
func notice(t *testing.T, c net.Conn) *wireError {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := readFrame(c, MaxFrame)
	if err != nil {
		t.Fatalf("no notice: %v", err)
	}
	var r reply
	if err := decMode.Unmarshal(b, &r); err != nil || r.ID != 0 || r.Err == nil {
		t.Fatalf("notice %+v, %v", r, err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed after the notice: %v", err)
	}
	return r.Err
}

func TestConnectionLimits(t *testing.T) {
	var priv atomic.Bool
	path, _ := serveLimits(t, Limits{MaxConns: 5, ReservedConns: 2, MaxConnsPerUID: 2}, func(secpkg.CallInfo) bool { return priv.Load() })
	for range 2 {
		if _, err := dial(t, path); err != nil {
			t.Fatal(err)
		}
	}
	// The third of this uid is refused before its hello, with the reason.
	_, err := dial(t, path)
	if !errors.Is(err, secpkg.StatusInsufficientMemory) || !strings.Contains(err.Error(), "limit of 2 connections") {
		t.Fatalf("third connection of a uid: %v", err)
	}
	// A privileged caller is free of the per-uid limit and may use the
	// reserve: 3 of 5 connections, then 5 of 5.
	priv.Store(true)
	for range 3 {
		if _, err := dial(t, path); err != nil {
			t.Fatalf("privileged caller: %v", err)
		}
	}
	if _, err := dial(t, path); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("connection over MaxConns: %v", err)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	path, _ := serveLimits(t, Limits{IdleTimeout: 50 * time.Millisecond}, nil)
	// A connection that holds nothing is told, then closed.
	c := rawHello(t, path)
	if w := notice(t, c); w.Status != uint32(secpkg.StatusContextExpired) {
		t.Fatalf("idle notice %+v", w)
	}

	// One that holds a handle is left alone: it has been idle longer than
	// a second connection, which is closed for it.
	ctx := context.Background()
	holder, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := holder.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "RPCTest", Use: secpkg.CredentialInbound})
	if err != nil {
		t.Fatal(err)
	}
	holderConn := holder.cur
	other, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads a connection without a call in flight: the notice
	// waits in the socket for the client's next call (read here instead).
	if w := notice(t, other.cur.nc); w.Status != uint32(secpkg.StatusContextExpired) {
		t.Fatalf("other connection's idle notice %+v", w)
	}
	if _, err := holder.QueryCredentials(ctx, cred.Handle); err != nil || holder.cur != holderConn {
		t.Fatalf("the connection holding a handle: %v (same connection: %v)", err, holder.cur == holderConn)
	}
	// The closed client dials again on its next call.
	if _, err := other.EnumeratePackages(ctx); err != nil {
		t.Fatalf("after an idle close: %v", err)
	}
	// Once the handle is freed, the holder's connection may close too.
	if err := holder.FreeCredentials(ctx, cred.Handle); err != nil {
		t.Fatal(err)
	}
	if w := notice(t, holderConn.nc); w.Status != uint32(secpkg.StatusContextExpired) {
		t.Fatalf("holder's idle notice %+v", w)
	}
}

// TestDrainedRequestSentAgain: a server that read a request but says it
// closed the connection idle (it read nothing after its notice) gets the
// request again on a new connection.
func TestDrainedRequestSentAgain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	welcome := func(nc net.Conn) {
		readFrame(nc, MaxFrame)
		body, _ := encMode.Marshal(&helloReply{Version: Version})
		nc.Write(frame(&reply{Body: body}))
	}
	go func() {
		// The first connection: hello, then the notice as the request
		// arrives, and the end.
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		welcome(nc)
		readFrame(nc, MaxFrame)
		nc.Write(frame(&reply{Err: &wireError{Status: uint32(secpkg.StatusContextExpired), Msg: "idle"}}))
		nc.Close()
		// The second answers.
		nc, err = ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		welcome(nc)
		b, _ := readFrame(nc, MaxFrame)
		var req request
		decMode.Unmarshal(b, &req)
		body, _ := encMode.Marshal(&packagesReply{Packages: []wirePackageInfo{{Name: "Again"}}})
		nc.Write(frame(&reply{ID: req.ID, Body: body}))
		io.Copy(io.Discard, nc)
	}()
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.EnumeratePackages(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Name != "Again" {
		t.Fatalf("EnumeratePackages = %v, %v", ps, err)
	}
}

func TestFrameTimeout(t *testing.T) {
	path, _ := serveLimits(t, Limits{FrameTimeout: 50 * time.Millisecond}, nil)
	for _, partial := range [][]byte{{0, 0}, {0, 0, 1, 0, 0xa2}, append(header(MaxFrame), make([]byte, 100<<10)...)} {
		c := rawHello(t, path)
		c.Write(partial)
		if !closed(c) {
			t.Fatalf("a frame begun with % x… never finished, and the connection is still open", partial[:min(8, len(partial))])
		}
	}
}

// TestByteBudget: while one connection holds its uid's whole budget with
// a frame it does not finish, the uid's other calls wait; when the budget
// comes back (the hog goes), they run.
func TestByteBudget(t *testing.T) {
	path, srv := serveLimits(t, Limits{MaxBytesPerUID: MaxFrame}, nil)
	hog := rawHello(t, path)
	hog.Write(append(header(MaxFrame), 0xa2))
	uid := uint32(os.Getuid())
	for {
		srv.mu.Lock()
		q := srv.uids[uid]
		srv.mu.Unlock()
		q.mu.Lock()
		held := q.bytes
		q.mu.Unlock()
		if held == MaxFrame {
			break
		}
		runtime.Gosched()
	}
	c, err := dial(t, path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.EnumeratePackages(context.Background())
		done <- err
	}()
	hog.Close()
	if err := <-done; err != nil {
		t.Fatalf("a call after the budget came back: %v", err)
	}
}

func header(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
