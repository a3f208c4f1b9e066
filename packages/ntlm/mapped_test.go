package ntlm

import (
	"bytes"
	"context"
	"testing"

	"github.com/opensspi/sspi/secpkg"
)

// lsaSign signs msg with the LSA-mode (unmapped, slow path) context h.
func lsaSign(p *lsaPackage, h secpkg.Handle, msg string) ([]secpkg.Buffer, error) {
	buf := []secpkg.Buffer{{Type: secpkg.BufferData, Data: []byte(msg)}, {Type: secpkg.BufferToken, Data: make([]byte, 16)}}
	return buf, p.MakeSignature(context.Background(), h, 0, buf, 0)
}

// TestContextMappedDropsKeys checks secpkg.ContextMapper: once the LSA has
// handed a context to the application, the LSA-mode copy holds no key any
// more (the slow path refuses) while its attributes still answer and the
// mapped copies keep working; a context never mapped keeps its keys.
func TestContextMappedDropsKeys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	r := e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)

	// Before mapping: the LSA-mode copies work (the unmapped path).
	buf, err := lsaSign(e.cli, r.cliCtx, "slow path")
	if err != nil {
		t.Fatalf("LSA-mode MakeSignature before mapping: %v", err)
	}
	if _, err := r.srvUser.VerifySignature(buf, 0); err != nil {
		t.Fatalf("verify of an LSA-mode signature: %v", err)
	}
	if _, err := e.srv.QuerySessionKey(ctx, r.srvCtx); err != nil {
		t.Fatalf("LSA-mode session key before mapping: %v", err)
	}

	e.cli.ContextMapped(ctx, r.cliCtx)
	e.srv.ContextMapped(ctx, r.srvCtx)
	e.srv.ContextMapped(ctx, r.srvCtx) // twice is harmless
	e.srv.ContextMapped(ctx, 12345)    // an unknown handle is ignored

	for _, c := range []struct {
		p *lsaPackage
		h secpkg.Handle
	}{{e.cli, r.cliCtx}, {e.srv, r.srvCtx}} {
		lc, _ := c.p.ctxs.Get(c.h)
		if lc.sess.sec != nil || lc.sess.hasKeys || lc.sess.exportedKey != ([16]byte{}) {
			t.Fatalf("LSA-mode context still holds keys after ContextMapped")
		}
		if _, err := lsaSign(c.p, c.h, "x"); secpkg.StatusOf(err) != secpkg.StatusUnsupportedFunction {
			t.Errorf("LSA-mode MakeSignature after mapping: %v, want SEC_E_UNSUPPORTED_FUNCTION", err)
		}
		if _, err := c.p.QuerySessionKey(ctx, c.h); secpkg.StatusOf(err) != secpkg.StatusUnsupportedFunction {
			t.Errorf("LSA-mode session key after mapping: %v", err)
		}
	}
	attrs, err := e.srv.QueryContextAttributes(ctx, r.srvCtx)
	if err != nil || attrs.Identity == nil || attrs.Identity.User != testUser || attrs.UserName != `EXAMPLE\alice` {
		t.Fatalf("attributes after mapping: %+v, %v", attrs, err)
	}
	// The mapped copies are the application's and are untouched. The
	// client's LSA-mode copy signed one message above; the server's
	// mapped copy verified it, so they agree on sequence numbers.
	signRoundTrip(t, r.srvUser, r.cliUser, "server to client")
	sealRoundTrip(t, r.srvUser, r.cliUser, "sealed, server to client")
	if err := e.cli.DeleteContext(ctx, r.cliCtx); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.DeleteContext(ctx, r.srvCtx); err != nil {
		t.Fatal(err)
	}

	// A context the LSA keeps unmapped is never told: its keys stay, and
	// the slow path works on both sides for as long as it lives.
	r = e.handshake(hsOpts{})
	wantStatus(t, r.err(), secpkg.StatusOK)
	for i := range 3 {
		buf, err := lsaSign(e.cli, r.cliCtx, "unmapped")
		if err != nil {
			t.Fatalf("unmapped MakeSignature #%d: %v", i, err)
		}
		if _, err := e.srv.VerifySignature(ctx, r.srvCtx, buf, 0); err != nil {
			t.Fatalf("unmapped VerifySignature #%d: %v", i, err)
		}
	}
	k1, _ := e.cli.QuerySessionKey(ctx, r.cliCtx)
	k2, _ := e.srv.QuerySessionKey(ctx, r.srvCtx)
	if len(k1) != 16 || !bytes.Equal(k1, k2) {
		t.Fatalf("unmapped session keys %x, %x", k1, k2)
	}
}
