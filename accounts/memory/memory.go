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
}

type memKey struct{ domain, name string }

func newMemory(cfg *rules.Config) *memoryStore {
	return &memoryStore{cfg: cfg, accounts: make(map[memKey]*accounts.Account)}
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
	if _, err := m.get(ctx, domain, name); err != nil {
		return err
	}
	delete(m.accounts, keyOf(domain, name))
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
	return nil
}
