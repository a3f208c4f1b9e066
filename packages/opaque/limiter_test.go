package opaque

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/secpkg"
)

// TestHostileCallerKSF: a local user who starts many logins at once
// through the LSA engine (what lsad runs) gets one key stretch at a
// time (MaxConcurrentKSFPerCaller); its other logins wait, holding
// nothing but a context handle each, which the engine counts against the
// user's handle quota (one login more is refused with
// SEC_E_INSUFFICIENT_MEMORY); another user's login still gets a slot
// while the hostile user's stretch runs; the LSA never runs more than
// MaxConcurrentKSF stretches (its memory bound); and every login
// completes once the slots free up. The test waits on events from the
// package (a stretch waiting, a stretch starting), never on a clock.
func TestHostileCallerKSF(t *testing.T) {
	const (
		attackerUID = 65534
		victimUID   = 1000
		// The attacker's concurrent logins, as its own account: each
		// KE1 counts as a failure until its KE3 arrives (a client
		// learns from KE2 whether its guess was right), so more than
		// the lockout threshold would lock the account meanwhile.
		n        = 8
		attacker = "mallory"
	)
	// The attacker's handles: its credentials and n contexts.
	env := newBareEngineWith(t, nil, func(c *engine.Config) { c.MaxHandlesPerCaller = n + 1 })
	env.register(t, testDomain, testUser, []byte(testPassword))
	env.register(t, testDomain, attacker, []byte(testPassword))
	ctx := context.Background()
	server := env.provider(t)
	sc, err := server.AcquireCredentials(ctx, Name, sspi.CredentialInbound, &sspi.CredentialsOptions{Principal: testTarget})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Free()
	caller := func(uid uint32) *sspi.Provider {
		p := sspi.NewProvider(env.e.Connect(secpkg.CallInfo{UID: uid, GID: uid, PID: int32(uid)}), nil)
		t.Cleanup(func() { p.Close() })
		return p
	}
	// ke2For runs the first two legs of a login with cred and returns
	// the client context, ready for KE2, and KE2. The server's context is
	// deleted at once: the server's uid has the same handle quota.
	ke2For := func(cred *sspi.Credentials) (*sspi.ClientContext, []byte) {
		t.Helper()
		c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: testTarget})
		s := sspi.NewServerContext(sc, nil)
		defer s.Delete()
		t.Cleanup(func() { c.Delete() })
		ke1, st, err := c.Initialize(ctx, nil)
		if err != nil || st != sspi.StatusContinueNeeded {
			t.Fatalf("KE1: %v %v", st, err)
		}
		ke2, st, err := s.Accept(ctx, ke1)
		if err != nil || st != sspi.StatusContinueNeeded {
			t.Fatalf("KE2: %v %v", st, err)
		}
		return c, ke2
	}
	identity := func(user string) *sspi.CredentialsOptions {
		return &sspi.CredentialsOptions{Identity: &sspi.AuthIdentity{User: user, Domain: testDomain, Password: []byte(testPassword)}}
	}

	ac, err := caller(attackerUID).AcquireCredentials(ctx, Name, sspi.CredentialOutbound, identity(attacker))
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Free()
	clients := make([]*sspi.ClientContext, n)
	ke2s := make([][]byte, n)
	for i := range clients {
		clients[i], ke2s[i] = ke2For(ac)
	}
	// One context more is over the attacker's handle quota.
	if _, _, err := sspi.NewClientContext(ac, &sspi.ClientConfig{Target: testTarget}).Initialize(ctx, nil); !errors.Is(err, sspi.StatusInsufficientMemory) {
		t.Fatalf("a login over the handle quota: %v, want SEC_E_INSUFFICIENT_MEMORY", err)
	}

	var (
		mu               sync.Mutex
		running          = map[uint32]int{}
		total, maxTotal  int
		overPerCaller    bool
		started, waiting = make(chan uint32, 2*n), make(chan uint32, 2*n)
		release          = make(chan struct{})
		releaseOnce      sync.Once
	)
	// On failure, free the blocked stretches before the contexts are
	// deleted (cleanups run last first).
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	testHookStretchWaiting = func(uid uint32) { waiting <- uid }
	testHookStretching = func(uid uint32) {
		mu.Lock()
		running[uid]++
		total++
		maxTotal = max(maxTotal, total)
		if running[uid] > DefaultMaxConcurrentKSFPerCaller {
			overPerCaller = true
		}
		mu.Unlock()
		started <- uid
		<-release
		mu.Lock()
		running[uid]--
		total--
		mu.Unlock()
	}
	defer func() { testHookStretching, testHookStretchWaiting = nil, nil }()

	errs := make(chan error, n+1)
	for i, c := range clients {
		go func() {
			_, st, err := c.Initialize(ctx, ke2s[i])
			if err == nil && st != sspi.StatusOK {
				err = errors.New(st.String())
			}
			errs <- err
		}()
	}
	// One attacker stretch runs; the n-1 others wait for the attacker's
	// own slot. Every attacker login reports one of the two.
	var starts int
	for range n {
		select {
		case uid := <-started:
			starts++
			if uid != attackerUID {
				t.Fatalf("stretch started for uid %d", uid)
			}
		case uid := <-waiting:
			if uid != attackerUID {
				t.Fatalf("uid %d waiting", uid)
			}
		}
	}
	if starts != DefaultMaxConcurrentKSFPerCaller {
		t.Fatalf("%d of the attacker's stretches run at once, want %d", starts, DefaultMaxConcurrentKSFPerCaller)
	}
	// The victim's login gets the other slot meanwhile.
	vc, err := caller(victimUID).AcquireCredentials(ctx, Name, sspi.CredentialOutbound, identity(testUser))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Free()
	c, ke2 := ke2For(vc)
	go func() {
		_, st, err := c.Initialize(ctx, ke2)
		if err == nil && st != sspi.StatusOK {
			err = errors.New(st.String())
		}
		errs <- err
	}()
	if uid := <-started; uid != victimUID {
		t.Fatalf("stretch started for uid %d, want the victim's", uid)
	}
	releaseOnce.Do(func() { close(release) })
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Errorf("login: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if overPerCaller || maxTotal > engineConfig.maxConcurrentKSF() {
		t.Errorf("stretches at once: %d in all (limit %d), over the per-caller limit: %v", maxTotal, engineConfig.maxConcurrentKSF(), overPerCaller)
	}
}

// TestStretchLimiterShares: a caller uid gets its share of the slots; the
// LSA's own process (an embedded LSA's only application) and calls
// without caller information get every slot; no slot is lost on a wait
// given up.
func TestStretchLimiterShares(t *testing.T) {
	l := newStretchLimiter(2, 1)
	uid := func(u uint32) context.Context {
		return secpkg.WithCallInfo(context.Background(), secpkg.CallInfo{UID: u})
	}
	inProcess := secpkg.WithCallInfo(context.Background(), secpkg.CallInfo{UID: 7, InProcess: true})
	done, cancel := context.WithCancel(context.Background())
	cancel()
	gaveUp := func(ctx context.Context) context.Context {
		ci, _ := secpkg.CallInfoFrom(ctx)
		return secpkg.WithCallInfo(done, ci)
	}

	r1, err := l.acquire(uid(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.acquire(gaveUp(uid(5))); err == nil {
		t.Fatal("uid 5 got a second slot")
	}
	r2, err := l.acquire(uid(6))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.acquire(gaveUp(uid(7))); err == nil {
		t.Fatal("a third stretch ran with two slots")
	}
	r1()
	r2()
	a, err := l.acquire(inProcess)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.acquire(inProcess)
	if err != nil {
		t.Fatal("the LSA's own process did not get every slot")
	}
	a()
	b()
	c, err1 := l.acquire(context.Background())
	d, err2 := l.acquire(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatal("calls without caller information did not get every slot")
	}
	c()
	d()
	if len(l.callers) != 0 || len(l.all) != 0 {
		t.Fatalf("slots left taken: %d callers, %d slots", len(l.callers), len(l.all))
	}
}
