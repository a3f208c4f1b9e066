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
	accounts map[string]*secpkg.Account
	sessions map[secpkg.LogonID]map[string][]byte
	nextID   secpkg.LogonID
	reports  map[bool]int // ReportLogon calls by outcome
	audits   []secpkg.AuditEvent
}

func newFakeLSA() *fakeLSA {
	return &fakeLSA{accounts: map[string]*secpkg.Account{}, sessions: map[secpkg.LogonID]map[string][]byte{}, reports: map[bool]int{}}
}

func (f *fakeLSA) addAccount(domain, user string, verifier []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[strings.ToLower(user)] = &secpkg.Account{User: user, Domain: domain, Groups: []string{"users"}, Verifier: verifier}
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

func (f *fakeLSA) LookupAccount(ctx context.Context, domain, user string) (*secpkg.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[strings.ToLower(user)]
	if !ok {
		return nil, secpkg.ErrNoSuchAccount
	}
	c := *a
	return &c, nil
}

func (f *fakeLSA) ReportLogon(ctx context.Context, acct *secpkg.Account, success bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports[success]++
	return nil
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
