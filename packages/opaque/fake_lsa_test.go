package opaque

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// fakeLSA implements secpkg.LSAFunctions for tests that drive the
// LSA-mode half directly (benchmarks, fuzzing, registration): an account
// map keyed by folded user name, logon sessions, and a record of the
// package's reports and audit events.
type fakeLSA struct {
	mu       sync.Mutex
	accounts map[string]*fakeAccount
	sessions map[secpkg.LogonID]map[string][]byte
	nextID   secpkg.LogonID
	reports  map[bool]int // CheckLogon outcomes recorded, by success
	audits   []secpkg.AuditEvent
}

// fakeAccount is an account and its OPAQUE verifier.
type fakeAccount struct {
	secpkg.Account
	verifier []byte
}

func newFakeLSA() *fakeLSA {
	return &fakeLSA{accounts: map[string]*fakeAccount{}, sessions: map[secpkg.LogonID]map[string][]byte{}, reports: map[bool]int{}}
}

func (f *fakeLSA) addAccount(domain, user string, verifier []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[strings.ToLower(user)] = &fakeAccount{Account: secpkg.Account{User: user, Domain: domain, Groups: []string{"users"}}, verifier: verifier}
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

// CheckLogon decides an attempt as the LSA does: check sees the
// verifier (nil for an unknown account or one without a verifier), and
// the outcome is counted.
func (f *fakeLSA) CheckLogon(ctx context.Context, domain, user string, check func([]byte) bool) (*secpkg.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[strings.ToLower(user)]
	switch {
	case !ok:
		check(nil)
		return nil, secpkg.ErrNoSuchAccount
	case a.verifier == nil:
		check(nil)
		return nil, secpkg.ErrNoVerifier
	case !check(a.verifier):
		f.reports[false]++
		return nil, secpkg.ErrWrongPassword
	}
	f.reports[true]++
	c := a.Account
	return &c, nil
}

func (f *fakeLSA) GetCallInfo(ctx context.Context) secpkg.CallInfo { return secpkg.CallInfo{} }

func (f *fakeLSA) Audit(ctx context.Context, ev secpkg.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audits) < 1024 {
		f.audits = append(f.audits, ev)
	}
}

func (f *fakeLSA) CheckReplay(ctx context.Context, key []byte, expires time.Time) error { return nil }

func (f *fakeLSA) LocatePackage(name string) (secpkg.LSAPackage, bool) { return nil, false }

func (f *fakeLSA) Now() time.Time       { return time.Now() }
func (f *fakeLSA) Rand() io.Reader      { return rand.Reader }
func (f *fakeLSA) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

var _ secpkg.LSAFunctions = (*fakeLSA)(nil)
