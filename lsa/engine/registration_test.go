package engine

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// regPackage is a package whose verifier the client makes (as OPAQUE's):
// its Registrar answers "response:"+request and makes "record:"+upload;
// it makes no verifier from a password. pwPackage makes "hash:"+password.
type regPackage struct{ name string }

func init() {
	secpkg.Register("RegTest", regPackage{"RegTest"})
	secpkg.Register("PwTest", regPackage{"PwTest"})
}

type regLSA struct {
	name string
	fns  secpkg.LSAFunctions
}

func (p regPackage) LSAModeInitialize(uint32) (uint32, secpkg.LSAPackage, error) {
	if p.name == "RegTest" {
		return secpkg.InterfaceVersion, registrarLSA{&regLSA{name: p.name}}, nil
	}
	return secpkg.InterfaceVersion, &regLSA{name: p.name}, nil
}

func (p *regLSA) Initialize(_ context.Context, _ uint32, _ *secpkg.Parameters, fns secpkg.LSAFunctions) error {
	p.fns = fns
	return nil
}
func (p *regLSA) GetInfo() secpkg.PackageInfo { return secpkg.PackageInfo{Name: p.name} }
func (p *regLSA) AcquireCredentialsHandle(context.Context, *secpkg.CredentialsRequest) (*secpkg.Credentials, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *regLSA) FreeCredentialsHandle(context.Context, secpkg.Handle) error { return nil }
func (p *regLSA) QueryCredentialsAttributes(context.Context, secpkg.Handle) (*secpkg.Credentials, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *regLSA) InitLsaModeContext(context.Context, *secpkg.InitContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *regLSA) AcceptLsaModeContext(context.Context, *secpkg.AcceptContextRequest) (*secpkg.ContextResult, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *regLSA) DeleteContext(context.Context, secpkg.Handle) error { return nil }
func (p *regLSA) QueryContextAttributes(context.Context, secpkg.Handle) (*secpkg.ContextAttributes, error) {
	return nil, secpkg.StatusUnsupportedFunction
}
func (p *regLSA) Shutdown(context.Context) error { return nil }

func (p *regLSA) MakeVerifier(_ context.Context, user, domain string, password []byte) ([]byte, error) {
	if p.name == "RegTest" {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "regtest: the client registers")
	}
	return append([]byte("hash:"), password...), nil
}

// registrarLSA is RegTest's LSA-mode half: a Registrar.
type registrarLSA struct{ *regLSA }

func (p registrarLSA) CreateRegistrationResponse(_ context.Context, domain, user string, request []byte) ([]byte, error) {
	if bytes.Equal(request, []byte("bad")) {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "regtest: bad request")
	}
	return append([]byte("response:"), request...), nil
}

func (p registrarLSA) FinishRegistration(_ context.Context, domain, user string, upload []byte) ([]byte, error) {
	if bytes.Equal(upload, []byte("bad")) {
		return nil, secpkg.Errorf(secpkg.StatusInvalidToken, "regtest: bad upload")
	}
	return append([]byte("record:"), upload...), nil
}

// regClock is a settable clock.
type regClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *regClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *regClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type regEnv struct {
	e      *Engine
	store  accounts.Store
	clock  *regClock
	logs   *bytes.Buffer
	admin  lsa.Conn // uid 0
	user   lsa.Conn // uid 1000, no admin right
	logsMu *sync.Mutex
}

func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	ctx := context.Background()
	store, err := accounts.Open(ctx, "memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &regClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	logs := new(bytes.Buffer)
	mu := new(sync.Mutex)
	e, err := New(&Config{Packages: []string{"PwTest", "RegTest"}, Accounts: store, Time: clock.now,
		Logger:     slog.New(slog.NewTextHandler(lockedWriter{mu, logs}, nil)),
		Parameters: secpkg.Parameters{MachineName: "HOST", DomainName: "D", DNSMachineName: "host.d.example"},
		Authorize: func(ci secpkg.CallInfo, a Access) error {
			if a.Kind == AccessAdminister && ci.UID != 0 {
				return secpkg.Errorf(secpkg.StatusNotOwner, "test policy: uid %d may not administer", ci.UID)
			}
			return nil
		},
		SweepInterval: time.Hour, // the test sweeps
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); store.Close() })
	return &regEnv{e: e, store: store, clock: clock, logs: logs, logsMu: mu,
		admin: e.Connect(secpkg.CallInfo{UID: 0}), user: e.Connect(secpkg.CallInfo{UID: 1000})}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (env *regEnv) log() string {
	env.logsMu.Lock()
	defer env.logsMu.Unlock()
	return env.logs.String()
}

func (env *regEnv) register(c lsa.Conn, user, code string, upload string) error {
	ctx := context.Background()
	r := c.(lsa.Registration)
	b, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", Domain: "D", User: user, Token: []byte("request"), Code: code})
	if err != nil {
		return err
	}
	if string(b.Token) != "response:request" {
		return errors.New("unexpected response " + string(b.Token))
	}
	return r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: b.Registration, Token: []byte(upload)})
}

func (env *regEnv) verifiers(t *testing.T, user string) map[string][]byte {
	t.Helper()
	a, err := env.store.Lookup(context.Background(), "D", user)
	if err != nil {
		t.Fatal(err)
	}
	return a.Verifiers
}

// TestVerifiersSkipRegistrars: adding an account with a password makes
// the verifiers of the packages that make them from a password and
// leaves out those the client registers; naming such a package is a
// clear error; an account without a password has no verifier.
func TestVerifiersSkipRegistrars(t *testing.T) {
	env := newRegEnv(t)
	ctx := context.Background()
	admin := env.admin.(lsa.Admin)
	if err := admin.AddAccount(ctx, &lsa.AccountRequest{User: "alice", Password: []byte("pw")}); err != nil {
		t.Fatalf("AddAccount with a registration package enabled: %v", err)
	}
	if v := env.verifiers(t, "alice"); len(v) != 1 || string(v["PwTest"]) != "hash:pw" {
		t.Fatalf("verifiers %q", v)
	}
	err := admin.AddAccount(ctx, &lsa.AccountRequest{User: "bob", Password: []byte("pw"), Packages: []string{"RegTest"}})
	if !errors.Is(err, secpkg.StatusUnsupportedFunction) || !strings.Contains(err.Error(), "register") {
		t.Fatalf("AddAccount naming RegTest: %v", err)
	}
	if err := admin.AddAccount(ctx, &lsa.AccountRequest{User: "bob", Packages: []string{"PwTest"}}); !errors.Is(err, secpkg.StatusInvalidParameter) {
		t.Fatalf("AddAccount naming a package without a password: %v", err)
	}
	if err := admin.AddAccount(ctx, &lsa.AccountRequest{User: "bob"}); err != nil {
		t.Fatal(err)
	}
	if v := env.verifiers(t, "bob"); len(v) != 0 {
		t.Fatalf("an account added without a password has verifiers %q", v)
	}
	// SetPassword replaces every verifier: a registered one, which would
	// still accept the old password, goes.
	if err := env.register(env.admin, "alice", "", "upload"); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetPassword(ctx, &lsa.AccountRequest{User: "alice", Password: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if v := env.verifiers(t, "alice"); len(v) != 1 || string(v["PwTest"]) != "hash:new" {
		t.Fatalf("after SetPassword: %q", v)
	}
}

// TestRegistrationByAdmin: an administrator registers any existing
// account; the package's verifier is added beside the others; a caller
// without the admin right and without a code is refused; a failed
// finish consumes the handle.
func TestRegistrationByAdmin(t *testing.T) {
	env := newRegEnv(t)
	ctx := context.Background()
	if err := env.admin.(lsa.Admin).AddAccount(ctx, &lsa.AccountRequest{User: "alice", Password: []byte("pw")}); err != nil {
		t.Fatal(err)
	}
	if err := env.register(env.admin, "ALICE", "", "upload"); err != nil {
		t.Fatal(err)
	}
	if v := env.verifiers(t, "alice"); string(v["RegTest"]) != "record:upload" || string(v["PwTest"]) != "hash:pw" {
		t.Fatalf("verifiers after the registration: %q", v)
	}
	if err := env.register(env.admin, "nobody", "", "upload"); !errors.Is(err, secpkg.StatusInvalidParameter) {
		t.Errorf("registration of an unknown account by an administrator: %v", err)
	}
	if err := env.register(env.user, "alice", "", "upload"); !errors.Is(err, secpkg.StatusNotOwner) {
		t.Errorf("registration without a code or the admin right: %v", err)
	}
	r := env.admin.(lsa.Registration)
	_, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "PwTest", User: "alice", Token: []byte("x")})
	if !errors.Is(err, secpkg.StatusUnsupportedFunction) {
		t.Errorf("registration with a package without a Registrar: %v", err)
	}
	if _, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", User: "alice", Token: []byte("bad")}); !errors.Is(err, secpkg.StatusInvalidToken) {
		t.Errorf("a request the package refuses: %v", err)
	}
	b, err := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", User: "alice", Token: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: b.Registration, Token: []byte("bad")}); !errors.Is(err, secpkg.StatusInvalidToken) {
		t.Errorf("an upload the package refuses: %v", err)
	}
	if err := r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: b.Registration, Token: []byte("good")}); !errors.Is(err, secpkg.StatusInvalidHandle) {
		t.Errorf("a second finish of one registration: %v", err)
	}
	if st := env.e.Stats(); st.Registrations != 0 || env.e.quotas.usageOf(0).handles != 0 {
		t.Errorf("after the registrations: %+v, quota %+v", st, env.e.quotas.usageOf(0))
	}
}

// TestRegistrationHandles: a registration belongs to its connection,
// counts in the caller's quota, expires with the handshake timeout, and
// goes when the connection closes.
func TestRegistrationHandles(t *testing.T) {
	env := newRegEnv(t)
	ctx := context.Background()
	if err := env.admin.(lsa.Admin).AddAccount(ctx, &lsa.AccountRequest{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	begin := func(c lsa.Conn) lsa.SecHandle {
		t.Helper()
		b, err := c.(lsa.Registration).BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", User: "alice", Token: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		return b.Registration
	}
	finish := func(c lsa.Conn, h lsa.SecHandle) error {
		return c.(lsa.Registration).FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: h, Token: []byte("u")})
	}
	other := env.e.Connect(secpkg.CallInfo{UID: 0})
	h := begin(env.admin)
	if st := env.e.Stats(); st.Registrations != 1 || env.e.quotas.usageOf(0).handles != 1 {
		t.Fatalf("one registration: %+v", st)
	}
	missing := lsa.SecHandle{Epoch: h.Epoch, ID: h.ID ^ 1}
	e1, e2 := finish(other, h), finish(other, missing)
	if !errors.Is(e1, secpkg.StatusInvalidHandle) || strings.ReplaceAll(e1.Error(), h.String(), "H") != strings.ReplaceAll(e2.Error(), missing.String(), "H") {
		t.Fatalf("another connection's registration: %v; a missing one: %v", e1, e2)
	}
	if err := finish(env.admin, h); err != nil {
		t.Fatalf("the owner's finish after the other connection tried: %v", err)
	}

	// Expiry: refused after the deadline, swept by the janitor.
	h = begin(env.admin)
	env.clock.add(DefaultHandshakeTimeout)
	if err := finish(env.admin, h); !errors.Is(err, secpkg.StatusContextExpired) {
		t.Fatalf("finish after the deadline: %v", err)
	}
	begin(env.admin)
	env.clock.add(DefaultHandshakeTimeout)
	env.e.sweep(ctx)
	if st := env.e.Stats(); st.Registrations != 0 || env.e.quotas.usageOf(0).handles != 0 {
		t.Fatalf("after the sweep: %+v", st)
	}
	// Close gives everything back.
	begin(other)
	begin(other)
	other.Close()
	if st := env.e.Stats(); st.Registrations != 0 || env.e.quotas.usageOf(0).handles != 0 {
		t.Fatalf("after Close: %+v, quota %+v", st, env.e.quotas.usageOf(0))
	}
}

// TestRegistrationCodes: an administrator's code lets a caller without
// the admin right register that account with that package, once; every
// code that does not admit the registration gets one refusal, with one
// status and one message; the audit log says why and never holds a code.
func TestRegistrationCodes(t *testing.T) {
	env := newRegEnv(t)
	ctx := context.Background()
	admin := env.admin.(lsa.Admin)
	for _, u := range []string{"alice", "bob"} {
		if err := admin.AddAccount(ctx, &lsa.AccountRequest{User: u}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(user string, life time.Duration) string {
		t.Helper()
		r, err := admin.CreateRegistrationCode(ctx, &lsa.RegistrationCodeRequest{User: user, Package: "RegTest", Lifetime: life})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Code) != 39 || strings.Contains(r.String(), r.Code) {
			t.Fatalf("code %q, printed %q", r.Code, r)
		}
		return r.Code
	}
	if _, err := env.user.(lsa.Admin).CreateRegistrationCode(ctx, &lsa.RegistrationCodeRequest{User: "alice", Package: "RegTest"}); !errors.Is(err, secpkg.StatusNotOwner) {
		t.Errorf("a code made without the admin right: %v", err)
	}
	for _, bad := range []*lsa.RegistrationCodeRequest{
		{User: "alice", Package: "PwTest"},
		{User: "alice", Package: "RegTest", Lifetime: MaxRegistrationCodeLifetime + time.Second},
		{User: "nobody", Package: "RegTest"},
	} {
		if _, err := admin.CreateRegistrationCode(ctx, bad); err == nil {
			t.Errorf("CreateRegistrationCode(%+v) succeeded", bad)
		}
	}
	alice := mk("alice", 0)
	bob := mk("bob", time.Hour)
	var codes []string // every code, to look for in the log
	codes = append(codes, alice, bob)

	var refusal string
	refused := func(name, user, code string) {
		t.Helper()
		err := env.register(env.user, user, code, "upload")
		if !errors.Is(err, secpkg.StatusLogonDenied) {
			t.Fatalf("%s: %v, want SEC_E_LOGON_DENIED", name, err)
		}
		if refusal == "" {
			refusal = err.Error()
		} else if err.Error() != refusal {
			t.Errorf("%s: %q, unlike the other refusals' %q", name, err, refusal)
		}
	}
	flipped := []byte(alice) // another secret, the same selector
	if flipped[len(flipped)-1] = 'A'; alice[len(alice)-1] == 'A' {
		flipped[len(flipped)-1] = 'B'
	}
	refused("a wrong code", "alice", string(flipped))
	refused("another user's code", "alice", bob)
	refused("a code for an unknown account", "nobody", alice)
	refused("a malformed code", "alice", "not a code")
	if v := env.verifiers(t, "alice"); len(v) != 0 {
		t.Fatalf("refused registrations gave alice %q", v)
	}
	// Spelled in lower case without dashes: the same code.
	lower := strings.ToLower(strings.ReplaceAll(alice, "-", ""))
	if err := env.register(env.user, "Alice", lower, "alice's upload"); err != nil {
		t.Fatalf("registration with alice's code: %v\n%s", err, env.log())
	}
	if v := env.verifiers(t, "alice"); string(v["RegTest"]) != "record:alice's upload" {
		t.Fatalf("alice's verifiers: %q", v)
	}
	refused("a used code", "alice", alice)

	// Checked at the beginning, used at the end: of two registrations
	// begun with one code, one finishes.
	carol := mk("bob", time.Hour)
	codes = append(codes, carol)
	refused("a replaced code", "bob", bob)
	r := env.user.(lsa.Registration)
	b1, err1 := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", User: "bob", Token: []byte("x"), Code: carol})
	b2, err2 := r.BeginRegistration(ctx, &lsa.BeginRegistrationRequest{Package: "RegTest", User: "bob", Token: []byte("x"), Code: carol})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if err := r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: b1.Registration, Token: []byte("first")}); err != nil {
		t.Fatal(err)
	}
	if err := r.FinishRegistration(ctx, &lsa.FinishRegistrationRequest{Registration: b2.Registration, Token: []byte("second")}); err == nil || err.Error() != refusal {
		t.Fatalf("the second finish with one code: %v", err)
	}
	if v := env.verifiers(t, "bob"); string(v["RegTest"]) != "record:first" {
		t.Fatalf("bob's verifiers: %q", v)
	}

	// Expired.
	late := mk("alice", time.Minute)
	codes = append(codes, late)
	env.clock.add(time.Minute)
	refused("an expired code", "alice", late)

	log := env.log()
	for _, c := range codes {
		for _, form := range []string{c, strings.ReplaceAll(c, "-", "")} {
			if strings.Contains(log, form) {
				t.Errorf("the log holds a registration code:\n%s", log)
			}
		}
	}
	for _, reason := range []string{"another secret", "made for another account", "no code by that selector", "malformed registration code", "expired"} {
		if !strings.Contains(log, reason) {
			t.Errorf("the audit log does not say %q:\n%s", reason, log)
		}
	}
	if n := strings.Count(log, "event=account-registered"); n != 2 {
		t.Errorf("%d registrations audited, want 2", n)
	}
}

// TestPackageSecrets: the support function keeps each package's secrets
// in the account store, create-once, with fs errors; without a store it
// refuses with SEC_E_NO_CREDENTIALS.
func TestPackageSecrets(t *testing.T) {
	env := newRegEnv(t)
	ctx := context.Background()
	f := func(name string) *packageFunctions {
		p, err := env.e.pkg(name)
		if err != nil {
			t.Fatal(err)
		}
		return p.fns
	}
	reg, pw := f("RegTest"), f("PwTest")
	if _, err := reg.Secret(ctx, "setup"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Secret before any: %v", err)
	}
	if err := reg.CreateSecret(ctx, "setup", []byte("the setup")); err != nil {
		t.Fatal(err)
	}
	if err := reg.CreateSecret(ctx, "setup", []byte("another")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second CreateSecret: %v", err)
	}
	if b, err := reg.Secret(ctx, "setup"); err != nil || string(b) != "the setup" {
		t.Fatalf("Secret: %q, %v", b, err)
	}
	if _, err := pw.Secret(ctx, "setup"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("another package reads the secret: %v", err)
	}
	if b, err := env.store.Secret(ctx, "RegTest", "setup"); err != nil || string(b) != "the setup" {
		t.Fatalf("the store holds %q, %v", b, err)
	}
	if strings.Contains(env.log(), "the setup") {
		t.Errorf("the log holds the secret")
	}
	bare, err := New(&Config{Packages: []string{"RegTest"}})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	p, _ := bare.pkg("RegTest")
	if _, err := p.fns.Secret(ctx, "setup"); !errors.Is(err, secpkg.StatusNoCredentials) {
		t.Errorf("Secret without a store: %v", err)
	}
}

// TestAccountKey: the support function's keys are CheckLogon's rule:
// local names map to the local domain, names fold as the store compares.
func TestAccountKey(t *testing.T) {
	env := newRegEnv(t)
	p, _ := env.e.pkg("RegTest")
	want := [2]string{accounts.NameKey("D"), accounts.NameKey("alice")}
	for _, n := range [][2]string{{"", "alice"}, {".", "ALICE"}, {"d", "Alice"}, {"host", "alice"}, {"HOST.D.EXAMPLE", "aLiCe"}} {
		if d, u := p.fns.AccountKey(n[0], n[1]); d != want[0] || u != want[1] {
			t.Errorf("AccountKey(%q, %q) = %q, %q; want %q", n[0], n[1], d, u, want)
		}
	}
	if d, _ := p.fns.AccountKey("OTHER", "alice"); d == want[0] {
		t.Errorf("another domain maps to the local one")
	}
	if _, u := p.fns.AccountKey("", "\u212a"); u != accounts.NameKey("k") {
		t.Errorf("the Kelvin sign folds to %q", u)
	}
}
