package sspi_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// countingConn counts the InitializeContext calls that reach the LSA and,
// when spoil is set, changes the next token the provider says it sent.
type countingConn struct {
	lsa.Conn
	inits atomic.Int32
	spoil atomic.Bool
}

func (c *countingConn) InitializeContext(ctx context.Context, req *lsa.InitializeContextRequest) (*lsa.ContextReply, error) {
	c.inits.Add(1)
	if req.SentToken != nil && c.spoil.Swap(false) {
		r := *req
		r.SentToken = bytes.Clone(req.SentToken)
		r.SentToken[len(r.SentToken)-1] ^= 1
		req = &r
	}
	return c.Conn.InitializeContext(ctx, req)
}

// TestRepeatableFirstToken: NTLM's first token depends on the request
// alone, so a client context after the first with the same credentials,
// target and flags sends it without asking the LSA, and its second leg
// carries it: one InitializeContext call instead of two. A token the LSA
// no longer makes is refused (SEC_E_INVALID_TOKEN) and forgotten, and the
// next context asks again.
func TestRepeatableFirstToken(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			e := enginetest.New(t, &enginetest.Config{Packages: []string{"NTLM"},
				Accounts: []enginetest.Account{{Domain: testDomain, User: testUser, Password: testPassword}}})
			conn := &countingConn{Conn: mode.Connect(t, e)}
			p := sspi.NewProvider(conn, nil)
			t.Cleanup(func() { p.Close() })
			ctx := context.Background()
			cc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := p.AcquireCredentials(ctx, "NTLM", sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
			if err != nil {
				t.Fatal(err)
			}
			sealing := sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect
			withIdentify := sealing | sspi.ISCReqIdentify
			run := func(flags sspi.ISCFlags) (calls int32, err error) {
				before := conn.inits.Load()
				c := sspi.NewClientContext(cc, &sspi.ClientConfig{Target: testTarget, Flags: flags})
				s := sspi.NewServerContext(sc, nil)
				defer c.Delete()
				defer s.Delete()
				if err := secpkgtest.Handshake(ctx, c, s); err != nil {
					return conn.inits.Load() - before, err
				}
				// The context works: a sealed message each way.
				for _, d := range []struct{ from, to *sspi.Context }{{&c.Context, &s.Context}, {&s.Context, &c.Context}} {
					tok, err := d.from.Wrap([]byte("sealed"), true)
					if err != nil {
						t.Fatal(err)
					}
					if pt, enc, err := d.to.Unwrap(tok); err != nil || !enc || string(pt) != "sealed" {
						t.Fatalf("unwrap: %q, %v, %v", pt, enc, err)
					}
				}
				if !c.Mapped() || !s.Mapped() {
					t.Fatal("contexts not mapped")
				}
				return conn.inits.Load() - before, nil
			}
			want := func(flags sspi.ISCFlags, calls int32) {
				t.Helper()
				got, err := run(flags)
				if err != nil || got != calls {
					t.Fatalf("handshake with flags %v: %d InitializeContext calls, %v; want %d and success", flags, got, err, calls)
				}
			}
			want(sealing, 2)
			want(sealing, 1)
			want(sealing, 1)
			want(withIdentify, 2) // another request: asked once
			want(withIdentify, 1)

			conn.spoil.Store(true)
			if got, err := run(sealing); secpkg.StatusOf(err) != secpkg.StatusInvalidToken || got != 1 {
				t.Fatalf("a sent token the LSA does not make: %d calls, %v", got, err)
			}
			want(sealing, 2) // forgotten: the LSA makes it again
			want(sealing, 1)
		})
	}
}
