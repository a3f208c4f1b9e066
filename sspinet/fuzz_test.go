package sspinet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/sspinet"
)

var (
	fuzzOnce     sync.Once
	fuzzProvider *sspi.Provider
)

// fuzzConfigs shares one provider across fuzz inputs (an engine per input
// would dominate the run).
func fuzzConfigs(t *testing.T) (*sspinet.Config, *sspinet.Config) {
	fuzzOnce.Do(func() { fuzzProvider = newProvider(&testing.T{}) })
	return configs(fuzzProvider, sspinet.RecordsSealed)
}

// FuzzServerHandshake feeds arbitrary bytes to a server as the client's
// side of the handshake: it must end with an error (or, for a real
// handshake, succeed), never panic or hang.
func FuzzServerHandshake(f *testing.F) {
	// The records frame (sealed), then a token frame holding an NTLM
	// NEGOTIATE_MESSAGE prefix.
	f.Add([]byte{1, 4, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 8, 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0})
	// A token frame without the records frame.
	f.Add([]byte{1, 1, 0, 0, 0, 8, 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0})
	// Another record protection (session-key).
	f.Add([]byte{1, 4, 0, 0, 0, 1, 2})
	// An error frame with SEC_E_LOGON_DENIED.
	f.Add([]byte{1, 3, 0, 0, 0, 4, 0x80, 0x09, 0x03, 0x0c})
	// A record before the handshake.
	f.Add([]byte{1, 0x10, 0, 0, 0, 1, 0})
	// A huge length.
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff})
	// Another version.
	f.Add([]byte{2, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		_, scfg := fuzzConfigs(t)
		a, b := net.Pipe()
		defer a.Close()
		s := sspinet.Server(b, scfg)
		defer s.Close()
		// The input, then the end of the stream: every input ends the
		// handshake by itself (what the server sends is drained).
		go io.Copy(io.Discard, a)
		go func() {
			a.Write(in)
			a.Close()
		}()
		// A guard against a hang, not a condition of the input.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Handshake(ctx); errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the handshake on %x waited for its deadline", in)
		}
	})
}

// FuzzRecords feeds arbitrary bytes to an established server connection
// as the client's records: Read must return data or an error, never panic,
// hang or allocate beyond the record limit.
func FuzzRecords(f *testing.F) {
	// A record frame with a short payload; close_notify-sized garbage.
	f.Add([]byte{1, 0x10, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	// A handshake frame after the handshake.
	f.Add([]byte{1, 1, 0, 0, 0, 0})
	// A truncated header.
	f.Add([]byte{1, 0x10, 0})
	// A record over the limit.
	f.Add([]byte{1, 0x10, 0x00, 0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		ccfg, scfg := fuzzConfigs(t)
		c, s := pair(t, ccfg, scfg)
		defer c.Close()
		defer s.Close()
		// The input, then the end of the stream: every input ends the
		// reading by itself.
		go func() {
			c.NetConn().Write(in)
			c.NetConn().(*net.TCPConn).CloseWrite()
		}()
		// A guard against a hang, not a condition of the input.
		s.SetReadDeadline(time.Now().Add(time.Minute))
		buf := make([]byte, 1024)
		for {
			if _, err := s.Read(buf); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("reading %x waited for the deadline", in)
				}
				return
			}
		}
	})
}
