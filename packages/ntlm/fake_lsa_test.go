package ntlm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// fakeLSA implements secpkg.LSAFunctions for tests: an account map,
// logon sessions, a replay set, a fixed clock and deterministic
// randomness. It records what the package reports.
type fakeLSA struct {
	mu       sync.Mutex
	now      time.Time
	rand     *detRand
	accounts map[string]*fakeAccount // key: lower(user)
	sessions map[secpkg.LogonID]map[string][]byte
	nextID   secpkg.LogonID
	replay   *replaySet
	callInfo secpkg.CallInfo

	reports []logonReport
	audits  []secpkg.AuditEvent
	// lockAfter locks an account after this many reported failures (0:
	// never).
	lockAfter int
	failures  map[string]int
}

// fakeAccount is an account of the fake store.
type fakeAccount struct {
	secpkg.Account
	Disabled bool
	Locked   bool
	Verifier []byte
}

type logonReport struct {
	user    string
	success bool
}

// replaySet is a replay cache; LSAs that share one model a shared store.
type replaySet struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newReplaySet() *replaySet { return &replaySet{seen: map[string]time.Time{}} }

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFakeLSA(seed string) *fakeLSA {
	return &fakeLSA{
		now:      epoch,
		rand:     &detRand{seed: seed},
		accounts: map[string]*fakeAccount{},
		sessions: map[secpkg.LogonID]map[string][]byte{},
		replay:   newReplaySet(),
		failures: map[string]int{},
	}
}

// addAccount stores an account with the NTLM verifier of password.
func (f *fakeLSA) addAccount(domain, user, password string) *fakeAccount {
	h := ntowfv1([]byte(password))
	a := &fakeAccount{Account: secpkg.Account{User: user, Domain: domain, Groups: []string{"users"}}, Verifier: h[:]}
	f.mu.Lock()
	f.accounts[strings.ToLower(user)] = a
	f.mu.Unlock()
	return a
}

func (f *fakeLSA) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fakeLSA) CreateLogonSession(ctx context.Context, user, domain string) (secpkg.LogonID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.sessions[f.nextID] = map[string][]byte{}
	return f.nextID, nil
}

func (f *fakeLSA) DeleteLogonSession(ctx context.Context, id secpkg.LogonID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, id)
	return nil
}

func (f *fakeLSA) AddCredential(ctx context.Context, id secpkg.LogonID, key string, cred []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return secpkg.ErrNoLogonSession
	}
	s[key] = append([]byte(nil), cred...)
	return nil
}

func (f *fakeLSA) GetCredential(ctx context.Context, id secpkg.LogonID, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return nil, secpkg.ErrNoLogonSession
	}
	c, ok := s[key]
	if !ok {
		return nil, secpkg.ErrNoCredential
	}
	return append([]byte(nil), c...), nil
}

func (f *fakeLSA) DeleteCredential(ctx context.Context, id secpkg.LogonID, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions[id], key)
	return nil
}

// CheckLogon decides as the LSA does (accounts.Store.Logon), under the
// fake's lock: the check runs once, on the verifier or on nil; a wrong
// password and any attempt on a locked account are reported failures.
func (f *fakeLSA) CheckLogon(ctx context.Context, domain, user string, check func([]byte) bool) (*secpkg.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[strings.ToLower(user)]
	if !ok || (domain != "" && !strings.EqualFold(domain, a.Domain)) {
		check(nil)
		return nil, secpkg.ErrNoSuchAccount
	}
	k := strings.ToLower(a.User)
	locked := f.lockAfter > 0 && f.failures[k] >= f.lockAfter || a.Locked
	switch {
	case locked:
		check(nil)
		f.failures[k]++
		f.reports = append(f.reports, logonReport{a.User, false})
		return nil, secpkg.ErrLockedOut
	case a.Disabled:
		check(nil)
		return nil, secpkg.ErrAccountDisabled
	case a.Verifier == nil:
		check(nil)
		return nil, secpkg.ErrNoVerifier
	case !check(a.Verifier):
		f.failures[k]++
		f.reports = append(f.reports, logonReport{a.User, false})
		return nil, secpkg.ErrWrongPassword
	}
	f.failures[k] = 0
	f.reports = append(f.reports, logonReport{a.User, true})
	c := a.Account
	return &c, nil
}

func (f *fakeLSA) GetCallInfo(ctx context.Context) secpkg.CallInfo { return f.callInfo }

func (f *fakeLSA) Audit(ctx context.Context, ev secpkg.AuditEvent) {
	f.mu.Lock()
	f.audits = append(f.audits, ev)
	f.mu.Unlock()
}

func (f *fakeLSA) CheckReplay(ctx context.Context, key []byte, expires time.Time) error {
	r := f.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.seen[string(key)]; dup {
		return secpkg.ErrReplay
	}
	r.seen[string(key)] = expires
	return nil
}

func (f *fakeLSA) LocatePackage(name string) (secpkg.LSAPackage, bool) { return nil, false }

func (f *fakeLSA) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeLSA) Rand() io.Reader { return f.rand }

func (f *fakeLSA) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (f *fakeLSA) lastAudit() secpkg.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audits) == 0 {
		return secpkg.AuditEvent{}
	}
	return f.audits[len(f.audits)-1]
}

// detRand is a deterministic stream: SHA-256 of the seed and a counter.
type detRand struct {
	mu   sync.Mutex
	seed string
	n    uint64
	buf  []byte
}

func (r *detRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		if len(r.buf) == 0 {
			var c [8]byte
			binary.LittleEndian.PutUint64(c[:], r.n)
			r.n++
			h := sha256.Sum256(append([]byte(r.seed), c[:]...))
			r.buf = h[:]
		}
		p[i] = r.buf[0]
		r.buf = r.buf[1:]
	}
	return len(p), nil
}

var _ secpkg.LSAFunctions = (*fakeLSA)(nil)

// newLSAPackage returns an initialised LSA-mode half on fake.
func newLSAPackage(t testing.TB, cfg *Config, fake *fakeLSA, machine string) *lsaPackage {
	t.Helper()
	_, lp, err := New(cfg).LSAModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		t.Fatal(err)
	}
	params := &secpkg.Parameters{MachineName: machine, DomainName: "EXAMPLE", DNSMachineName: strings.ToLower(machine) + ".example.com", DNSDomainName: "example.com"}
	if err := lp.Initialize(context.Background(), 7, params, fake); err != nil {
		t.Fatal(err)
	}
	return lp.(*lsaPackage)
}
