package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
)

func TestFoldKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"alice", "ALICE"},
		{"Émile", "éMILE"},
		{"k", "\u212a"}, // Kelvin sign
		{"s", "\u017f"}, // long s
		{"ǅ", "ǆ"},      // title case digraph
		{"Σίσυφος", "ΣΊΣΥΦΟΣ"},
		{"σ", "ς"}, // final sigma folds with sigma
	}
	for _, tt := range tests {
		if FoldKey(tt.a) != FoldKey(tt.b) {
			t.Errorf("FoldKey(%q) = %q, FoldKey(%q) = %q; want equal", tt.a, FoldKey(tt.a), tt.b, FoldKey(tt.b))
		}
		if !strings.EqualFold(tt.a, tt.b) {
			t.Errorf("test case %q, %q: strings.EqualFold disagrees", tt.a, tt.b)
		}
	}
	for _, pair := range [][2]string{{"ß", "ss"}, {"e\u0301", "é"}, {"a", "b"}, {"ı", "i"}} {
		if FoldKey(pair[0]) == FoldKey(pair[1]) {
			t.Errorf("FoldKey(%q) == FoldKey(%q), want different", pair[0], pair[1])
		}
	}
}

func FuzzFoldKey(f *testing.F) {
	for _, s := range []string{"Alice", "K\u212a", "straße", "\xff"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if (FoldKey(a) == FoldKey(b)) != strings.EqualFold(a, b) && utf8Valid(a, b) {
			t.Errorf("FoldKey and EqualFold disagree on %q, %q", a, b)
		}
	})
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			return false
		}
	}
	return true
}

// ls is a lockout state.
func ls(failures int, first, until time.Time) accounts.LockoutState {
	return accounts.LockoutState{Failures: failures, FirstFailure: first, LockedUntil: until}
}

// TestApply is the lockout state machine as a table, apart from any
// store.
func TestApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := accounts.LockoutPolicy{Threshold: 3, Window: time.Minute, Duration: time.Hour}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	late := time.Date(9900, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		policy    accounts.LockoutPolicy
		st        accounts.LockoutState
		success   bool
		now       time.Time
		want      accounts.LockoutState
		lockedNow bool
	}{
		{"first failure", p, accounts.LockoutState{}, false, t0, ls(1, t0, time.Time{}), false},
		{"in window", p, ls(1, t0, time.Time{}), false, at(59 * time.Second), ls(2, t0, time.Time{}), false},
		{"window end restarts", p, ls(2, t0, time.Time{}), false, at(time.Minute), ls(1, at(time.Minute), time.Time{}), false},
		{"threshold", p, ls(2, t0, time.Time{}), false, at(time.Second), ls(3, t0, at(time.Hour+time.Second)), true},
		{"while locked", p, ls(3, t0, at(time.Hour)), false, at(time.Minute * 30), ls(4, t0, at(time.Hour)), false},
		{"success while locked", p, ls(3, t0, at(time.Hour)), true, at(time.Minute), ls(3, t0, at(time.Hour)), false},
		{"lock ends", p, ls(9, t0, at(time.Hour)), false, at(time.Hour), ls(1, at(time.Hour), time.Time{}), false},
		{"success clears", p, ls(2, t0, time.Time{}), true, at(time.Second), accounts.LockoutState{}, false},
		{"success after lock ended", p, ls(3, t0, at(time.Hour)), true, at(time.Hour), accounts.LockoutState{}, false},
		{"forever", accounts.LockoutPolicy{Threshold: 1}, accounts.LockoutState{}, false, t0, ls(1, t0, accounts.LockedForever), true},
		{"duration past year 9999", accounts.LockoutPolicy{Threshold: 1, Duration: 1 << 62}, accounts.LockoutState{}, false, late, ls(1, late, accounts.LockedForever), true},
		{"disabled counts", accounts.LockoutPolicy{}, ls(7, t0, time.Time{}), false, at(1000 * time.Hour), ls(8, t0, time.Time{}), false},
		{"clock went back", p, ls(1, t0, time.Time{}), false, at(-time.Hour), ls(2, t0, time.Time{}), false},
		{"counter saturates", p, ls(MaxFailures, t0, accounts.LockedForever), false, t0, ls(MaxFailures, t0, accounts.LockedForever), false},
		{"threshold lowered", accounts.LockoutPolicy{Threshold: 2, Window: time.Hour}, ls(5, t0, time.Time{}), false, t0, ls(6, t0, accounts.LockedForever), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lockedNow := Apply(tt.policy, tt.st, tt.success, tt.now)
			if !Equal(got, tt.want) || lockedNow != tt.lockedNow {
				t.Errorf("apply(%+v, success=%t, %v) = %+v, %t; want %+v, %t", tt.st, tt.success, tt.now, got, lockedNow, tt.want, tt.lockedNow)
			}
		})
	}
}

// TestDecide is the decision of a logon attempt as a table: what Check is
// given, the result, what is written.
func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := accounts.LockoutPolicy{Threshold: 3, Window: time.Hour, Duration: time.Hour}
	locked := ls(3, t0, t0.Add(time.Hour))
	v := []byte("verifier")
	tests := []struct {
		name      string
		found     bool
		disabled  bool
		st        accounts.LockoutState
		verifier  []byte
		pending   int
		right     bool
		checked   bool // Check given the verifier
		result    accounts.LogonResult
		next      accounts.LockoutState
		write     bool
		lockedNow bool
	}{
		{"granted on a clear counter", true, false, ls(0, time.Time{}, time.Time{}), v, 0, true, true, accounts.LogonGranted, ls(0, time.Time{}, time.Time{}), false, false},
		{"granted clears", true, false, ls(2, t0, time.Time{}), v, 0, true, true, accounts.LogonGranted, ls(0, time.Time{}, time.Time{}), true, false},
		{"wrong password", true, false, ls(0, time.Time{}, time.Time{}), v, 0, false, true, accounts.LogonWrongPassword, ls(1, t0, time.Time{}), true, false},
		{"wrong password locks", true, false, ls(2, t0, time.Time{}), v, 0, false, true, accounts.LogonWrongPassword, locked, true, true},
		{"right password while locked", true, false, locked, v, 0, true, false, accounts.LogonLockedOut, ls(4, t0, t0.Add(time.Hour)), true, false},
		{"disabled: rewritten unchanged", true, true, ls(1, t0, time.Time{}), v, 0, true, false, accounts.LogonDisabled, ls(1, t0, time.Time{}), true, false},
		{"no verifier: rewritten unchanged", true, false, ls(0, time.Time{}, time.Time{}), nil, 0, true, false, accounts.LogonNoVerifier, ls(0, time.Time{}, time.Time{}), true, false},
		{"unknown: the decoy counts", false, false, ls(1, t0, time.Time{}), nil, 0, true, false, accounts.LogonNoSuchAccount, ls(2, t0, time.Time{}), true, false},
		{"unrecorded failures count first", true, false, ls(0, time.Time{}, time.Time{}), v, 3, true, false, accounts.LogonLockedOut, ls(4, t0, t0.Add(time.Hour)), true, true},
		{"unrecorded failures below the threshold", true, false, ls(0, time.Time{}, time.Time{}), v, 2, true, true, accounts.LogonGranted, ls(0, time.Time{}, time.Time{}), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var given []byte
			a := &accounts.LogonAttempt{Check: func(b []byte) bool {
				calls++
				given = b
				return b != nil && tt.right
			}}
			d := Decide(p, a, tt.found, tt.disabled, tt.st, tt.verifier, tt.pending, t0)
			if calls != 1 || (given != nil) != tt.checked {
				t.Errorf("Check called %d times, given the verifier %t; want once, %t", calls, given != nil, tt.checked)
			}
			if d.Result != tt.result || !Equal(d.Next, tt.next) || d.Write != tt.write || d.LockedNow != tt.lockedNow {
				t.Errorf("Decide = %v, %+v, write %t, locked now %t; want %v, %+v, %t, %t", d.Result, d.Next, d.Write, d.LockedNow, tt.result, tt.next, tt.write, tt.lockedNow)
			}
		})
	}
}
