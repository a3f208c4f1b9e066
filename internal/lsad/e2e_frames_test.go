//go:build linux

package lsad_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// rawFrame is a length-prefixed CBOR frame of v, as the LSA protocol
// carries it (doc/lsa-protocol.md).
func rawFrame(v any) []byte {
	b, err := cbor.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func rawHello(versions ...int) []byte {
	return rawFrame(map[string]any{"id": 0, "op": "Hello", "body": map[string]any{"versions": versions}})
}

// header is a frame header declaring n bytes.
func header(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// dropped reports whether lsad closed c (EOF, or a reset when it closed
// with our bytes unread). The deadline only guards against a hang: lsad
// closes at once, however loaded the machine.
func dropped(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestE2EBadFrames sends garbage, truncated, oversized and out-of-order
// frames to a real lsad. Each offending connection is dropped; meanwhile
// other applications (of the same uid) go on: a handshake in progress,
// contexts mapped before, and handshakes running throughout. Afterwards
// lsad holds no trace of the dropped connections.
func TestE2EBadFrames(t *testing.T) {
	d := startDaemon(t, "frames", daemonOpts{})
	d.addUser(t, "alice", alicePassword)
	ctx := context.Background()
	app := d.provider(t)
	cc, sc := credentials(t, app, "alice", alicePassword)
	mapped := established(t, cc, sc, "alice")
	half := &pair{client: sspi.NewClientContext(cc, &sspi.ClientConfig{Target: target, Flags: e2eFlags}), server: sspi.NewServerContext(sc, nil)}
	neg, _, err := half.client.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := settledConns(t, d, 2) // the admin connection and app's

	// Handshakes from another application all along.
	var stop atomic.Bool
	var bg sync.WaitGroup
	var bgDone atomic.Int64
	bgErr := make(chan error, 1)
	bg.Go(func() {
		other := sspi.NewProvider(d.client(t), nil)
		defer other.Close()
		occ, osc := credentials(t, other, "alice", alicePassword)
		for !stop.Load() {
			pr, err := handshake(ctx, occ, osc)
			if err != nil {
				bgErr <- err
				return
			}
			pr.delete()
			bgDone.Add(1)
		}
	})

	nested := []byte{}
	for range 100 {
		nested = append(nested, 0x81) // array of one element, 100 deep
	}
	nested = append(nested, 0x01)
	cases := []struct {
		name      string
		send      []byte
		closeSend bool // half-close after sending (a truncated frame ends)
	}{
		{"Garbage", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64), false},
		{"LengthAllOnes", header(0xFFFFFFFF), false},
		{"LengthOneOverTheLimit", append(header(lsarpc.MaxFrame+1), make([]byte, 512)...), false},
		{"ZeroLength", header(0), false},
		{"HelloOverItsLimit", append(header(4097), make([]byte, 4097)...), false},
		{"RequestBeforeHello", rawFrame(map[string]any{"id": 1, "op": "EnumeratePackages"}), false},
		{"NoCommonVersion", rawHello(lsarpc.Version-1, lsarpc.Version+1), false},
		{"SecondHello", append(rawHello(lsarpc.Version), rawHello(lsarpc.Version)...), false},
		{"NotCBOR", append(rawHello(lsarpc.Version), append(header(3), 0xff, 0xff, 0xff)...), false},
		{"CBORNotAMap", append(rawHello(lsarpc.Version), rawFrame([]int{1, 2, 3})...), false},
		{"NoOp", append(rawHello(lsarpc.Version), rawFrame(map[string]any{"id": 1})...), false},
		{"AReplyInsteadOfARequest", append(rawHello(lsarpc.Version), rawFrame(map[string]any{"id": 1, "err": map[string]any{"status": 1}})...), false},
		{"IndefiniteLength", append(rawHello(lsarpc.Version), append(header(2), 0x9f, 0xff)...), false},
		{"DuplicateKeys", append(rawHello(lsarpc.Version), append(header(7), 0xa2, 0x62, 'o', 'p', 0x60, 0x62, 'o', 'p')...), false},
		{"NestedTooDeep", append(rawHello(lsarpc.Version), rawFrame(map[string]any{"id": 1, "op": "Logoff", "body": cbor.RawMessage(nested)})...), false},
		{"ArrayOfFourBillion", append(rawHello(lsarpc.Version), append(header(6), 0xa1, 0x9a, 0xff, 0xff, 0xff, 0xff)...), false},
		{"TruncatedFrame", append(rawHello(lsarpc.Version), append(header(256), 0xa2, 0x62)...), true},
		{"TruncatedHeader", append(rawHello(lsarpc.Version), 0, 0), true},
		{"TruncatedHello", rawHello(lsarpc.Version)[:9], true},
		{"GoodRequestThenGarbage", append(append(rawHello(lsarpc.Version), rawFrame(map[string]any{"id": 1, "op": "EnumeratePackages"})...), 0xff, 0xff, 0xff, 0xff, 0), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("unix", d.sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tc.send)
			if tc.closeSend {
				c.(*net.UnixConn).CloseWrite()
			}
			if !dropped(c) {
				t.Fatal("lsad kept the connection open")
			}
			if !d.alive() {
				t.Fatalf("lsad exited:\n%s", tail(d.logPath))
			}
		})
	}

	// A well-framed request that the LSA refuses is not a protocol
	// violation: an error reply, and the connection stays.
	t.Run("OversizedTokenInAGoodFrame", func(t *testing.T) {
		c := d.client(t)
		_, err := c.AcceptContext(ctx, &lsa.AcceptContextRequest{Token: make([]byte, 64<<10)})
		if !errors.Is(err, secpkg.StatusInvalidHandle) && !errors.Is(err, secpkg.StatusInvalidToken) {
			t.Fatalf("AcceptContext with a 64 KiB token: %v", err)
		}
		if _, err := c.EnumeratePackages(ctx); err != nil {
			t.Fatalf("connection dropped after a refused request: %v", err)
		}
	})

	stop.Store(true)
	bg.Wait()
	select {
	case err := <-bgErr:
		t.Fatalf("a handshake of another application failed during the bad frames: %v", err)
	default:
	}
	if bgDone.Load() == 0 {
		t.Fatal("no handshake of another application ran during the bad frames")
	}
	// The handshake in progress and the mapped pair are untouched.
	if err := finishHalf(ctx, half, neg); err != nil {
		t.Fatalf("handshake in progress across the bad frames: %v", err)
	}
	checkPair(t, half, "alice")
	exchange(t, half, "after the bad frames")
	exchange(t, mapped, "after the bad frames")
	half.delete()
	mapped.delete()
	now := settledConns(t, d, 2)
	if now.OpenFiles != base.OpenFiles || now.procFDs != base.procFDs {
		t.Fatalf("lsad has %d open files (/proc: %d), %d (%d) before the bad frames", now.OpenFiles, now.procFDs, base.OpenFiles, base.procFDs)
	}
}

// finishHalf completes a handshake whose client has sent neg.
func finishHalf(ctx context.Context, pr *pair, neg []byte) error {
	chal, _, err := pr.server.Accept(ctx, neg)
	if err != nil {
		return err
	}
	auth, _, err := pr.client.Initialize(ctx, chal)
	if err != nil {
		return err
	}
	_, _, err = pr.server.Accept(ctx, auth)
	return err
}

// settledConns waits until lsad has exactly conns connections and
// returns its statistics.
func settledConns(t *testing.T, d *daemon, conns int) *snapshot {
	t.Helper()
	var now snapshot
	eventually(t, 10*time.Second, func() error {
		now = snapshot{d.stats(t), d.fds()}
		if now.Engine.Conns != conns {
			return errors.New("connections not settled")
		}
		return nil
	})
	return &now
}
