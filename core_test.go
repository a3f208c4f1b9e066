package sspi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/secpkg"
	"github.com/opensspi/sspi/secpkg/secpkgtest"
)

// TestLegs checks that each variant takes the number of legs it should,
// with ContinueNeeded on every leg but the last of each side.
func TestLegs(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	for n := 1; n <= 5; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c, s := pairFor(t, p, fmt.Sprintf("Fake%d", n), 0, 0)
			var tok []byte
			var statuses []sspi.Status
			for i := 0; i < n; i++ {
				var st sspi.Status
				var err error
				if i%2 == 0 {
					tok, st, err = c.Initialize(ctx, tok)
				} else {
					tok, st, err = s.Accept(ctx, tok)
				}
				if err != nil {
					t.Fatalf("token %d: %v", i, err)
				}
				statuses = append(statuses, st)
			}
			// The side that receives the last token finishes without one.
			var st sspi.Status
			var err error
			var out []byte
			if n%2 == 1 {
				out, st, err = s.Accept(ctx, tok)
			} else {
				out, st, err = c.Initialize(ctx, tok)
			}
			if err != nil || st != sspi.StatusOK || len(out) != 0 {
				t.Fatalf("final leg: %v %v %d bytes", st, err, len(out))
			}
			for i, st := range statuses {
				want := sspi.StatusContinueNeeded
				if i >= n-1 {
					want = sspi.StatusOK
				}
				if st != want {
					t.Errorf("token %d: status %v, want %v", i, st, want)
				}
			}
			if !c.Established() || !s.Established() {
				t.Fatal("not established")
			}
		})
	}
}

func TestCompleteNeeded(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	c, s := pairFor(t, p, "FakeComplete", sspi.ISCReqConfidentiality, 0)
	t1, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t2, _, err := s.Accept(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	t3, st, err := c.Initialize(ctx, t2)
	if err != nil || st != sspi.StatusCompleteNeeded {
		t.Fatalf("last client leg: %v, %v; want SEC_I_COMPLETE_NEEDED", st, err)
	}
	if _, err := c.Sign([]byte("x")); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Errorf("Sign before CompleteAuthToken: %v", err)
	}
	// Sending the token without completing it fails.
	c2, s2 := pairFor(t, p, "FakeComplete", 0, 0)
	if err := func() error {
		a, _, _ := c2.Initialize(ctx, nil)
		b, _, _ := s2.Accept(ctx, a)
		raw, _, _ := c2.Initialize(ctx, b)
		_, _, err := s2.Accept(ctx, raw)
		return err
	}(); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("uncompleted token: %v, want SEC_E_LOGON_DENIED", err)
	}
	t3, err = c.CompleteAuthToken(t3)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.Accept(ctx, t3); err != nil || st != sspi.StatusOK {
		t.Fatalf("server with the completed token: %v %v", st, err)
	}
	if _, err := c.CompleteAuthToken(t3); err == nil {
		t.Error("second CompleteAuthToken succeeded")
	}
	tok, err := c.Wrap([]byte("done"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Unwrap(tok); err != nil || string(got) != "done" {
		t.Fatalf("Unwrap: %q %v", got, err)
	}
}

func TestMappedAndUnmapped(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	for _, tc := range []struct {
		pkg    string
		mapped bool
	}{{"Fake3", true}, {"FakeUnmapped", false}} {
		c, s := established(t, p, tc.pkg)
		if c.Mapped() != tc.mapped || s.Mapped() != tc.mapped {
			t.Errorf("%s: mapped client %v server %v, want %v", tc.pkg, c.Mapped(), s.Mapped(), tc.mapped)
		}
		tok, err := c.Wrap([]byte("hi"), true)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.Unwrap(tok); err != nil || string(got) != "hi" {
			t.Fatalf("%s: Unwrap = %q, %v", tc.pkg, got, err)
		}
		ck, err := c.SessionKey()
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := s.SessionKey()
		if !bytes.Equal(ck, sk) || len(ck) == 0 {
			t.Errorf("%s: session keys differ", tc.pkg)
		}
		if _, err := c.Export(context.Background()); tc.mapped == (err != nil) {
			t.Errorf("%s: Export: %v", tc.pkg, err)
		}
	}
}

// A context is not mapped when this process lacks the user-mode half; the
// LSA keeps it and message calls take the slow path.
func TestNotMappableStaysInLSA(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	c, s := established(t, p, "Fake2")
	if !c.Mapped() {
		t.Fatal("Fake2 should map")
	}
	_ = s
}

func TestHandleOwnership(t *testing.T) {
	e := newEngine(t, nil)
	ctx := context.Background()
	a := e.Connect(engine.CurrentProcess())
	b := e.Connect(engine.CurrentProcess())
	defer a.Close()
	defer b.Close()
	cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "Fake2", Use: secpkg.CredentialOutbound, Identity: alice()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle})
	if err != nil {
		t.Fatal(err)
	}
	missing := lsa.SecHandle{Epoch: r.Context.Epoch, ID: r.Context.ID ^ 1}
	// Every call of b on a's handles fails exactly like a call on a handle
	// that does not exist: b cannot even tell a's handles exist.
	probes := []struct {
		name string
		call func(h lsa.SecHandle) error
	}{
		{"DeleteContext", func(h lsa.SecHandle) error { return b.DeleteContext(ctx, h) }},
		{"Initialize", func(h lsa.SecHandle) error {
			_, err := b.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: h})
			return err
		}},
		{"FreeCredentials", func(h lsa.SecHandle) error { return b.FreeCredentials(ctx, h) }},
		{"QuerySessionKey", func(h lsa.SecHandle) error { _, err := b.QuerySessionKey(ctx, h); return err }},
		{"ProtectMessage", func(h lsa.SecHandle) error {
			_, err := b.ProtectMessage(ctx, &lsa.MessageRequest{Context: h, Op: lsa.OpMakeSignature})
			return err
		}},
		{"CallPackage", func(h lsa.SecHandle) error { _, err := b.CallPackage(ctx, h, 1, nil); return err }},
	}
	for _, pr := range probes {
		for _, h := range []lsa.SecHandle{r.Context, cred.Handle} {
			errOwned := pr.call(h)
			errMissing := pr.call(missing)
			if !errors.Is(errOwned, sspi.StatusInvalidHandle) {
				t.Errorf("%s on another connection's handle: %v, want SEC_E_INVALID_HANDLE", pr.name, errOwned)
			}
			if strings.ReplaceAll(errOwned.Error(), h.String(), "H") != strings.ReplaceAll(errMissing.Error(), missing.String(), "H") {
				t.Errorf("%s: foreign handle %q and missing handle %q are told apart", pr.name, errOwned, errMissing)
			}
		}
	}
	// a still owns and can use them.
	if err := a.DeleteContext(ctx, r.Context); err != nil {
		t.Fatal(err)
	}
	if err := a.FreeCredentials(ctx, cred.Handle); err != nil {
		t.Fatal(err)
	}
}

func TestHandlesFromAnotherEngine(t *testing.T) {
	e1 := newEngine(t, nil)
	e2 := newEngine(t, nil)
	ctx := context.Background()
	a := e1.Connect(engine.CurrentProcess())
	defer a.Close()
	cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "Fake2", Use: secpkg.CredentialOutbound, Identity: alice()})
	if err != nil {
		t.Fatal(err)
	}
	b := e2.Connect(engine.CurrentProcess())
	defer b.Close()
	err = b.FreeCredentials(ctx, cred.Handle)
	if !errors.Is(err, sspi.StatusInvalidHandle) || !strings.Contains(err.Error(), "another LSA instance") {
		t.Fatalf("handle of another instance: %v", err)
	}
}

func TestQuota(t *testing.T) {
	e := newEngine(t, func(c *engine.Config) { c.MaxHandlesPerCaller = 3 })
	p := newProvider(t, e)
	ctx := context.Background()
	var creds []*sspi.Credentials
	for i := 0; i < 3; i++ {
		c, err := p.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil)
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, c)
	}
	if _, err := p.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil); !errors.Is(err, sspi.StatusInsufficientMemory) {
		t.Fatalf("fourth handle: %v, want SEC_E_INSUFFICIENT_MEMORY", err)
	}
	// The quota is per caller: a second connection of the same uid
	// shares it.
	other := newProvider(t, e)
	if _, err := other.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil); !errors.Is(err, sspi.StatusInsufficientMemory) {
		t.Fatalf("same uid on another connection: %v", err)
	}
	// A different uid has its own.
	third := sspi.NewProvider(e.Connect(secpkg.CallInfo{UID: 4242, GID: 4242, PID: 1}), nil)
	defer third.Close()
	if _, err := third.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil); err != nil {
		t.Fatalf("another uid: %v", err)
	}
	creds[0].Free()
	if _, err := p.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil); err != nil {
		t.Fatalf("after a free: %v", err)
	}
}

func TestLegLimit(t *testing.T) {
	e := newEngine(t, func(c *engine.Config) { c.MaxLegs = 2 })
	p := newProvider(t, e)
	c, s := pairFor(t, p, "Fake5", 0, 0)
	ctx := context.Background()
	t1, _, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t2, _, err := s.Accept(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	t3, _, err := c.Initialize(ctx, t2)
	if err != nil {
		t.Fatal(err)
	}
	t4, _, err := s.Accept(ctx, t3)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Initialize(ctx, t4)
	if !errors.Is(err, sspi.ErrInvalidToken) || !strings.Contains(err.Error(), "legs") {
		t.Fatalf("third client leg with MaxLegs 2: %v", err)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.Now() }
	e := newEngine(t, func(c *engine.Config) {
		c.Time = now
		c.HandshakeTimeout = time.Minute
		c.SweepInterval = 5 * time.Millisecond
	})
	p := newProvider(t, e)
	ctx := context.Background()
	// Stale context, continued by its owner.
	c, s := pairFor(t, p, "Fake3", 0, 0)
	t1, _, _ := c.Initialize(ctx, nil)
	t2, _, err := s.Accept(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clk.Advance(61 * time.Second)
	mu.Unlock()
	if _, _, err := c.Initialize(ctx, t2); !errors.Is(err, sspi.ErrContextExpired) {
		t.Fatalf("leg after the deadline: %v, want SEC_E_CONTEXT_EXPIRED", err)
	}
	// Abandoned context: the janitor frees the package's state; the
	// owner still learns why.
	c2, s2 := pairFor(t, p, "Fake3", 0, 0)
	u1, _, _ := c2.Initialize(ctx, nil)
	u2, _, err := s2.Accept(ctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	before := liveFakeContexts()
	mu.Lock()
	clk.Advance(2 * time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for liveFakeContexts() >= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := liveFakeContexts(); got >= before {
		t.Fatalf("package contexts %d after the janitor, %d before", got, before)
	}
	if _, _, err := c2.Initialize(ctx, u2); !errors.Is(err, sspi.ErrContextExpired) {
		t.Fatalf("leg on an expired context: %v", err)
	}
}

func TestStickyErrors(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	c, s := pairFor(t, p, "Fake3", 0, 0)
	t1, _, _ := c.Initialize(ctx, nil)
	t2, _, err := s.Accept(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), t2...)
	bad[len(bad)-1] ^= 1
	_, _, err1 := c.Initialize(ctx, bad)
	if err1 == nil {
		t.Fatal("altered token accepted")
	}
	// The good token cannot rescue the context.
	_, _, err2 := c.Initialize(ctx, t2)
	if err2 == nil || err2.Error() != err1.Error() {
		t.Fatalf("after a failure: %v, want the same error %v", err2, err1)
	}
	if err := c.Delete(); err != nil {
		t.Fatalf("Delete of a failed context: %v", err)
	}
}

func TestConnCloseFreesEverything(t *testing.T) {
	e := newEngine(t, nil)
	before := liveFakeContexts()
	p := sspi.NewProvider(e.Connect(engine.CurrentProcess()), nil)
	ctx := context.Background()
	for _, pkg := range allFakes {
		c, s := pairFor(t, p, pkg, 0, 0)
		c.Initialize(ctx, nil) // half-built
		_ = s
		established(t, p, pkg)
	}
	if st := e.Stats(); st.Contexts == 0 || st.Credentials == 0 {
		t.Fatalf("stats %+v: nothing held", st)
	}
	p.Close()
	if st := e.Stats(); st.Contexts != 0 || st.Credentials != 0 || st.Conns != 0 {
		t.Fatalf("after Close the LSA holds %+v", st)
	}
	if got := liveFakeContexts(); got != before {
		t.Fatalf("package contexts: %d, want %d", got, before)
	}
	if got := liveFakeCreds(); got != 0 {
		t.Fatalf("package credentials left: %d", got)
	}
	// Calls on a closed connection fail cleanly.
	if _, err := p.AcquireCredentials(ctx, "Fake1", sspi.CredentialInbound, nil); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("call after Close: %v", err)
	}
}

func TestCredentialsOutliveFree(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	cred, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()})
	if err != nil {
		t.Fatal(err)
	}
	scred, _ := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialInbound, nil)
	defer scred.Free()
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: testTarget})
	s := sspi.NewServerContext(scred, nil)
	t1, _, _ := c.Initialize(ctx, nil)
	if err := cred.Free(); err != nil {
		t.Fatal(err)
	}
	// The context still holds the credentials it started with.
	t2, _, err := s.Accept(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	t3, _, err := c.Initialize(ctx, t2)
	if err != nil {
		t.Fatalf("leg after FreeCredentials: %v", err)
	}
	if _, _, err := s.Accept(ctx, t3); err != nil {
		t.Fatal(err)
	}
	c.Delete()
	s.Delete()
	if _, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, &sspi.CredentialsOptions{Identity: alice()}); err != nil {
		t.Fatal(err)
	}
	if err := cred.Free(); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("second Free: %v", err)
	}
}

func TestWrongCredentialUse(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	in, _ := p.AcquireCredentials(ctx, "Fake2", sspi.CredentialInbound, nil)
	defer in.Free()
	c := sspi.NewClientContext(in, nil)
	if _, _, err := c.Initialize(ctx, nil); !errors.Is(err, sspi.StatusWrongCredentialHandle) {
		t.Fatalf("client with inbound credentials: %v", err)
	}
	if _, err := p.AcquireCredentials(ctx, "NoSuchPackage", sspi.CredentialInbound, nil); !errors.Is(err, sspi.ErrPackageNotFound) {
		t.Fatalf("unknown package: %v", err)
	}
	if _, err := p.AcquireCredentials(ctx, "Fake2", 0, nil); !errors.Is(err, sspi.StatusInvalidParameter) {
		t.Fatalf("no credential use: %v", err)
	}
}

func TestLogonSessions(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	ctx := context.Background()
	if _, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Fatalf("default credentials without a logon session: %v", err)
	}
	bad := alice()
	bad.Password = []byte("wrong")
	if _, err := p.LogonUser(ctx, "Fake3", bad); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Fatalf("LogonUser with a wrong password: %v", err)
	}
	ls, err := p.LogonUser(ctx, "Fake3", alice())
	if err != nil {
		t.Fatal(err)
	}
	if ls.User != testUser || ls.LogonID == 0 {
		t.Fatalf("logon session %+v", ls)
	}
	// Default credentials come from the logon session: no password here.
	cred, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Free()
	scred, _ := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialInbound, nil)
	defer scred.Free()
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: testTarget})
	s := sspi.NewServerContext(scred, nil)
	defer c.Delete()
	defer s.Delete()
	if err := secpkgtest.Handshake(ctx, c, s); err != nil {
		t.Fatalf("handshake with default credentials: %v", err)
	}
	id, _ := s.Identity()
	if id.User != testUser {
		t.Fatalf("identity %v", id)
	}
	// Another uid sees none of it.
	other := sspi.NewProvider(e.Connect(secpkg.CallInfo{UID: 4242, GID: 4242, PID: 7}), nil)
	defer other.Close()
	if l, _ := other.LogonSessions(ctx); len(l) != 0 {
		t.Fatalf("another uid sees %d logon sessions", len(l))
	}
	if _, err := other.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, &sspi.CredentialsOptions{LogonID: ls.LogonID}); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Fatalf("another uid using the logon session: %v", err)
	}
	if err := other.Logoff(ctx, ls.LogonID); err == nil {
		t.Fatal("another uid ended the logon session")
	}
	list, _ := p.LogonSessions(ctx)
	if len(list) != 1 || list[0].LogonID != ls.LogonID {
		t.Fatalf("LogonSessions = %+v", list)
	}
	if err := p.Logoff(ctx, ls.LogonID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AcquireCredentials(ctx, "Fake3", sspi.CredentialOutbound, nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Fatalf("default credentials after logoff: %v", err)
	}
}

func TestImportByAnotherUser(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	c, _ := established(t, p, "Fake3")
	blob, err := c.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other := sspi.NewProvider(e.Connect(secpkg.CallInfo{UID: 4242}), nil)
	defer other.Close()
	if _, err := other.ImportContext(context.Background(), blob); !errors.Is(err, sspi.StatusNotOwner) {
		t.Fatalf("import by another uid: %v, want SEC_E_NOT_OWNER", err)
	}
	// The owner can still import it.
	mine := newProvider(t, e)
	ic, err := mine.ImportContext(context.Background(), blob)
	if err != nil {
		t.Fatal(err)
	}
	ic.Delete()
}

func TestExportExpires(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.Now() }
	e := newEngine(t, func(c *engine.Config) {
		c.Time = now
		c.ExportLifetime = time.Minute
		c.HandshakeTimeout = 40 * time.Millisecond
	})
	p := newProvider(t, e)
	c, _ := established(t, p, "Fake3")
	blob, err := c.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.Stats().Exports != 1 {
		t.Fatal("no pending export")
	}
	mu.Lock()
	clk.Advance(2 * time.Minute)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().Exports != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := p.ImportContext(context.Background(), blob); !errors.Is(err, sspi.ErrInvalidToken) {
		t.Fatalf("import after expiry: %v", err)
	}
}

func TestConcurrentHandshakes(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pkg := allFakes[i%len(allFakes)]
			c, s := established(t, p, pkg)
			msg := []byte(fmt.Sprintf("message %d", i))
			for j := 0; j < 10; j++ {
				tok, err := c.Wrap(msg, true)
				if err != nil {
					errs <- err
					return
				}
				got, _, err := s.Unwrap(tok)
				if err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("%s: %q %v", pkg, got, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A context is used concurrently: calls are serialized and sequence
// numbers stay consistent.
func TestConcurrentMessagesOnOneContext(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	c, s := established(t, p, "Fake2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var toks [][]byte
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				mu.Lock()
				tok, err := c.Wrap([]byte("x"), true)
				if err == nil {
					toks = append(toks, tok)
				}
				mu.Unlock()
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for i, tok := range toks {
		if _, _, err := s.Unwrap(tok); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

func TestPackages(t *testing.T) {
	e := newEngine(t, func(c *engine.Config) { c.Packages = []string{"Fake3", "fake1"} })
	p := newProvider(t, e)
	pkgs, err := p.Packages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].Name != "Fake3" || pkgs[1].Name != "Fake1" {
		t.Fatalf("Packages = %+v", pkgs)
	}
	pi, err := p.QueryPackage(context.Background(), "FAKE1")
	if err != nil || pi.Name != "Fake1" || pi.MaxToken != 1024 || pi.Capabilities&sspi.CapIntegrity == 0 {
		t.Fatalf("QueryPackage = %+v, %v", pi, err)
	}
	if _, err := p.QueryPackage(context.Background(), "Fake2"); !errors.Is(err, sspi.ErrPackageNotFound) {
		t.Fatalf("disabled package: %v", err)
	}
	if _, err := engine.New(&engine.Config{Packages: []string{"Fake1", "Nope"}}); !errors.Is(err, sspi.ErrPackageNotFound) {
		t.Fatalf("engine with an unregistered package: %v", err)
	}
	if _, err := engine.New(&engine.Config{Packages: []string{"Fake1", "FAKE1"}}); err == nil {
		t.Fatal("engine with a package enabled twice")
	}
}

func TestAttributes(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	c, s := established(t, p, "Fake4")
	ctx := context.Background()
	name, err := s.Names()
	if err != nil || name != testDomain+`\`+testUser {
		t.Errorf("Names = %q, %v", name, err)
	}
	cn, sn, err := s.NativeNames()
	if err != nil || cn == "" || sn != testTarget {
		t.Errorf("NativeNames = %q %q %v", cn, sn, err)
	}
	ni, err := c.NegotiationInfo(ctx)
	if err != nil || ni.Package.Name != "Fake4" || ni.State != sspi.NegotiationComplete {
		t.Errorf("NegotiationInfo = %+v %v", ni, err)
	}
	pi, err := c.PackageInfo(ctx)
	if err != nil || pi.Name != "Fake4" {
		t.Errorf("PackageInfo = %+v %v", pi, err)
	}
	sz, err := c.Sizes()
	if err != nil || sz.MaxSignature != 24 || sz.SecurityTrailer != 25 {
		t.Errorf("Sizes = %+v %v", sz, err)
	}
	id, err := s.Identity()
	if err != nil || id.User != testUser || id.Domain != testDomain || id.Package != "Fake4" || id.String() != `EXAMPLE\alice` {
		t.Errorf("Identity = %+v %v", id, err)
	}
	if c.Flags()&sspi.ISCRetMutualAuth == 0 || s.Flags()&sspi.ASCRetConfidentiality == 0 {
		t.Errorf("flags client %v server %v", c.Flags(), s.Flags())
	}
	// Attributes are answered without the LSA: they still work after the
	// LSA connection is gone, for mapped contexts.
	if _, _, err := c.Lifespan(); err != nil {
		t.Errorf("Lifespan: %v", err)
	}
	c2, _ := pairFor(t, p, "Fake4", 0, 0)
	if _, err := c2.Sizes(); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Errorf("Sizes before the handshake: %v", err)
	}
}

// The user-mode half reaches its LSA-mode half through the callback
// channel (UserFunctions.CallLSA), in both modes.
func TestUserModeCallback(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			e := newEngine(t, nil)
			p := enginetest.Provider(t, e, mode)
			c, _ := established(t, p, "Fake2")
			fakeUserMu.Lock()
			fns, h := fakeUserFns["Fake2"], fakeLastHandle["Fake2"]
			fakeUserMu.Unlock()
			_ = c
			// The last mapped context is the server's; its user is alice.
			out, err := fns.CallLSA(context.Background(), h, 7, []byte("ping"))
			if err != nil || string(out) != "7:alice:ping" {
				t.Fatalf("CallLSA = %q, %v", out, err)
			}
			if _, err := fns.CallLSA(context.Background(), h+1000, 7, nil); !errors.Is(err, sspi.ErrInvalidHandle) {
				t.Fatalf("callback for an unknown context: %v", err)
			}
			if fns.Logger() == nil {
				t.Fatal("no logger")
			}
		})
	}
}

func TestApplyControlToken(t *testing.T) {
	e := newEngine(t, nil)
	p := newProvider(t, e)
	c, _ := established(t, p, "Fake2")
	ctx := context.Background()
	if err := c.ApplyControlToken(ctx, []sspi.Buffer{{Type: secpkg.BufferToken, Data: []byte("reset")}}); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyControlToken(ctx, []sspi.Buffer{{Type: secpkg.BufferToken, Data: []byte("?")}}); !errors.Is(err, sspi.ErrInvalidToken) {
		t.Fatalf("unknown control token: %v", err)
	}
}
