package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/rules"
)

// The statements of Logon. An attempt is one transaction of the same shape
// whatever it finds: one read, which returns the account's row (its
// lockout state, the package's verifier, its groups) or, for a name that
// is no account's, the decoy row of the name, of the same columns; the
// check; for every refusal, one single-row UPDATE of the same form, to the
// row that was read; and a commit that (SQLite with synchronous=FULL,
// PostgreSQL with synchronous_commit) waits for the disk. A success on a
// clear counter writes nothing.
const (
	qAccountWrite = `UPDATE lockout SET failures = $2, first_failure = $3, locked_until = $4 WHERE account_id = $1`
	qDecoyWrite   = `UPDATE logon_decoys SET failures = $2, first_failure = $3, locked_until = $4 WHERE bucket = $1`
)

// maxUnrecorded bounds the accounts whose unrecorded failures a store
// remembers (an entry per real account that failed while the database
// could not be written).
const maxUnrecorded = 1 << 16

// qLogon is the read of Logon: the account, its lockout row locked, or
// else the decoy row of bucket $4, locked. The decoy part probes the
// verifiers and groups of an account id no account has (-1 - bucket), as
// the account part probes the account's, so that both do alike.
func (s *Store) qLogon() string {
	return s.D.Rebind(`
WITH acct AS (
  SELECT 0 AS kind, a.id, a.domain, a.name, a.disabled, a.created, a.updated,
         l.failures, l.first_failure, l.locked_until, v.verifier, ` + s.D.GroupsJSON("a.id") + ` AS groups_json
    FROM accounts a JOIN lockout l ON l.account_id = a.id
    LEFT JOIN verifiers v ON v.account_id = a.id AND v.package = $3
   WHERE a.domain_key = $1 AND a.name_key = $2` + s.D.LockAccount + `
), decoy AS (
  SELECT 1 AS kind, d.bucket, '', '', ` + s.D.False + `, 0, 0,
         d.failures, d.first_failure, d.locked_until, COALESCE(v.verifier, d.verifier), ` + s.D.GroupsJSON("-1 - d.bucket") + `
    FROM logon_decoys d
    LEFT JOIN verifiers v ON v.account_id = -1 - d.bucket AND v.package = $3
   WHERE d.bucket = $4 AND NOT EXISTS (SELECT 1 FROM acct)` + s.D.LockDecoy + `
)
SELECT * FROM acct UNION ALL SELECT * FROM decoy`)
}

// Logon decides an attempt in one transaction that holds the lock of the
// row it reads from reading it to committing the outcome (rules.Decide).
// It is not retried: the check runs once.
func (s *Store) Logon(ctx context.Context, a accounts.LogonAttempt) (accounts.LogonOutcome, error) {
	if a.Check == nil {
		return accounts.LogonOutcome{}, errors.New("accounts: logon attempt without a check")
	}
	now := s.Cfg.LogonTime(a.Now)
	dk, nk, err := keys(a.Domain, a.Name)
	if err != nil {
		// A name no account can have: look up one that cannot
		// match either, so that the attempt costs what any other
		// unknown name costs (and the database never sees the name).
		dk, nk = "", ""
	}
	bucket := rules.DecoyBucket(a.Domain, a.Name)
	var (
		out     accounts.LogonOutcome
		d       rules.Decision
		decided bool
		found   bool
		id      int64
		pending int
	)
	err = s.writeOnce(ctx, func(tx *sql.Tx) error {
		var (
			acct                      accounts.Account
			kind                      int
			disabled                  bool
			created, updated, fails   int64
			firstFailure, lockedUntil sql.NullInt64
			verifier                  []byte
			groups                    string
		)
		err := tx.StmtContext(ctx, s.stLogon).QueryRowContext(ctx, dk, nk, a.Package, bucket).Scan(
			&kind, &id, &acct.Domain, &acct.Name, &disabled, &created, &updated,
			&fails, &firstFailure, &lockedUntil, &verifier, &groups)
		if err != nil {
			// The decoy rows exist from the migration on: no row at
			// all is a broken store.
			return fmt.Errorf("accounts: reading account: %w", err)
		}
		found = kind == 0
		st := accounts.LockoutState{
			Failures:     int(fails),
			FirstFailure: rules.FromMicros(firstFailure.Int64, firstFailure.Valid),
			LockedUntil:  rules.FromMicros(lockedUntil.Int64, lockedUntil.Valid),
		}
		if found {
			pending = s.unrecordedOf(id)
		} else {
			verifier = nil // a decoy's verifier is never checked
		}
		if err := json.Unmarshal([]byte(groups), &acct.Groups); err != nil {
			return fmt.Errorf("accounts: reading groups: %w", err)
		}
		d = rules.Decide(s.Cfg.Policy, &a, found, disabled, st, verifier, pending, now)
		clear(verifier)
		decided = true
		if d.Write {
			write := s.stAccountWrite
			if !found {
				write = s.stDecoyWrite
			}
			if _, err := tx.StmtContext(ctx, write).ExecContext(ctx,
				id, d.Next.Failures, rules.ToMicros(d.Next.FirstFailure), rules.ToMicros(d.Next.LockedUntil)); err != nil {
				return fmt.Errorf("accounts: recording the logon attempt: %w", err)
			}
		}
		if !d.Write && s.D.LightCommit != "" {
			// Nothing to make durable: losing this commit loses
			// nothing.
			if _, err := tx.ExecContext(ctx, s.D.LightCommit); err != nil {
				return fmt.Errorf("accounts: %w", err)
			}
		}
		out = accounts.LogonOutcome{Result: d.Result, LockedNow: d.LockedNow}
		if found {
			if len(acct.Groups) == 0 {
				acct.Groups = nil
			}
			slices.Sort(acct.Groups)
			acct.Disabled = disabled
			acct.Created = rules.FromMicros(created, true)
			acct.Updated = rules.FromMicros(updated, true)
			acct.Lockout = d.Next
			out.Account = &acct
		}
		return nil
	})
	if err != nil {
		if decided && d.Failed() {
			// The attempt was checked, but its failure was not
			// recorded: it must count all the same.
			s.addUnrecorded(id, 1)
		}
		return accounts.LogonOutcome{}, err
	}
	if found && pending > 0 {
		// Committed: the failures counted first are recorded now.
		s.addUnrecorded(id, -pending)
	}
	return out, nil
}

// unrecordedOf returns the failures of account id that Logon could not
// commit.
func (s *Store) unrecordedOf(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unrecorded[id]
}

// addUnrecorded adds n (which may be negative) to them.
func (s *Store) addUnrecorded(id int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.unrecorded[id] + n
	switch {
	case v <= 0:
		delete(s.unrecorded, id)
	case s.unrecorded[id] != 0 || len(s.unrecorded) < maxUnrecorded:
		if s.unrecorded == nil {
			s.unrecorded = make(map[int64]int)
		}
		s.unrecorded[id] = min(v, rules.MaxFailures)
	}
}
