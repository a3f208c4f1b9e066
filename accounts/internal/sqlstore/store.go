// Package sqlstore is the account store on database/sql, shared by the
// SQLite and PostgreSQL backends: the same queries in the same
// transactions, so that the conformance suite proves their semantics once.
// Each backend supplies a [Dialect] and its connection pools.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
)

// Dialect is what differs between the SQL backends. The queries below are
// written once, with PostgreSQL's $n placeholders; Rebind adapts them.
type Dialect struct {
	Name       string
	Migrations string // directory in migrationFiles
	BlobType   string // for typed NULLs in UNION ALL
	// VersionTableExists is a query for one boolean: whether the
	// schema_version table exists (where unqualified names resolve).
	VersionTableExists string
	// LockAccount and LockDecoy end the two parts of the read of Logon:
	// row locks on PostgreSQL (FOR UPDATE OF the lockout row, FOR UPDATE
	// of the decoy row); nothing on SQLite, whose write transactions
	// (BEGIN IMMEDIATE) already exclude every other writer.
	LockAccount, LockDecoy string
	// False is the boolean false of the dialect.
	False string
	// LightCommit, if set, is run before committing a Logon that wrote
	// nothing (a success on a clear counter), so that its commit does not
	// wait for the disk: PostgreSQL flushes the commit of a transaction
	// that only locked a row, which would cost every logon a flush.
	LightCommit string
	// GroupsJSON returns an expression for the JSON array, as text, of
	// the names of the groups of the account whose id is the expression
	// id ('[]' when there are none).
	GroupsJSON func(id string) string
	Rebind     func(string) string
	// LockMigrations serializes migrators beyond what the transaction
	// does (PostgreSQL: an advisory lock).
	LockMigrations func(context.Context, *sql.Tx) error
	// CheckDatabase vets the database before migrating (SQLite: that the
	// file is an account store, not some other application's database).
	CheckDatabase func(ctx context.Context, tx *sql.Tx, version int) error
	// Retryable reports whether a failed write transaction can be run
	// again (PostgreSQL serialization failures and deadlocks).
	Retryable func(error) bool
}

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// RebindNumbered turns $n placeholders into ?n (SQLite's numbered
// parameters: the same numbering).
func RebindNumbered(q string) string { return placeholder.ReplaceAllString(q, "?$1") }

// Store implements accounts.Store on database/sql, for SQLite and
// PostgreSQL.
type Store struct {
	Cfg *rules.Config
	D   *Dialect
	W   *sql.DB // write transactions
	R   *sql.DB // single-statement reads; the same pool as W on PostgreSQL

	qLookup, qList string

	// The hot statements, prepared once per connection (preparing the
	// Lookup query costs SQLite more than running it): Lookup on R, the
	// statements of Logon on W.
	stLookup                              *sql.Stmt
	stLogon, stAccountWrite, stDecoyWrite *sql.Stmt

	// unrecorded counts, per account id, the failures Logon could not
	// commit; the next attempt counts them first (see Logon).
	mu         sync.Mutex
	unrecorded map[int64]int
}

var _ accounts.Store = (*Store)(nil)

// Prepare prepares the hot reads; the tables must exist.
func (s *Store) Prepare(ctx context.Context) error {
	var err error
	if s.stLookup, err = s.R.PrepareContext(ctx, s.qLookup); err != nil {
		return fmt.Errorf("accounts: preparing lookup: %w", err)
	}
	if s.stLogon, err = s.W.PrepareContext(ctx, s.qLogon()); err != nil {
		return fmt.Errorf("accounts: preparing logon: %w", err)
	}
	if s.stAccountWrite, err = s.W.PrepareContext(ctx, s.D.Rebind(qAccountWrite)); err != nil {
		return fmt.Errorf("accounts: preparing logon: %w", err)
	}
	if s.stDecoyWrite, err = s.W.PrepareContext(ctx, s.D.Rebind(qDecoyWrite)); err != nil {
		return fmt.Errorf("accounts: preparing logon: %w", err)
	}
	return nil
}

// New returns a store on the pools w (write transactions) and r (reads),
// which may be the same. The caller migrates, then calls Prepare.
func New(cfg *rules.Config, d *Dialect, w, r *sql.DB) *Store {
	s := &Store{Cfg: cfg, D: d, W: w, R: r}
	s.qLookup = d.Rebind(`
SELECT 0, a.domain, a.name, a.disabled, a.created, a.updated,
       l.failures, l.first_failure, l.locked_until, CAST(NULL AS ` + d.BlobType + `)
  FROM accounts a JOIN lockout l ON l.account_id = a.id
 WHERE a.domain_key = $1 AND a.name_key = $2
UNION ALL
SELECT 1, g.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM accounts a JOIN groups g ON g.account_id = a.id
 WHERE a.domain_key = $1 AND a.name_key = $2
UNION ALL
SELECT 2, v.package, NULL, NULL, NULL, NULL, NULL, NULL, NULL, v.verifier
  FROM accounts a JOIN verifiers v ON v.account_id = a.id
 WHERE a.domain_key = $1 AND a.name_key = $2`)
	s.qList = `
SELECT 0, a.id, a.domain, a.name, a.disabled, a.created, a.updated,
       l.failures, l.first_failure, l.locked_until
  FROM accounts a JOIN lockout l ON l.account_id = a.id
UNION ALL
SELECT 1, g.account_id, g.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM groups g`
	return s
}

// write runs fn in a write transaction and commits it, running it again
// if the Dialect says the failure was a transient conflict.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	const attempts = 5
	for i := 1; ; i++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || i == attempts || s.D.Retryable == nil || !s.D.Retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 5 * time.Millisecond):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounts: starting transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounts: committing: %w", err)
	}
	return nil
}

// touch stamps the account's Updated time, locking its row on PostgreSQL,
// and returns its id, or accounts.ErrNotFound.
func (s *Store) touch(ctx context.Context, tx *sql.Tx, domain, name string, now time.Time) (int64, error) {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, s.D.Rebind(`UPDATE accounts SET updated = $3 WHERE domain_key = $1 AND name_key = $2 RETURNING id`),
		dk, nk, now.UnixMicro()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, accounts.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("accounts: updating account: %w", err)
	}
	return id, nil
}

// keys returns the folded keys of an account name, or accounts.ErrNotFound for a
// name no account can have (Create refuses it), before it reaches a
// database that might reject it with an error of its own.
func keys(domain, name string) (dk, nk string, err error) {
	if rules.CheckAccountName(domain, name) != nil {
		return "", "", accounts.ErrNotFound
	}
	return rules.FoldKey(domain), rules.FoldKey(name), nil
}

func (s *Store) insertGroups(ctx context.Context, tx *sql.Tx, id int64, groups []string) error {
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`INSERT INTO groups (account_id, name) VALUES ($1, $2)`), id, g); err != nil {
			return fmt.Errorf("accounts: adding group: %w", err)
		}
	}
	return nil
}

func (s *Store) insertVerifiers(ctx context.Context, tx *sql.Tx, id int64, verifiers map[string][]byte, now time.Time) error {
	for pkg, v := range verifiers {
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`INSERT INTO verifiers (account_id, package, verifier, updated) VALUES ($1, $2, $3, $4)`),
			id, pkg, v, now.UnixMicro()); err != nil {
			// The error text of a failed INSERT names no argument.
			return fmt.Errorf("accounts: storing verifier: %w", err)
		}
	}
	return nil
}

func (s *Store) Lookup(ctx context.Context, domain, name string) (*accounts.Account, error) {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return nil, err
	}
	rows, err := s.stLookup.QueryContext(ctx, dk, nk)
	if err != nil {
		return nil, fmt.Errorf("accounts: looking up account: %w", err)
	}
	defer rows.Close()
	var (
		a     = &accounts.Account{Verifiers: map[string][]byte{}}
		found bool
	)
	for rows.Next() {
		var (
			kind                      int64
			s1, s2                    sql.NullString
			disabled                  sql.NullBool
			created, updated, fails   sql.NullInt64
			firstFailure, lockedUntil sql.NullInt64
			blob                      []byte
		)
		if err := rows.Scan(&kind, &s1, &s2, &disabled, &created, &updated, &fails, &firstFailure, &lockedUntil, &blob); err != nil {
			return nil, fmt.Errorf("accounts: reading account: %w", err)
		}
		switch kind {
		case 0:
			found = true
			a.Domain, a.Name, a.Disabled = s1.String, s2.String, disabled.Bool
			a.Created = rules.FromMicros(created.Int64, created.Valid)
			a.Updated = rules.FromMicros(updated.Int64, updated.Valid)
			a.Lockout = accounts.LockoutState{
				Failures:     int(fails.Int64),
				FirstFailure: rules.FromMicros(firstFailure.Int64, firstFailure.Valid),
				LockedUntil:  rules.FromMicros(lockedUntil.Int64, lockedUntil.Valid),
			}
		case 1:
			a.Groups = append(a.Groups, s1.String)
		case 2:
			a.Verifiers[s1.String] = blob
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: reading account: %w", err)
	}
	if !found {
		return nil, accounts.ErrNotFound
	}
	slices.Sort(a.Groups)
	return a, nil
}

func (s *Store) Create(ctx context.Context, in *accounts.Account) error {
	now := s.Cfg.Stamp()
	a, err := rules.NewAccount(in, now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.D.Rebind(`
INSERT INTO accounts (domain, name, domain_key, name_key, disabled, created, updated)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (domain_key, name_key) DO NOTHING
RETURNING id`), a.Domain, a.Name, rules.FoldKey(a.Domain), rules.FoldKey(a.Name), a.Disabled, now.UnixMicro()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return accounts.ErrExists
		}
		if err != nil {
			return fmt.Errorf("accounts: creating account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`INSERT INTO lockout (account_id, failures) VALUES ($1, 0)`), id); err != nil {
			return fmt.Errorf("accounts: creating lockout state: %w", err)
		}
		if err := s.insertGroups(ctx, tx, id, a.Groups); err != nil {
			return err
		}
		return s.insertVerifiers(ctx, tx, id, a.Verifiers, now)
	})
}

func (s *Store) SetVerifiers(ctx context.Context, domain, name string, verifiers map[string][]byte) error {
	v, err := rules.NormVerifiers(verifiers)
	if err != nil {
		return err
	}
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`DELETE FROM verifiers WHERE account_id = $1`), id); err != nil {
			return fmt.Errorf("accounts: removing verifiers: %w", err)
		}
		if err := s.insertVerifiers(ctx, tx, id, v, now); err != nil {
			return err
		}
		return s.clearLockout(ctx, tx, id)
	})
}

func (s *Store) clearLockout(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, s.D.Rebind(`UPDATE lockout SET failures = 0, first_failure = NULL, locked_until = NULL WHERE account_id = $1`), id); err != nil {
		return fmt.Errorf("accounts: clearing lockout state: %w", err)
	}
	return nil
}

func (s *Store) SetGroups(ctx context.Context, domain, name string, groups []string) error {
	g, err := rules.NormGroups(groups)
	if err != nil {
		return err
	}
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.D.Rebind(`DELETE FROM groups WHERE account_id = $1`), id); err != nil {
			return fmt.Errorf("accounts: removing groups: %w", err)
		}
		return s.insertGroups(ctx, tx, id, g)
	})
}

func (s *Store) SetDisabled(ctx context.Context, domain, name string, disabled bool) error {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return err
	}
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.D.Rebind(`UPDATE accounts SET disabled = $3, updated = $4 WHERE domain_key = $1 AND name_key = $2`),
			dk, nk, disabled, now.UnixMicro())
		return affectedOne(res, err, "updating account")
	})
}

func (s *Store) Delete(ctx context.Context, domain, name string) error {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.D.Rebind(`DELETE FROM accounts WHERE domain_key = $1 AND name_key = $2`), dk, nk)
		return affectedOne(res, err, "deleting account")
	})
}

// affectedOne turns the result of a statement that changes one account
// row into nil or accounts.ErrNotFound.
func affectedOne(res sql.Result, err error, doing string) error {
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", doing, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", doing, err)
	}
	if n == 0 {
		return accounts.ErrNotFound
	}
	return nil
}

func (s *Store) List(ctx context.Context) ([]*accounts.Account, error) {
	rows, err := s.R.QueryContext(ctx, s.qList)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing accounts: %w", err)
	}
	defer rows.Close()
	byID := map[int64]*accounts.Account{}
	groups := map[int64][]string{}
	for rows.Next() {
		var (
			kind, id                  int64
			s1, s2                    sql.NullString
			disabled                  sql.NullBool
			created, updated, fails   sql.NullInt64
			firstFailure, lockedUntil sql.NullInt64
		)
		if err := rows.Scan(&kind, &id, &s1, &s2, &disabled, &created, &updated, &fails, &firstFailure, &lockedUntil); err != nil {
			return nil, fmt.Errorf("accounts: listing accounts: %w", err)
		}
		if kind == 1 {
			groups[id] = append(groups[id], s1.String)
			continue
		}
		byID[id] = &accounts.Account{
			Domain:   s1.String,
			Name:     s2.String,
			Disabled: disabled.Bool,
			Created:  rules.FromMicros(created.Int64, created.Valid),
			Updated:  rules.FromMicros(updated.Int64, updated.Valid),
			Lockout: accounts.LockoutState{
				Failures:     int(fails.Int64),
				FirstFailure: rules.FromMicros(firstFailure.Int64, firstFailure.Valid),
				LockedUntil:  rules.FromMicros(lockedUntil.Int64, lockedUntil.Valid),
			},
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: listing accounts: %w", err)
	}
	list := make([]*accounts.Account, 0, len(byID))
	for id, a := range byID {
		if g := groups[id]; len(g) > 0 {
			slices.Sort(g)
			a.Groups = g
		}
		list = append(list, a)
	}
	rules.SortAccounts(list)
	return list, nil
}

func (s *Store) Unlock(ctx context.Context, domain, name string) error {
	now := s.Cfg.Stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		return s.clearLockout(ctx, tx, id)
	})
}

func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.stLookup, s.stLogon, s.stAccountWrite, s.stDecoyWrite} {
		if st != nil {
			st.Close()
		}
	}
	err := s.W.Close()
	if s.R != s.W {
		if rerr := s.R.Close(); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("accounts: closing: %w", err)
	}
	return nil
}
