package rules

import (
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
