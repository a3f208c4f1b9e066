package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
)

// Per-package verifier writes, package secrets and registration codes
// (schema version 3).

func (s *Store) SetVerifier(ctx context.Context, domain, name, pkg string, verifier []byte) error {
	if err := rules.CheckVerifier(pkg, verifier); err != nil {
		return err
	}
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		return s.putVerifier(ctx, tx, id, pkg, verifier, now)
	})
}

// putVerifier stores one package's verifier of account id, keeping the
// others, and clears the account's lockout state.
func (s *Store) putVerifier(ctx context.Context, tx *sql.Tx, id int64, pkg string, verifier []byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.D.Rebind(`
INSERT INTO verifiers (account_id, package, verifier, updated) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, package) DO UPDATE SET verifier = excluded.verifier, updated = excluded.updated`),
		id, pkg, verifier, now.UnixMicro()); err != nil {
		// The error text of a failed INSERT names no argument.
		return fmt.Errorf("accounts: storing verifier: %w", err)
	}
	return s.clearLockout(ctx, tx, id)
}

func (s *Store) Secret(ctx context.Context, pkg, name string) ([]byte, error) {
	if err := rules.CheckSecret(pkg, name, nil); err != nil {
		return nil, err
	}
	var b []byte
	err := s.R.QueryRowContext(ctx, s.D.Rebind(`SELECT secret FROM package_secrets WHERE package = $1 AND name = $2`), pkg, name).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: reading package secret: %w", err)
	}
	return b, nil
}

func (s *Store) CreateSecret(ctx context.Context, pkg, name string, secret []byte) error {
	if err := rules.CheckSecret(pkg, name, secret); err != nil {
		return err
	}
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		var got string
		err := tx.QueryRowContext(ctx, s.D.Rebind(`
INSERT INTO package_secrets (package, name, secret, created) VALUES ($1, $2, $3, $4)
ON CONFLICT (package, name) DO NOTHING
RETURNING package`), pkg, name, secret, now.UnixMicro()).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return accounts.ErrExists
		}
		if err != nil {
			return fmt.Errorf("accounts: storing package secret: %w", err)
		}
		return nil
	})
}

func (s *Store) AddRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, at time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return err
	}
	now, stamp := s.Cfg.LogonTime(at), s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, c.Domain, c.Name, stamp)
		if err != nil {
			return err
		}
		// One live code per account and package; expired ones go.
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`DELETE FROM registration_codes WHERE expires <= $1 OR (account_id = $2 AND package = $3)`),
			now.UnixMicro(), id, c.Package); err != nil {
			return fmt.Errorf("accounts: removing registration codes: %w", err)
		}
		var sel []byte
		err = tx.QueryRowContext(ctx, s.D.Rebind(`
INSERT INTO registration_codes (selector, account_id, package, hash, expires, created) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (selector) DO NOTHING
RETURNING selector`), c.Selector, id, c.Package, c.Hash, rules.NormTime(c.Expires).UnixMicro(), stamp.UnixMicro()).Scan(&sel)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("accounts: a registration code with this selector: %w", accounts.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("accounts: storing registration code: %w", err)
		}
		return nil
	})
}

// qCode reads the code by its selector with the keys of its account.
const qCode = `
SELECT c.account_id, a.domain_key, a.name_key, c.package, c.hash, c.expires
  FROM registration_codes c JOIN accounts a ON a.id = c.account_id
 WHERE c.selector = $1`

// readCode reads the code c names (nil if there is none) and its
// account's id.
func (s *Store) readCode(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, c *accounts.RegistrationCode, lock string) (*rules.StoredCode, int64, error) {
	var (
		id      int64
		sc      rules.StoredCode
		expires int64
	)
	err := q.QueryRowContext(ctx, s.D.Rebind(qCode)+lock, c.Selector).Scan(&id, &sc.DomainKey, &sc.NameKey, &sc.Package, &sc.Hash, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("accounts: reading registration code: %w", err)
	}
	sc.Expires = rules.FromMicros(expires, true)
	return &sc, id, nil
}

func (s *Store) CheckRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, now time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return fmt.Errorf("%w: %v", accounts.ErrInvalidCode, err)
	}
	sc, _, err := s.readCode(ctx, s.R, c, "")
	if err != nil {
		return err
	}
	return rules.MatchCode(sc, c, s.Cfg.LogonTime(now))
}

func (s *Store) RedeemRegistrationCode(ctx context.Context, c *accounts.RegistrationCode, verifier []byte, now time.Time) error {
	if err := rules.CheckCode(c); err != nil {
		return fmt.Errorf("%w: %v", accounts.ErrInvalidCode, err)
	}
	if err := rules.CheckVerifier(c.Package, verifier); err != nil {
		return err
	}
	at := s.Cfg.LogonTime(now)
	stamp := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		// Writers lock an account's row before its children (see the
		// PostgreSQL backend): find the code's account, lock its row,
		// then read the code again with its row locked (FOR UPDATE on
		// PostgreSQL; SQLite's write transaction excludes every other
		// writer), so that of two redemptions one finds it gone.
		sc, id, err := s.readCode(ctx, tx, c, "")
		if err != nil {
			return err
		}
		if err := rules.MatchCode(sc, c, at); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.D.Rebind(`UPDATE accounts SET updated = $2 WHERE id = $1`), id, stamp.UnixMicro())
		if err := affectedOne(res, err, "updating account"); err != nil {
			return err
		}
		lock := ""
		if s.D.LockAccount != "" {
			lock = " FOR UPDATE OF c"
		}
		if sc, id2, err := s.readCode(ctx, tx, c, lock); err != nil {
			return err
		} else if err := rules.MatchCode(sc, c, at); err != nil || id2 != id {
			return fmt.Errorf("%w: used meanwhile", accounts.ErrInvalidCode)
		}
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`DELETE FROM registration_codes WHERE selector = $1`), c.Selector); err != nil {
			return fmt.Errorf("accounts: using the registration code: %w", err)
		}
		return s.putVerifier(ctx, tx, id, c.Package, verifier, stamp)
	})
}
