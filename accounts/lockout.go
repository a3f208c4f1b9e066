package accounts

import (
	"fmt"
	"math"
	"time"
)

// LockedForever is the LockedUntil of an account that stays locked until an
// administrator unlocks it (a policy whose Duration is zero). It is the
// last second of the year 9999, which every backend can store.
var LockedForever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// maxFailures caps the failure counter so that it fits every backend's
// column (a PostgreSQL integer) and never wraps.
const maxFailures = math.MaxInt32

func (p LockoutPolicy) validate() error {
	switch {
	case p.Threshold < 0:
		return fmt.Errorf("accounts: negative lockout threshold %d", p.Threshold)
	case p.Window < 0:
		return fmt.Errorf("accounts: negative lockout window %v", p.Window)
	case p.Duration < 0:
		return fmt.Errorf("accounts: negative lockout duration %v", p.Duration)
	}
	return nil
}

// apply is the lockout state machine shared by every backend (see the
// package documentation). It returns the next state and whether this
// failure locked the account. The caller holds the account's row lock (or
// the memory store's mutex) from reading st to writing the result.
func (p LockoutPolicy) apply(st LockoutState, success bool, now time.Time) (next LockoutState, lockedNow bool) {
	locked := st.Locked(now)
	if success {
		if locked {
			// A success does not unlock: the caller should not have
			// checked the password at all, and a lock is lifted only
			// by time, Unlock or a password change.
			return st, false
		}
		return LockoutState{}, false
	}
	if locked {
		// A failure while locked is counted but does not extend the
		// lock (MS-SAMR 3.1.5.14.6 leaves lockoutTime alone while an
		// account is locked out).
		if st.Failures < maxFailures {
			st.Failures++
		}
		return st, false
	}
	expired := p.Window > 0 && !now.Before(st.FirstFailure.Add(p.Window))
	if st.Failures == 0 || !st.LockedUntil.IsZero() || expired {
		// First failure, a failure after a lock ran out, or after
		// the window closed: a new window starts with this failure.
		st = LockoutState{Failures: 1, FirstFailure: now}
	} else if st.Failures < maxFailures {
		st.Failures++
	}
	if p.Threshold > 0 && st.Failures >= p.Threshold {
		st.LockedUntil = LockedForever
		if p.Duration > 0 && now.Before(LockedForever.Add(-p.Duration)) {
			st.LockedUntil = now.Add(p.Duration)
		}
		return st, true
	}
	return st, false
}

func (s LockoutState) equal(o LockoutState) bool {
	return s.Failures == o.Failures && s.FirstFailure.Equal(o.FirstFailure) && s.LockedUntil.Equal(o.LockedUntil)
}
