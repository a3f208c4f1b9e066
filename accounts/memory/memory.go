// Package memory is the in-process backend of the account store: a new,
// empty store for each Open of "memory:", with the semantics of the
// others and nothing written anywhere, for tests and demonstrations.
//
//	import _ "github.com/opensspi/sspi/accounts/memory"
//
//	store, err := accounts.Open(ctx, "memory:", nil)
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
)

func init() { accounts.Register("memory", driver{}) }

// driver opens memory: data source names.
type driver struct{}

func (driver) Open(ctx context.Context, dsn string, opts *accounts.Options) (accounts.Store, error) {
	if _, rest, _ := strings.Cut(dsn, ":"); rest != "" {
		return nil, fmt.Errorf("accounts: memory: data source name takes no argument")
	}
	cfg, err := rules.NewConfig(opts)
	if err != nil {
		return nil, err
	}
	return newMemory(cfg), nil
}

// memoryStore is the memory: backend. One mutex serializes everything,
// which gives it the same atomicity as the SQL stores' transactions.
type memoryStore struct {
	cfg *rules.Config

	mu       sync.Mutex
	closed   bool
	accounts map[memKey]*accounts.Account // values are owned by the store; callers get copies
	// decoys are the lockout states of the decoy rows, which attempts
	// on names that are no account's write, as in the SQL stores.
	decoys [rules.DecoyBuckets]accounts.LockoutState
	// secrets are the package secrets; codes the registration codes by
	// selector, each bound to its account's value (a deleted account's
	// codes die with it, as the SQL stores' cascade does).
	secrets map[secretKey][]byte
	codes   map[string]*memCode
}

type secretKey struct{ pkg, name string }

type memCode struct {
	account *accounts.Account
	pkg     string
	hash    []byte
	expires time.Time
}

type memKey struct{ domain, name string }

func newMemory(cfg *rules.Config) *memoryStore {
	return &memoryStore{cfg: cfg, accounts: make(map[memKey]*accounts.Account),
		secrets: make(map[secretKey][]byte), codes: make(map[string]*memCode)}
}

var errClosed = errors.New("accounts: store is closed")

func keyOf(domain, name string) memKey { return memKey{rules.FoldKey(domain), rules.FoldKey(name)} }

// get returns the account under the lock, or an error.
func (m *memoryStore) get(ctx context.Context, domain, name string) (*accounts.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.closed {
		return nil, errClosed
	}
	if rules.CheckAccountName(domain, name) != nil {
		return nil, accounts.ErrNotFound
	}
	a, ok := m.accounts[keyOf(domain, name)]
	if !ok {
		return nil, accounts.ErrNotFound
	}
	return a, nil
}

func (m *memoryStore) Lookup(ctx context.Context, domain, name string) (*accounts.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return nil, err
	}
	return rules.CloneAccount(a), nil
}

func (m *memoryStore) Create(ctx context.Context, a *accounts.Account) error {
	n, err := rules.NewAccount(a, m.cfg.Stamp())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return errClosed
	}
	k := keyOf(n.Domain, n.Name)
	if _, ok := m.accounts[k]; ok {
		return accounts.ErrExists
	}
	m.accounts[k] = n
	return nil
}

func (m *memoryStore) SetVerifiers(ctx context.Context, domain, name string, verifiers map[string][]byte) error {
	v, err := rules.NormVerifiers(verifiers)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	a.Verifiers = v
	a.Lockout = accounts.LockoutState{}
	a.Updated = m.cfg.Stamp()
	return nil
}

func (m *memoryStore) SetGroups(ctx context.Context, domain, name string, groups []string) error {
	g, err := rules.NormGroups(groups)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	a.Groups = g
	a.Updated = m.cfg.Stamp()
	return nil
}

func (m *memoryStore) SetDisabled(ctx context.Context, domain, name string, disabled bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	a.Disabled = disabled
	a.Updated = m.cfg.Stamp()
	return nil
}

func (m *memoryStore) Delete(ctx context.Context, domain, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	delete(m.accounts, keyOf(domain, name))
	for sel, x := range m.codes {
		if x.account == a {
			delete(m.codes, sel)
		}
	}
	return nil
}

func (m *memoryStore) List(ctx context.Context) ([]*accounts.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.closed {
		return nil, errClosed
	}
	list := make([]*accounts.Account, 0, len(m.accounts))
	for _, a := range m.accounts {
		c := rules.CloneAccount(a)
		c.Verifiers = nil
		list = append(list, c)
	}
	rules.SortAccounts(list)
	return list, nil
}

func (m *memoryStore) Logon(ctx context.Context, a accounts.LogonAttempt) (accounts.LogonOutcome, error) {
	if a.Check == nil {
		return accounts.LogonOutcome{}, errors.New("accounts: logon attempt without a check")
	}
	now := m.cfg.LogonTime(a.Now)
	m.mu.Lock()
	defer m.mu.Unlock()
	acct, err := m.get(ctx, a.Domain, a.Name)
	if errors.Is(err, accounts.ErrNotFound) {
		acct, err = nil, nil
	}
	if err != nil {
		return accounts.LogonOutcome{}, err
	}
	var d rules.Decision
	bucket := rules.DecoyBucket(a.Domain, a.Name)
	if acct == nil {
		d = rules.Decide(m.cfg.Policy, &a, false, false, m.decoys[bucket], nil, 0, now)
	} else {
		// Check gets a copy, wiped afterwards, as from the SQL stores.
		v := slices.Clone(acct.Verifiers[a.Package])
		d = rules.Decide(m.cfg.Policy, &a, true, acct.Disabled, acct.Lockout, v, 0, now)
		clear(v)
	}
	switch {
	case d.Write && acct != nil:
		acct.Lockout = d.Next
	case d.Write:
		m.decoys[bucket] = d.Next
	}
	out := accounts.LogonOutcome{Result: d.Result, LockedNow: d.LockedNow}
	if acct != nil {
		out.Account = rules.CloneAccount(acct)
		out.Account.Verifiers = nil
	}
	return out, nil
}

func (m *memoryStore) Unlock(ctx context.Context, domain, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	a.Lockout = accounts.LockoutState{}
	a.Updated = m.cfg.Stamp()
	return nil
}

func (m *memoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.accounts = nil
	for _, v := range m.secrets {
		clear(v)
	}
	m.secrets, m.codes = nil, nil
	return nil
}

func (m *memoryStore) SetVerifier(ctx context.Context, domain, name, pkg string, verifier []byte) error {
	if err := rules.CheckVerifier(pkg, verifier); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	m.putVerifier(a, pkg, verifier)
	return nil
}

// putVerifier stores one package's verifier, keeping the others, and
// clears the lockout state. m.mu is held.
func (m *memoryStore) putVerifier(a *accounts.Account, pkg string, verifier []byte) {
	if a.Verifiers == nil {
		a.Verifiers = make(map[string][]byte)
	}
	clear(a.Verifiers[pkg])
	a.Verifiers[pkg] = slices.Clone(verifier)
	a.Lockout = accounts.LockoutState{}
	a.Updated = m.cfg.Stamp()
}

// open fails on a done context or a closed store. m.mu is held.
func (m *memoryStore) open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return errClosed
	}
	return nil
}

func (m *memoryStore) Secret(ctx context.Context, pkg, name string) ([]byte, error) {
	if err := rules.CheckSecret(pkg, name, nil); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.open(ctx); err != nil {
		return nil, err
	}
	b, ok := m.secrets[secretKey{pkg, name}]
	if !ok {
		return nil, accounts.ErrNotFound
	}
	return slices.Clone(b), nil
}

func (m *memoryStore) CreateSecret(ctx context.Context, pkg, name string, secret []byte) error {
	if err := rules.CheckSecret(pkg, name, secret); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.open(ctx); err != nil {
		return err
	}
	k := secretKey{pkg, name}
	if _, ok := m.secrets[k]; ok {
		return accounts.ErrExists
	}
	m.secrets[k] = slices.Clone(secret)
	return nil
}

func (m *memoryStore) AddRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, at time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return err
	}
	now := m.cfg.LogonTime(at)
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, c.Domain, c.Name)
	if err != nil {
		return err
	}
	for sel, x := range m.codes {
		if !now.Before(x.expires) || (x.account == a && x.pkg == c.Package) {
			delete(m.codes, sel)
		}
	}
	if _, taken := m.codes[string(c.Selector)]; taken {
		return fmt.Errorf("accounts: a registration code with this selector: %w", accounts.ErrExists)
	}
	a.Updated = m.cfg.Stamp()
	m.codes[string(c.Selector)] = &memCode{account: a, pkg: c.Package, hash: slices.Clone(c.Hash), expires: rules.NormTime(c.Expires)}
	return nil
}

// matchCode decides c against the stored code. m.mu is held.
func (m *memoryStore) matchCode(c *accounts.RegistrationCode, now time.Time) (*memCode, error) {
	x := m.codes[string(c.Selector)]
	var sc *rules.StoredCode
	if x != nil && m.accounts[keyOf(x.account.Domain, x.account.Name)] == x.account {
		sc = &rules.StoredCode{DomainKey: rules.FoldKey(x.account.Domain), NameKey: rules.FoldKey(x.account.Name),
			Package: x.pkg, Hash: x.hash, Expires: x.expires}
	}
	if err := rules.MatchCode(sc, c, now); err != nil {
		return nil, err
	}
	return x, nil
}

func (m *memoryStore) CheckRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, now time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return fmt.Errorf("%w: %v", accounts.ErrInvalidCode, err)
	}
	at := m.cfg.LogonTime(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.open(ctx); err != nil {
		return err
	}
	_, err := m.matchCode(c, at)
	return err
}

func (m *memoryStore) RedeemRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, verifier []byte, now time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return fmt.Errorf("%w: %v", accounts.ErrInvalidCode, err)
	}
	if err := rules.CheckVerifier(c.Package, verifier); err != nil {
		return err
	}
	at := m.cfg.LogonTime(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.open(ctx); err != nil {
		return err
	}
	x, err := m.matchCode(c, at)
	if err != nil {
		return err
	}
	delete(m.codes, string(c.Selector))
	m.putVerifier(x.account, c.Package, verifier)
	return nil
}
