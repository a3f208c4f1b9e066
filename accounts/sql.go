package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// dialect is what differs between the SQL backends. The queries below are
// written once, with PostgreSQL's $n placeholders; rebind adapts them.
type dialect struct {
	name       string
	migrations string // directory in migrationFiles
	blobType   string // for typed NULLs in UNION ALL
	// versionTableExists is a query for one boolean: whether the
	// schema_version table exists (where unqualified names resolve).
	versionTableExists string
	// forUpdateLockout is appended to the SELECT of RecordLogon: a row
	// lock on PostgreSQL; nothing on SQLite, whose write transactions
	// (BEGIN IMMEDIATE) already exclude every other writer.
	forUpdateLockout string
	rebind           func(string) string
	// lockMigrations serializes migrators beyond what the transaction
	// does (PostgreSQL: an advisory lock).
	lockMigrations func(context.Context, *sql.Tx) error
	// checkDatabase vets the database before migrating (SQLite: that the
	// file is an account store, not some other application's database).
	checkDatabase func(ctx context.Context, tx *sql.Tx, version int) error
	// retryable reports whether a failed write transaction can be run
	// again (PostgreSQL serialization failures and deadlocks).
	retryable func(error) bool
}

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// sqlStore implements Store on database/sql, for SQLite and PostgreSQL.
type sqlStore struct {
	cfg *config
	d   *dialect
	w   *sql.DB // write transactions
	r   *sql.DB // single-statement reads; the same pool as w on PostgreSQL

	qLookup, qList, qLockout, qLockoutRead string

	// The hot reads, prepared once per connection of r (preparing the
	// Lookup query costs SQLite more than running it).
	stLookup, stLockoutRead *sql.Stmt
}

// prepare prepares the hot reads; the tables must exist.
func (s *sqlStore) prepare(ctx context.Context) error {
	var err error
	if s.stLookup, err = s.r.PrepareContext(ctx, s.qLookup); err != nil {
		return fmt.Errorf("accounts: preparing lookup: %w", err)
	}
	if s.stLockoutRead, err = s.r.PrepareContext(ctx, s.qLockoutRead); err != nil {
		return fmt.Errorf("accounts: preparing lockout read: %w", err)
	}
	return nil
}

func newSQLStore(cfg *config, d *dialect, w, r *sql.DB) *sqlStore {
	s := &sqlStore{cfg: cfg, d: d, w: w, r: r}
	s.qLookup = d.rebind(`
SELECT 0, a.domain, a.name, a.disabled, a.created, a.updated,
       l.failures, l.first_failure, l.locked_until, CAST(NULL AS ` + d.blobType + `)
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
	s.qLockoutRead = d.rebind(`
SELECT l.account_id, a.domain, a.name, l.failures, l.first_failure, l.locked_until
  FROM accounts a JOIN lockout l ON l.account_id = a.id
 WHERE a.domain_key = $1 AND a.name_key = $2`)
	s.qLockout = s.qLockoutRead + d.forUpdateLockout
	return s
}

// write runs fn in a write transaction and commits it, running it again
// if the dialect says the failure was a transient conflict.
func (s *sqlStore) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	const attempts = 5
	for i := 1; ; i++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || i == attempts || s.d.retryable == nil || !s.d.retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 5 * time.Millisecond):
		}
	}
}

func (s *sqlStore) writeOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
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
// and returns its id, or ErrNotFound.
func (s *sqlStore) touch(ctx context.Context, tx *sql.Tx, domain, name string, now time.Time) (int64, error) {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, s.d.rebind(`UPDATE accounts SET updated = $3 WHERE domain_key = $1 AND name_key = $2 RETURNING id`),
		dk, nk, now.UnixMicro()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("accounts: updating account: %w", err)
	}
	return id, nil
}

// keys returns the folded keys of an account name, or ErrNotFound for a
// name no account can have (Create refuses it), before it reaches a
// database that might reject it with an error of its own.
func keys(domain, name string) (dk, nk string, err error) {
	if checkAccountName(domain, name) != nil {
		return "", "", ErrNotFound
	}
	return foldKey(domain), foldKey(name), nil
}

func (s *sqlStore) insertGroups(ctx context.Context, tx *sql.Tx, id int64, groups []string) error {
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO groups (account_id, name) VALUES ($1, $2)`), id, g); err != nil {
			return fmt.Errorf("accounts: adding group: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) insertVerifiers(ctx context.Context, tx *sql.Tx, id int64, verifiers map[string][]byte, now time.Time) error {
	for pkg, v := range verifiers {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO verifiers (account_id, package, verifier, updated) VALUES ($1, $2, $3, $4)`),
			id, pkg, v, now.UnixMicro()); err != nil {
			// The error text of a failed INSERT names no argument.
			return fmt.Errorf("accounts: storing verifier: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) Lookup(ctx context.Context, domain, name string) (*Account, error) {
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
		a     = &Account{Verifiers: map[string][]byte{}}
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
			a.Created = fromMicros(created.Int64, created.Valid)
			a.Updated = fromMicros(updated.Int64, updated.Valid)
			a.Lockout = LockoutState{
				Failures:     int(fails.Int64),
				FirstFailure: fromMicros(firstFailure.Int64, firstFailure.Valid),
				LockedUntil:  fromMicros(lockedUntil.Int64, lockedUntil.Valid),
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
		return nil, ErrNotFound
	}
	slices.Sort(a.Groups)
	return a, nil
}

func (s *sqlStore) Create(ctx context.Context, in *Account) error {
	now := s.cfg.stamp()
	a, err := newAccount(in, now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.d.rebind(`
INSERT INTO accounts (domain, name, domain_key, name_key, disabled, created, updated)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (domain_key, name_key) DO NOTHING
RETURNING id`), a.Domain, a.Name, foldKey(a.Domain), foldKey(a.Name), a.Disabled, now.UnixMicro()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("accounts: creating account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO lockout (account_id, failures) VALUES ($1, 0)`), id); err != nil {
			return fmt.Errorf("accounts: creating lockout state: %w", err)
		}
		if err := s.insertGroups(ctx, tx, id, a.Groups); err != nil {
			return err
		}
		return s.insertVerifiers(ctx, tx, id, a.Verifiers, now)
	})
}

func (s *sqlStore) SetVerifiers(ctx context.Context, domain, name string, verifiers map[string][]byte) error {
	v, err := normVerifiers(verifiers)
	if err != nil {
		return err
	}
	now := s.cfg.stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM verifiers WHERE account_id = $1`), id); err != nil {
			return fmt.Errorf("accounts: removing verifiers: %w", err)
		}
		if err := s.insertVerifiers(ctx, tx, id, v, now); err != nil {
			return err
		}
		return s.clearLockout(ctx, tx, id)
	})
}

func (s *sqlStore) clearLockout(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE lockout SET failures = 0, first_failure = NULL, locked_until = NULL WHERE account_id = $1`), id); err != nil {
		return fmt.Errorf("accounts: clearing lockout state: %w", err)
	}
	return nil
}

func (s *sqlStore) SetGroups(ctx context.Context, domain, name string, groups []string) error {
	g, err := normGroups(groups)
	if err != nil {
		return err
	}
	now := s.cfg.stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM groups WHERE account_id = $1`), id); err != nil {
			return fmt.Errorf("accounts: removing groups: %w", err)
		}
		return s.insertGroups(ctx, tx, id, g)
	})
}

func (s *sqlStore) SetDisabled(ctx context.Context, domain, name string, disabled bool) error {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return err
	}
	now := s.cfg.stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE accounts SET disabled = $3, updated = $4 WHERE domain_key = $1 AND name_key = $2`),
			dk, nk, disabled, now.UnixMicro())
		return affectedOne(res, err, "updating account")
	})
}

func (s *sqlStore) Delete(ctx context.Context, domain, name string) error {
	dk, nk, err := keys(domain, name)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM accounts WHERE domain_key = $1 AND name_key = $2`), dk, nk)
		return affectedOne(res, err, "deleting account")
	})
}

// affectedOne turns the result of a statement that changes one account
// row into nil or ErrNotFound.
func affectedOne(res sql.Result, err error, doing string) error {
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", doing, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", doing, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlStore) List(ctx context.Context) ([]*Account, error) {
	rows, err := s.r.QueryContext(ctx, s.qList)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing accounts: %w", err)
	}
	defer rows.Close()
	byID := map[int64]*Account{}
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
		byID[id] = &Account{
			Domain:   s1.String,
			Name:     s2.String,
			Disabled: disabled.Bool,
			Created:  fromMicros(created.Int64, created.Valid),
			Updated:  fromMicros(updated.Int64, updated.Valid),
			Lockout: LockoutState{
				Failures:     int(fails.Int64),
				FirstFailure: fromMicros(firstFailure.Int64, firstFailure.Valid),
				LockedUntil:  fromMicros(lockedUntil.Int64, lockedUntil.Valid),
			},
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: listing accounts: %w", err)
	}
	list := make([]*Account, 0, len(byID))
	for id, a := range byID {
		if g := groups[id]; len(g) > 0 {
			slices.Sort(g)
			a.Groups = g
		}
		list = append(list, a)
	}
	sortAccounts(list)
	return list, nil
}

// lockoutRow is an account's lockout state as read by RecordLogon.
type lockoutRow struct {
	id           int64
	domain, name string
	state        LockoutState
}

func scanLockout(row *sql.Row) (lockoutRow, error) {
	var (
		l                         lockoutRow
		fails                     int64
		firstFailure, lockedUntil sql.NullInt64
	)
	err := row.Scan(&l.id, &l.domain, &l.name, &fails, &firstFailure, &lockedUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("accounts: reading lockout state: %w", err)
	}
	l.state = LockoutState{
		Failures:     int(fails),
		FirstFailure: fromMicros(firstFailure.Int64, firstFailure.Valid),
		LockedUntil:  fromMicros(lockedUntil.Int64, lockedUntil.Valid),
	}
	return l, nil
}

func (s *sqlStore) RecordLogon(ctx context.Context, domain, name string, success bool, now time.Time) (LogonOutcome, error) {
	now = s.cfg.logonTime(now)
	dk, nk, err := keys(domain, name)
	if err != nil {
		return LogonOutcome{}, err
	}
	if success {
		// Most logons succeed on an account with a clear counter;
		// they need no write. A failure committed after this read is
		// ordered after this success, which is what its caller saw.
		l, err := scanLockout(s.stLockoutRead.QueryRowContext(ctx, dk, nk))
		if err != nil {
			return LogonOutcome{}, err
		}
		if l.state.equal(LockoutState{}) {
			return LogonOutcome{}, nil
		}
	}
	var out LogonOutcome
	var who lockoutRow
	err = s.write(ctx, func(tx *sql.Tx) error {
		l, err := scanLockout(tx.QueryRowContext(ctx, s.qLockout, dk, nk))
		if err != nil {
			return err
		}
		next, lockedNow := s.cfg.policy.apply(l.state, success, now)
		out, who = LogonOutcome{State: next, LockedNow: lockedNow}, l
		if next.equal(l.state) {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.d.rebind(`UPDATE lockout SET failures = $2, first_failure = $3, locked_until = $4 WHERE account_id = $1`),
			l.id, next.Failures, toMicros(next.FirstFailure), toMicros(next.LockedUntil))
		if err != nil {
			return fmt.Errorf("accounts: updating lockout state: %w", err)
		}
		return nil
	})
	if err != nil {
		return LogonOutcome{}, err
	}
	if out.LockedNow {
		logLocked(s.cfg, who.domain, who.name, out.State)
	}
	return out, nil
}

func (s *sqlStore) Unlock(ctx context.Context, domain, name string) error {
	now := s.cfg.stamp()
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.touch(ctx, tx, domain, name, now)
		if err != nil {
			return err
		}
		return s.clearLockout(ctx, tx, id)
	})
}

func (s *sqlStore) Close() error {
	for _, st := range []*sql.Stmt{s.stLookup, s.stLockoutRead} {
		if st != nil {
			st.Close()
		}
	}
	err := s.w.Close()
	if s.r != s.w {
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("accounts: closing: %w", err)
	}
	return nil
}
