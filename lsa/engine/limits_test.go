package engine_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/engine/enginetest"
	"github.com/opensspi/sspi/secpkg"
)

// limitsTest is an LSA-only package as cheap as a package can be, so that
// the tests below measure the engine: one-leg contexts that map (or stay
// unfinished for the target "unfinished", keeping every input token as a
// multi-leg package keeps its handshake messages), and a logon that
// creates a logon session holding one small credential.
type limitsTest struct {
	mu   sync.Mutex
	fns  secpkg.LSAFunctions
	next secpkg.Handle
	kept map[secpkg.Handle][]byte // unfinished contexts' input
}

var limitsPkg = &limitsTest{kept: map[secpkg.Handle][]byte{}}

func init() { secpkg.Register("LimitsTest", limitsPackage{}) }

type limitsPackage struct{}

func (limitsPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	return secpkg.InterfaceVersion, limitsPkg, nil
}
func (p *limitsTest) Initialize(_ context.Context, _ uint32, _ *secpkg.Parameters, fns secpkg.LSAFunctions) error {
	p.mu.Lock()
	p.fns = fns
	p.mu.Unlock()
	return nil
}
func (p *limitsTest) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: "LimitsTest"} }
func (p *limitsTest) handle() secpkg.Handle {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	return p.next
}
func (p *limitsTest) AcquireCredentialsHandle(context.Context, *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: p.handle(), Name: "l"}, nil
}
func (p *limitsTest) FreeCredentialsHandle(context.Context, secpkg.Handle) error { return nil }
func (p *limitsTest) QueryCredentialsAttributes(_ context.Context, h secpkg.Handle) (*secpkg.Credentials, error) {
	return &secpkg.Credentials{Handle: h, Name: "l"}, nil
}
func (p *limitsTest) InitLsaModeContext(_ context.Context, req *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	h := req.Context
	if h == 0 {
		h = p.handle()
	}
	if req.Target == "unfinished" {
		p.mu.Lock()
		p.kept[h] = append(p.kept[h], req.Token...)
		p.mu.Unlock()
		return &secpkg.ContextResult{Context: h, Status: secpkg.StatusContinueNeeded, Token: []byte("more")}, nil
	}
	return &secpkg.ContextResult{Context: h, Status: secpkg.StatusOK, Token: []byte("t"), Mapped: true, ContextData: make([]byte, 32)}, nil
}
func (p *limitsTest) AcceptLsaModeContext(context.Context, *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	return &secpkg.ContextResult{Context: p.handle(), Status: secpkg.StatusOK, Mapped: true, ContextData: make([]byte, 32)}, nil
}
func (p *limitsTest) DeleteContext(_ context.Context, h secpkg.Handle) error {
	p.mu.Lock()
	delete(p.kept, h)
	p.mu.Unlock()
	return nil
}
func (p *limitsTest) QueryContextAttributes(context.Context, secpkg.Handle) (*secpkg.ContextAttributes, error) {
	return &secpkg.ContextAttributes{UserName: "l"}, nil
}
func (p *limitsTest) Shutdown(context.Context) error { return nil }
func (p *limitsTest) LogonUser(ctx context.Context, req *secpkg.LogonRequest) (*secpkg.LogonResult, error) {
	p.mu.Lock()
	fns := p.fns
	p.mu.Unlock()
	id, err := fns.CreateLogonSession(ctx, req.Identity.User, "LIMITS")
	if err != nil {
		return nil, err
	}
	if err := fns.AddCredential(ctx, id, "nt-hash", make([]byte, 16)); err != nil {
		return nil, err
	}
	return &secpkg.LogonResult{LogonID: id, User: req.Identity.User, Domain: "LIMITS"}, nil
}

const (
	attackerUID = 65534
	victimUID   = 1000
)

// limitsEngine is an engine with LimitsTest only; mod adjusts its
// configuration.
func limitsEngine(t testing.TB, mod func(*engine.Config)) *engine.Engine {
	t.Helper()
	return enginetest.New(t, &enginetest.Config{Packages: []string{"LimitsTest"}, Engine: mod})
}

func callerConn(t testing.TB, e *engine.Engine, uid uint32) lsa.Conn {
	t.Helper()
	c := e.Connect(secpkg.CallInfo{UID: uid, GID: uid, PID: int32(uid)})
	t.Cleanup(func() { c.Close() })
	return c
}

// victim makes the calls of an ordinary client (acquire credentials, one
// leg, delete, free) on its own connection and records each call's
// latency: at least min rounds, and until stop is closed if it is not
// nil.
func victim(t testing.TB, c lsa.Conn, stop <-chan struct{}, min int) []time.Duration {
	ctx := context.Background()
	var lat []time.Duration
	timed := func(f func() error) {
		t0 := time.Now()
		if err := f(); err != nil {
			t.Errorf("victim: %v", err)
		}
		lat = append(lat, time.Since(t0))
	}
	for i := 0; ; i++ {
		if i >= min {
			if stop == nil {
				return lat
			}
			select {
			case <-stop:
				return lat
			default:
			}
		}
		var cred *lsa.CredentialsReply
		var r *lsa.ContextReply
		timed(func() (err error) {
			cred, err = c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
			return err
		})
		if cred == nil {
			return lat
		}
		timed(func() (err error) {
			r, err = c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: "v"})
			return err
		})
		if r != nil {
			timed(func() error { return c.DeleteContext(ctx, r.Context) })
		}
		timed(func() error { return c.FreeCredentials(ctx, cred.Handle) })
	}
}

// percentiles returns the 50th and 99th percentiles.
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// victimBound is the generous bound on the victim's p99 call latency: the
// figures (a few microseconds to a few hundred under -race on a busy
// machine) are in the test log; a scan of the attacker's state on every
// call would show as tens of milliseconds.
const victimBound = 250 * time.Millisecond

// attack runs flood as the attacker while the victim measures, then
// measures the victim again with the attacker's state still held; it
// logs and checks the victim's latency.
func attack(t *testing.T, e *engine.Engine, flood func()) {
	t.Helper()
	v := callerConn(t, e, victimUID)
	victim(t, v, nil, 10) // warm up
	stop := make(chan struct{})
	done := make(chan []time.Duration)
	go func() { done <- victim(t, v, stop, 100) }()
	flood()
	close(stop)
	during := <-done
	after := victim(t, v, nil, 1000)
	d50, d99 := percentiles(during)
	a50, a99 := percentiles(after)
	t.Logf("victim latency during the flood: p50 %v p99 %v (%d calls); afterwards, the attacker's state held: p50 %v p99 %v (%d calls)",
		d50, d99, len(during), a50, a99, len(after))
	if d99 > victimBound || a99 > victimBound {
		t.Errorf("victim p99 %v during, %v after the flood; want at most %v", d99, a99, victimBound)
	}
}

// TestLogonSessionFlood: one uid logging on again and again must not
// grow the LSA without bound nor slow other uids down. Before the fix
// every logon session lived forever and every call of every uid scanned
// all of them under one lock.
func TestLogonSessionFlood(t *testing.T) {
	const n = 10000
	e := limitsEngine(t, nil)
	ctx := context.Background()
	a := callerConn(t, e, attackerUID)
	base := heap()
	attack(t, e, func() {
		for i := range n {
			if _, err := a.LogonUser(ctx, &lsa.LogonUserRequest{Package: "LimitsTest", Identity: secpkg.AuthIdentity{User: fmt.Sprint("u", i)}}); err != nil {
				t.Fatalf("logon %d: %v", i, err)
			}
		}
	})
	grown := int64(heap()) - int64(base)
	list, err := a.LogonSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d logons: %d logon sessions held, heap grew %d bytes", n, len(list), grown)
	const maxSessions = 64 // engine.DefaultMaxLogonSessionsPerCaller
	if st := e.Stats(); len(list) > maxSessions || st.LogonSessions > maxSessions {
		t.Errorf("%d logons left %d logon sessions (%d listed); want at most %d", n, st.LogonSessions, len(list), maxSessions)
	}
	// 64 sessions of about a kilobyte; 10000 would be over 7 MB.
	if grown > 1<<20 {
		t.Errorf("the heap grew by %d bytes; want under 1 MiB", grown)
	}
	// The newest session still gives default credentials.
	if list[len(list)-1].User != fmt.Sprint("u", n-1) {
		t.Errorf("newest logon session is %+v", list[len(list)-1])
	}
}

// TestExportFlood: contexts exported and never imported stay in the LSA
// until they expire; they count against the exporter's handle quota.
// Before the fix an export left the quota, so one uid could park any
// number of contexts in the LSA.
func TestExportFlood(t *testing.T) {
	const quota, n = 1000, 5000
	e := limitsEngine(t, func(c *engine.Config) {
		c.MaxHandlesPerCaller = quota
	})
	ctx := context.Background()
	a := callerConn(t, e, attackerUID)
	cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
	if err != nil {
		t.Fatal(err)
	}
	base := heap()
	var exported, refused int
	attack(t, e, func() {
		for range n {
			r, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, CanMap: true})
			if errors.Is(err, secpkg.StatusInsufficientMemory) {
				refused++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.ExportContext(ctx, r.Context, []byte("user-mode state")); err != nil {
				t.Fatal(err)
			}
			exported++
		}
	})
	grown := int64(heap()) - int64(base)
	st := e.Stats()
	t.Logf("%d exports, %d refused: %+v, heap grew %d bytes", exported, refused, st, grown)
	if held := st.Credentials + st.Contexts + st.Exports; held > quota {
		t.Errorf("the attacker holds %d handles and exports; the quota is %d", held, quota)
	}
	if refused == 0 {
		t.Error("no export was refused")
	}
	// About a kilobyte per pending export.
	if grown > 4*quota<<10 {
		t.Errorf("the heap grew by %d bytes; want under %d", grown, 4*quota<<10)
	}
	// Another uid is not affected by the attacker's quota.
	v := callerConn(t, e, victimUID)
	vc, err := v.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: vc.Handle, CanMap: true})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := v.ExportContext(ctx, r.Context, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callerConn(t, e, victimUID).ImportContext(ctx, blob); err != nil {
		t.Fatal(err)
	}
}

// TestHandleFlood: one uid filling its handle quota with credentials and
// unfinished contexts, and opening and closing connections meanwhile,
// neither reaches past the quota nor slows other uids: closing a
// connection walks that connection's handles only, never the engine's.
func TestHandleFlood(t *testing.T) {
	const quota = 5000
	e := limitsEngine(t, func(c *engine.Config) {
		c.MaxHandlesPerCaller = quota
	})
	ctx := context.Background()
	a := callerConn(t, e, attackerUID)
	base := heap()
	var held, refused int
	attack(t, e, func() {
		for i := range 2 * quota {
			cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
			if errors.Is(err, secpkg.StatusInsufficientMemory) {
				refused++
			} else if err != nil {
				t.Fatal(err)
			} else {
				held++
				if i%2 == 0 {
					if _, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: "unfinished"}); err == nil {
						held++
					} else if !errors.Is(err, secpkg.StatusInsufficientMemory) {
						t.Fatal(err)
					}
				}
			}
			if i%100 == 0 {
				// Churn: a connection of the same uid, used once and closed.
				b := e.Connect(secpkg.CallInfo{UID: attackerUID})
				b.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
				b.Close()
			}
		}
	})
	grown := int64(heap()) - int64(base)
	st := e.Stats()
	t.Logf("%d handles held, %d refused: %+v, heap grew %d bytes", held, refused, st, grown)
	if st.Credentials+st.Contexts > quota || held != quota {
		t.Errorf("the attacker holds %d (%+v); the quota is %d", held, st, quota)
	}
	// Some hundreds of bytes per handle, the package's state included.
	if grown > quota<<10 {
		t.Errorf("the heap grew by %d bytes; want under %d", grown, quota<<10)
	}
}

// TestHandshakeBytesFlood: unfinished handshakes keep their tokens (a
// multi-leg package keeps its messages for a MIC); one uid's unfinished
// handshakes may hold MaxHandshakeBytesPerCaller of them, not
// handles × legs × MaxTokenSize.
func TestHandshakeBytesFlood(t *testing.T) {
	const budget = 4 << 20
	e := limitsEngine(t, func(c *engine.Config) {
		c.MaxHandshakeBytesPerCaller = budget
	})
	ctx := context.Background()
	a := callerConn(t, e, attackerUID)
	cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, engine.DefaultMaxTokenSize)
	base := heap()
	var open []lsa.SecHandle
	refused := 0
	attack(t, e, func() {
		for range 1000 {
			r, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: "unfinished", Token: big})
			if errors.Is(err, secpkg.StatusInsufficientMemory) {
				refused++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, r.Context)
			// A second leg, as big: refused once the budget is spent,
			// which fails that context (sticky).
			if _, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Context: r.Context, Target: "unfinished", Token: big}); err != nil && !errors.Is(err, secpkg.StatusInsufficientMemory) {
				t.Fatal(err)
			}
		}
	})
	grown := int64(heap()) - int64(base)
	t.Logf("%d unfinished handshakes, %d refused; heap grew %d bytes (budget %d)", len(open), refused, grown, budget)
	if refused == 0 || len(open) > budget/len(big) {
		t.Errorf("%d handshakes of %d-byte tokens open, %d refused, with a budget of %d bytes", len(open), len(big), refused, budget)
	}
	if grown > 2*budget {
		t.Errorf("the heap grew by %d bytes; want under %d", grown, 2*budget)
	}
	// Deleting them gives the budget back.
	for _, h := range open {
		if err := a.DeleteContext(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: "unfinished", Token: big}); err != nil {
		t.Fatalf("after deleting: %v", err)
	}
	// Another uid has its own budget all along.
	v := callerConn(t, e, victimUID)
	vc, err := v.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: vc.Handle, Target: "unfinished", Token: big}); err != nil {
		t.Fatalf("victim: %v", err)
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Logon sessions end by themselves after LogonSessionLifetime; each uid
// holds at most MaxLogonSessionsPerCaller, a new one ending the oldest;
// one uid's sessions never touch another's.
func TestLogonSessionLimits(t *testing.T) {
	clk := &clock{now: time.Unix(1_000_000, 0)}
	e := limitsEngine(t, func(c *engine.Config) {
		c.MaxLogonSessionsPerCaller = 3
		c.LogonSessionLifetime = time.Hour
		c.Time = clk.Now
	})
	ctx := context.Background()
	a, v := callerConn(t, e, attackerUID), callerConn(t, e, victimUID)
	logon := func(c lsa.Conn, user string) *lsa.LogonSessionInfo {
		t.Helper()
		info, err := c.LogonUser(ctx, &lsa.LogonUserRequest{Package: "LimitsTest", Identity: secpkg.AuthIdentity{User: user}})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	users := func(c lsa.Conn) string {
		t.Helper()
		list, err := c.LogonSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, ls := range list {
			s = append(s, ls.User)
		}
		return fmt.Sprint(s)
	}
	mine := logon(v, "victim")
	if !mine.Expires.Equal(mine.Created.Add(time.Hour)) {
		t.Errorf("session created %v expires %v", mine.Created, mine.Expires)
	}
	for i := range 5 {
		logon(a, fmt.Sprint("a", i))
		clk.Advance(time.Minute)
	}
	if got := users(a); got != "[a2 a3 a4]" {
		t.Errorf("attacker's sessions: %s", got)
	}
	if got := users(v); got != "[victim]" {
		t.Errorf("victim's sessions: %s", got)
	}
	// Default credentials come from the newest session, until it expires.
	clk.Advance(time.Hour - 5*time.Minute - time.Second)
	if _, err := v.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound, LogonID: mine.LogonID}); err != nil {
		t.Fatalf("session a second before it expires: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := v.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound, LogonID: mine.LogonID}); !errors.Is(err, secpkg.StatusNoCredentials) {
		t.Fatalf("expired session: %v", err)
	}
	if got := users(v); got != "[]" {
		t.Errorf("victim's sessions after expiry: %s", got)
	}
	if err := v.Logoff(ctx, mine.LogonID); !errors.Is(err, secpkg.StatusNoCredentials) {
		t.Errorf("logoff of an expired session: %v", err)
	}
	clk.Advance(10 * time.Minute)
	if got := users(a); got != "[]" {
		t.Errorf("attacker's sessions after expiry: %s", got)
	}
}

// Whatever a connection is doing when it closes (legs, exports, imports,
// deletes, frees, in many goroutines), everything it held goes back to
// its uid's quota: afterwards the uid can hold its whole quota again.
func TestQuotaAfterChaos(t *testing.T) {
	const quota, budget = 64, 128 << 10
	e := limitsEngine(t, func(c *engine.Config) {
		c.MaxHandlesPerCaller = quota
		c.MaxHandshakeBytesPerCaller = budget
	})
	ctx := context.Background()
	token := make([]byte, 16<<10)
	for round := range 20 {
		a := e.Connect(secpkg.CallInfo{UID: attackerUID})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 20 {
					cred, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
					if err != nil {
						continue
					}
					target := "v"
					if (g+i)%2 == 0 {
						target = "unfinished"
					}
					r, err := a.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: target, Token: token, CanMap: true})
					if err == nil && target == "v" && i%3 == 0 {
						if blob, err := a.ExportContext(ctx, r.Context, nil); err == nil && i%2 == 0 {
							a.ImportContext(ctx, blob)
						}
					} else if err == nil && i%4 == 0 {
						a.DeleteContext(ctx, r.Context)
					}
					if i%5 == 0 {
						a.FreeCredentials(ctx, cred.Handle)
					}
				}
			})
		}
		if round%2 == 0 {
			a.Close() // while the calls run
		}
		wg.Wait()
		a.Close()
	}
	// The handshake budget is whole again: seven unfinished handshakes of
	// 16 KiB and 4 bytes fit in 128 KiB, not eight.
	c := callerConn(t, e, attackerUID)
	cred, err := c.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound})
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for {
		_, err := c.InitializeContext(ctx, &lsa.InitializeContextRequest{Credential: cred.Handle, Target: "unfinished", Token: token})
		if errors.Is(err, secpkg.StatusInsufficientMemory) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		open++
	}
	if open != 7 {
		t.Fatalf("%d unfinished handshakes fit in the budget after the chaos, want 7", open)
	}
	c.Close()
	// Exports nobody imported still count until they expire; the rest of
	// the quota is back.
	exports := e.Stats().Exports
	a := callerConn(t, e, attackerUID)
	for i := range quota - exports {
		if _, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound}); err != nil {
			t.Fatalf("handle %d of %d (%d exports pending): %v", i, quota-exports, exports, err)
		}
	}
	if _, err := a.AcquireCredentials(ctx, &lsa.AcquireCredentialsRequest{Package: "LimitsTest", Use: secpkg.CredentialOutbound}); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("past the quota: %v", err)
	}
	if st := e.Stats(); st.Contexts != 0 || st.Credentials != quota-exports {
		t.Fatalf("after the chaos: %+v", st)
	}
}
