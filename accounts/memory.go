package accounts

import (
	"context"
	"errors"
	"sync"
	"time"
)

// memoryStore is the memory: backend. One mutex serializes everything,
// which gives it the same atomicity as the SQL stores' transactions.
type memoryStore struct {
	cfg *config

	mu       sync.Mutex
	closed   bool
	accounts map[memKey]*Account // values are owned by the store; callers get copies
}

type memKey struct{ domain, name string }

func newMemory(cfg *config) *memoryStore {
	return &memoryStore{cfg: cfg, accounts: make(map[memKey]*Account)}
}

var errClosed = errors.New("accounts: store is closed")

func keyOf(domain, name string) memKey { return memKey{foldKey(domain), foldKey(name)} }

// get returns the account under the lock, or an error.
func (m *memoryStore) get(ctx context.Context, domain, name string) (*Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.closed {
		return nil, errClosed
	}
	if checkAccountName(domain, name) != nil {
		return nil, ErrNotFound
	}
	a, ok := m.accounts[keyOf(domain, name)]
	if !ok {
		return nil, ErrNotFound
	}
	return a, nil
}

func (m *memoryStore) Lookup(ctx context.Context, domain, name string) (*Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return nil, err
	}
	return cloneAccount(a), nil
}

func (m *memoryStore) Create(ctx context.Context, a *Account) error {
	n, err := newAccount(a, m.cfg.stamp())
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
		return ErrExists
	}
	m.accounts[k] = n
	return nil
}

func (m *memoryStore) SetVerifiers(ctx context.Context, domain, name string, verifiers map[string][]byte) error {
	v, err := normVerifiers(verifiers)
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
	a.Lockout = LockoutState{}
	a.Updated = m.cfg.stamp()
	return nil
}

func (m *memoryStore) SetGroups(ctx context.Context, domain, name string, groups []string) error {
	g, err := normGroups(groups)
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
	a.Updated = m.cfg.stamp()
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
	a.Updated = m.cfg.stamp()
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

func (m *memoryStore) List(ctx context.Context) ([]*Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.closed {
		return nil, errClosed
	}
	list := make([]*Account, 0, len(m.accounts))
	for _, a := range m.accounts {
		c := cloneAccount(a)
		c.Verifiers = nil
		list = append(list, c)
	}
	sortAccounts(list)
	return list, nil
}

func (m *memoryStore) RecordLogon(ctx context.Context, domain, name string, success bool, now time.Time) (LogonOutcome, error) {
	now = m.cfg.logonTime(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return LogonOutcome{}, err
	}
	next, lockedNow := m.cfg.policy.apply(a.Lockout, success, now)
	a.Lockout = next
	if lockedNow {
		logLocked(m.cfg, a.Domain, a.Name, next)
	}
	return LogonOutcome{State: next, LockedNow: lockedNow}, nil
}

func (m *memoryStore) Unlock(ctx context.Context, domain, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(ctx, domain, name)
	if err != nil {
		return err
	}
	a.Lockout = LockoutState{}
	a.Updated = m.cfg.stamp()
	return nil
}

func (m *memoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.accounts = nil
	return nil
}
