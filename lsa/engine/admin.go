package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/secpkg"
)

var errNoStore = secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: no account store configured")

func (c *conn) admin(ctx context.Context) (accounts.Store, error) {
	if _, err := c.callCtx(ctx); err != nil {
		return nil, err
	}
	if err := c.e.authorize(c.caller, Access{Kind: AccessAdminister}); err != nil {
		return nil, err
	}
	if c.e.cfg.Accounts == nil {
		return nil, errNoStore
	}
	return c.e.cfg.Accounts, nil
}

func (c *conn) AddAccount(ctx context.Context, req *lsa.AccountRequest) error {
	store, err := c.admin(ctx)
	if err != nil {
		return err
	}
	var v map[string][]byte
	switch {
	case len(req.Password) > 0:
		if v, err = c.e.verifiers(ctx, req); err != nil {
			return err
		}
	case len(req.Packages) > 0:
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: verifiers for %s need a password", strings.Join(req.Packages, ", "))
	case req.User == "":
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: an account needs a name")
	}
	// Without a password the account has no verifier until a
	// registration gives it one (lsa.Registration).
	domain := c.e.accountDomain(req.Domain)
	err = store.Create(ctx, &accounts.Account{Domain: domain, Name: req.User, Groups: req.Groups, Disabled: req.Disabled, Verifiers: v})
	if errors.Is(err, accounts.ErrExists) {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: account %s\\%s already exists", domain, req.User)
	}
	if err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: add account: %w", err)
	}
	c.e.log.Info("audit", "event", "account-added", "principal", sanitize(principal(domain, req.User)), "uid", c.caller.UID)
	return nil
}

func (c *conn) SetPassword(ctx context.Context, req *lsa.AccountRequest) error {
	return c.changeAccount(ctx, req.Domain, req.User, "password-set", func(store accounts.Store, domain string) error {
		v, err := c.e.verifiers(ctx, req)
		if err != nil {
			return err
		}
		return store.SetVerifiers(ctx, domain, req.User, v)
	})
}

func (c *conn) DeleteAccount(ctx context.Context, domain, user string) error {
	return c.changeAccount(ctx, domain, user, "account-deleted", func(store accounts.Store, domain string) error {
		return store.Delete(ctx, domain, user)
	})
}

func (c *conn) UnlockAccount(ctx context.Context, domain, user string) error {
	return c.changeAccount(ctx, domain, user, "account-unlocked", func(store accounts.Store, domain string) error {
		return store.Unlock(ctx, domain, user)
	})
}

// changeAccount runs an administrative change of an existing account and
// audits it as event.
func (c *conn) changeAccount(ctx context.Context, domain, user, event string, change func(accounts.Store, string) error) error {
	store, err := c.admin(ctx)
	if err != nil {
		return err
	}
	domain = c.e.accountDomain(domain)
	if err := change(store, domain); err != nil {
		var se *secpkg.Error
		if errors.As(err, &se) {
			return err
		}
		return notFound(err, domain, user)
	}
	c.e.log.Info("audit", "event", event, "principal", sanitize(principal(domain, user)), "uid", c.caller.UID)
	return nil
}

func (c *conn) ListAccounts(ctx context.Context) ([]lsa.AccountInfo, error) {
	store, err := c.admin(ctx)
	if err != nil {
		return nil, err
	}
	list, err := store.List(ctx)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "lsa: list accounts: %w", err)
	}
	out := make([]lsa.AccountInfo, 0, len(list))
	for _, a := range list {
		info := lsa.AccountInfo{
			Domain: a.Domain, User: a.Name, Groups: a.Groups, Disabled: a.Disabled,
			Failures: a.Lockout.Failures, Created: a.Created, Updated: a.Updated,
		}
		if a.Lockout.Locked(c.e.now()) {
			info.LockedUntil = a.Lockout.LockedUntil
		}
		// List omits verifier bytes; ask for the packages separately.
		if full, err := store.Lookup(ctx, a.Domain, a.Name); err == nil {
			for pkg := range full.Verifiers {
				info.Packages = append(info.Packages, pkg)
			}
			slices.Sort(info.Packages)
			for _, v := range full.Verifiers {
				clear(v)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func notFound(err error, domain, user string) error {
	if errors.Is(err, accounts.ErrNotFound) {
		return secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: no account %s\\%s", domain, user)
	}
	return secpkg.Errorf(secpkg.StatusInternalError, "lsa: %w", err)
}

// accountDomain is the domain an account is stored under: the local
// domain when none is given.
func (e *Engine) accountDomain(domain string) string {
	if domain == "" || domain == "." {
		return e.cfg.Parameters.DomainName
	}
	return domain
}

// verifiers makes the verifiers of req's password: every loaded
// VerifierMaker's but those that answer StatusUnsupportedFunction (the
// client makes theirs: Registration), or, with req.Packages, those named,
// which must all make one.
func (e *Engine) verifiers(ctx context.Context, req *lsa.AccountRequest) (map[string][]byte, error) {
	if req.User == "" || len(req.Password) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusInvalidParameter, "lsa: an account needs a name and a password")
	}
	domain := e.accountDomain(req.Domain)
	var pkgs []*loadedPackage
	if len(req.Packages) > 0 {
		for _, name := range req.Packages {
			p, err := e.pkg(name)
			if err != nil {
				return nil, err
			}
			pkgs = append(pkgs, p)
		}
	} else {
		// Every loaded package, a disabled one too: it may be enabled
		// again (a reload), and then finds its verifier.
		e.pkgMu.RLock()
		pkgs = append(pkgs, e.packages...)
		e.pkgMu.RUnlock()
	}
	v := make(map[string][]byte)
	for _, p := range pkgs {
		vm, ok := p.lsa.(secpkg.VerifierMaker)
		if !ok {
			if len(req.Packages) > 0 {
				return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s keeps no verifiers in the account store", p.name)
			}
			continue
		}
		b, err := vm.MakeVerifier(ctx, req.User, domain, req.Password)
		if errors.Is(err, secpkg.StatusUnsupportedFunction) && len(req.Packages) == 0 {
			continue // the client makes this package's verifier
		}
		if err != nil {
			if _, ok := p.lsa.(secpkg.Registrar); ok && errors.Is(err, secpkg.StatusUnsupportedFunction) {
				return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: %s makes no verifier from a password given to the LSA: the client registers it (sspi account register)", p.name)
			}
			return nil, fmt.Errorf("lsa: %s verifier: %w", p.name, err)
		}
		v[p.name] = b
	}
	if len(v) == 0 {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "lsa: no enabled package makes a verifier from a password")
	}
	return v, nil
}

var _ lsa.Admin = (*conn)(nil)
