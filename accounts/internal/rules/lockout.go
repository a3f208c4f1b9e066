package rules

import (
	"hash/fnv"
	"math"
	"time"

	"github.com/opensspi/sspi/accounts"
)

// MaxFailures caps the failure counter so that it fits every backend's
// column (a PostgreSQL integer) and never wraps.
const MaxFailures = math.MaxInt32

// Apply is the lockout state machine shared by every backend (see the
// package documentation of accounts). It returns the next state and
// whether this failure locked the account. The caller holds the account's
// row lock (or the memory store's mutex) from reading st to writing the
// result.
func Apply(p accounts.LockoutPolicy, st accounts.LockoutState, success bool, now time.Time) (next accounts.LockoutState, lockedNow bool) {
	locked := st.Locked(now)
	if success {
		if locked {
			// A success does not unlock: the caller should not have
			// checked the password at all, and a lock is lifted only
			// by time, Unlock or a password change.
			return st, false
		}
		return accounts.LockoutState{}, false
	}
	if locked {
		// A failure while locked is counted but does not extend the
		// lock (MS-SAMR 3.1.5.14.6 leaves lockoutTime alone while an
		// account is locked out).
		if st.Failures < MaxFailures {
			st.Failures++
		}
		return st, false
	}
	expired := p.Window > 0 && !now.Before(st.FirstFailure.Add(p.Window))
	if st.Failures == 0 || !st.LockedUntil.IsZero() || expired {
		// First failure, a failure after a lock ran out, or after
		// the window closed: a new window starts with this failure.
		st = accounts.LockoutState{Failures: 1, FirstFailure: now}
	} else if st.Failures < MaxFailures {
		st.Failures++
	}
	if p.Threshold > 0 && st.Failures >= p.Threshold {
		st.LockedUntil = accounts.LockedForever
		if p.Duration > 0 && now.Before(accounts.LockedForever.Add(-p.Duration)) {
			st.LockedUntil = now.Add(p.Duration)
		}
		return st, true
	}
	return st, false
}

// Equal reports whether two lockout states are the same.
func Equal(s, o accounts.LockoutState) bool {
	return s.Failures == o.Failures && s.FirstFailure.Equal(o.FirstFailure) && s.LockedUntil.Equal(o.LockedUntil)
}

// Decision is what a logon attempt records.
type Decision struct {
	Result accounts.LogonResult
	// Next is the state to write to the row the attempt read (the
	// account's lockout row, or for a name that is no account's the
	// decoy row of the name) when Write is set.
	Next  accounts.LockoutState
	Write bool
	// LockedNow is set when this attempt locked the account.
	LockedNow bool
}

// Failed reports whether the attempt is one that counts against the
// account (a failure the store must not lose).
func (d Decision) Failed() bool {
	return d.Result == accounts.LogonWrongPassword || d.Result == accounts.LogonLockedOut
}

// Decide decides a logon attempt on what the store read while holding the
// lock of the row it will write: whether the account exists (found),
// whether it is disabled, the lockout state st of its row (for a name
// that is no account's, of the name's decoy row) and the package's
// verifier. pending is the number of earlier failures of the account that
// the store could not record; they are counted first. Decide calls
// a.Check exactly once (see accounts.LogonAttempt).
//
// Every refusal writes its row, so that all refusals cost one write: a
// wrong password and an attempt on a locked account count a failure; an
// unknown name counts one in its decoy row; a disabled account or one
// without the verifier rewrites its state unchanged. A success writes
// only when it clears failures.
func Decide(p accounts.LockoutPolicy, a *accounts.LogonAttempt, found, disabled bool, st accounts.LockoutState, verifier []byte, pending int, now time.Time) Decision {
	if !found {
		a.Check(nil)
		next, _ := Apply(p, st, false, now)
		return Decision{Result: accounts.LogonNoSuchAccount, Next: next, Write: true}
	}
	orig := st
	var d Decision
	for range pending {
		var lockedNow bool
		st, lockedNow = Apply(p, st, false, now)
		d.LockedNow = d.LockedNow || lockedNow
	}
	d.Write = true
	switch {
	case st.Locked(now):
		// Not checked: a right password must not be told apart from a
		// wrong one while the account is locked. Counted as a failure,
		// which does not extend the lock.
		a.Check(nil)
		d.Result = accounts.LogonLockedOut
		d.Next, _ = Apply(p, st, false, now)
	case disabled:
		a.Check(nil)
		d.Result, d.Next = accounts.LogonDisabled, st
	case len(verifier) == 0:
		a.Check(nil)
		d.Result, d.Next = accounts.LogonNoVerifier, st
	case a.Check(verifier):
		d.Result = accounts.LogonGranted
		d.Next, _ = Apply(p, st, true, now)
		d.Write = !Equal(d.Next, orig)
	default:
		var lockedNow bool
		d.Result = accounts.LogonWrongPassword
		d.Next, lockedNow = Apply(p, st, false, now)
		d.LockedNow = d.LockedNow || lockedNow
	}
	return d
}

// DecoyBuckets is the number of decoy rows; an attempt's row is chosen by
// its folded domain and account name.
const DecoyBuckets = 64

// DecoyBucket is the decoy row of a name.
func DecoyBucket(domain, name string) int {
	h := fnv.New32a()
	h.Write([]byte(FoldKey(domain)))
	h.Write([]byte{0})
	h.Write([]byte(FoldKey(name)))
	return int(h.Sum32() % DecoyBuckets)
}
