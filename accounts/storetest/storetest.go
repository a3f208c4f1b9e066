// Package storetest is the conformance suite every accounts.Store backend
// passes, in the manner of testing/fstest and golang.org/x/net/nettest.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, opts *accounts.Options) accounts.Store {
//			s, err := accounts.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "sam.db"), opts)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
)

// Opener opens a new, empty store configured with opts (in which Create
// is set). Run closes every store it opens.
type Opener func(t *testing.T, opts *accounts.Options) accounts.Store

// SharedOpener opens two stores on one new, empty database, as two
// processes or hosts would, both configured with opts. RunShared closes
// them.
type SharedOpener func(t *testing.T, opts *accounts.Options) (a, b accounts.Store)

// Clock is a settable clock for Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// epoch is the clock's start; its nanoseconds check that stores keep
// microseconds and drop the rest.
var epoch = time.Date(2026, time.March, 4, 5, 6, 7, 123456789, time.UTC)

func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// env is one store under test with its clock.
type env struct {
	s     accounts.Store
	clock *Clock
}

func newEnv(t *testing.T, open Opener, policy *accounts.LockoutPolicy) *env {
	t.Helper()
	c := NewClock(epoch)
	s := open(t, &accounts.Options{Lockout: policy, Now: c.Now, Create: true})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{s: s, clock: c}
}

func (e *env) create(t *testing.T, a *accounts.Account) {
	t.Helper()
	if err := e.s.Create(t.Context(), a); err != nil {
		t.Fatalf("Create(%s\\%s): %v", a.Domain, a.Name, err)
	}
}

func (e *env) lookup(t *testing.T, domain, name string) *accounts.Account {
	t.Helper()
	a, err := e.s.Lookup(t.Context(), domain, name)
	if err != nil {
		t.Fatalf("Lookup(%s\\%s): %v", domain, name, err)
	}
	return a
}

// logon is one password check of the NTLM verifier through Logon: the
// right password (the sample's verifier, secret) if right is set, a wrong
// one otherwise. It checks that Logon ran the check exactly once and
// returned the account for every result but LogonNoSuchAccount.
func (e *env) logon(t *testing.T, domain, name string, right bool) accounts.LogonOutcome {
	t.Helper()
	out, err := logon(e.s, domain, name, right, e.clock.Now())
	if err != nil {
		t.Fatalf("Logon(%s\\%s, right=%t): %v", domain, name, right, err)
	}
	return out
}

// attempt is a LogonAttempt of the NTLM verifier: its Check compares with
// secret (right) or another value, and counts its calls and what it was
// given.
type attempt struct {
	accounts.LogonAttempt
	calls int
	given []byte
}

func newAttempt(domain, name string, right bool, now time.Time) *attempt {
	a := &attempt{}
	password := []byte("not the password")
	if right {
		password = secret
	}
	a.LogonAttempt = accounts.LogonAttempt{Domain: domain, Name: name, Package: "NTLM", Now: now,
		Check: func(v []byte) bool {
			a.calls++
			a.given = bytes.Clone(v)
			return v != nil && bytes.Equal(v, password)
		}}
	return a
}

// logon runs one attempt on s and checks the contract of Check.
func logon(s accounts.Store, domain, name string, right bool, now time.Time) (accounts.LogonOutcome, error) {
	a := newAttempt(domain, name, right, now)
	out, err := s.Logon(context.Background(), a.LogonAttempt)
	if err != nil {
		return out, err
	}
	if a.calls != 1 {
		return out, fmt.Errorf("Logon called Check %d times, want once", a.calls)
	}
	if (out.Account == nil) != (out.Result == accounts.LogonNoSuchAccount) {
		return out, fmt.Errorf("Logon returned %v with account %v", out.Result, out.Account)
	}
	if out.Account != nil && out.Account.Verifiers != nil {
		return out, fmt.Errorf("Logon returned the account's verifiers")
	}
	checked := out.Result == accounts.LogonGranted || out.Result == accounts.LogonWrongPassword
	if checked != (a.given != nil) {
		return out, fmt.Errorf("Logon (%v) gave Check the verifier %t", out.Result, a.given != nil)
	}
	return out, nil
}

// secret is a verifier value the redaction tests look for.
var secret = []byte("\x8a\x46\xbe\x5d\x0f\xf0\x13\x37-NT-HASH-SECRET")

func sample() *accounts.Account {
	return &accounts.Account{
		Domain:    "Example",
		Name:      "Alice",
		Groups:    []string{"users", "admins", "users"},
		Verifiers: map[string][]byte{"NTLM": bytes.Clone(secret), "SCRAM-SHA-256": []byte("scram-keys")},
	}
}

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"CreateLookup", testCreateLookup},
		{"CaseInsensitive", testCaseInsensitive},
		{"Exists", testExists},
		{"NotFound", testNotFound},
		{"Invalid", testInvalid},
		{"Groups", testGroups},
		{"Disabled", testDisabled},
		{"Verifiers", testVerifiers},
		{"Delete", testDelete},
		{"List", testList},
		{"Lockout", testLockout},
		{"LockoutForever", testLockoutForever},
		{"LockoutDisabled", testLockoutDisabled},
		{"LockoutNoWindow", testLockoutNoWindow},
		{"LockoutClearedBy", testLockoutClearedBy},
		{"LockoutDefaultPolicy", testLockoutDefaultPolicy},
		{"LogonZeroTime", testLogonZeroTime},
		{"LogonResults", testLogonResults},
		{"LockoutRace", testLockoutRace},
		{"DecidedUnderLock", testDecidedUnderLock},
		{"CreateRace", testCreateRace},
		{"SetVerifier", testSetVerifier},
		{"Secrets", testSecrets},
		{"SecretRace", testSecretRace},
		{"RegistrationCodes", testRegistrationCodes},
		{"RegistrationCodeRace", testRegistrationCodeRace},
		{"Redaction", testRedaction},
		{"Canceled", testCanceled},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func testCreateLookup(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	in := sample()
	e.create(t, in)
	// The store keeps its own copy.
	in.Verifiers["NTLM"][0] ^= 0xff
	in.Groups[0] = "changed"

	a := e.lookup(t, "Example", "Alice")
	if a.Domain != "Example" || a.Name != "Alice" || a.Disabled {
		t.Errorf("Lookup = %s\\%s disabled=%t, want Example\\Alice enabled", a.Domain, a.Name, a.Disabled)
	}
	if want := []string{"admins", "users"}; !slices.Equal(a.Groups, want) {
		t.Errorf("Groups = %q, want %q (sorted, without duplicates)", a.Groups, want)
	}
	if !bytes.Equal(a.Verifiers["NTLM"], secret) || string(a.Verifiers["SCRAM-SHA-256"]) != "scram-keys" || len(a.Verifiers) != 2 {
		t.Errorf("Verifiers for packages %q differ from those created", slices.Sorted(maps.Keys(a.Verifiers)))
	}
	if !a.Created.Equal(stored(epoch)) || !a.Updated.Equal(stored(epoch)) {
		t.Errorf("Created, Updated = %v, %v, want %v (Options.Now to the microsecond)", a.Created, a.Updated, stored(epoch))
	}
	if a.Created.Location() != time.UTC {
		t.Errorf("Created is in %v, want UTC", a.Created.Location())
	}
	if a.Lockout != (accounts.LockoutState{}) {
		t.Errorf("new account's Lockout = %+v, want zero", a.Lockout)
	}

	// Lookup returns a copy too.
	a.Verifiers["NTLM"][0] ^= 0xff
	a.Groups[0] = "changed"
	b := e.lookup(t, "Example", "Alice")
	if !bytes.Equal(b.Verifiers["NTLM"], secret) || b.Groups[0] != "admins" {
		t.Errorf("changing a looked-up account changed the store")
	}

	// Create ignores Created, Updated and Lockout of its argument.
	e.create(t, &accounts.Account{
		Name:    "bob", // an empty domain is allowed
		Created: time.Unix(1, 0),
		Lockout: accounts.LockoutState{Failures: 7, LockedUntil: accounts.LockedForever},
	})
	bob := e.lookup(t, "", "bob")
	if !bob.Created.Equal(stored(epoch)) || bob.Lockout != (accounts.LockoutState{}) {
		t.Errorf("Create kept Created %v / Lockout %+v from its argument", bob.Created, bob.Lockout)
	}
	if bob.Verifiers == nil || len(bob.Verifiers) != 0 || bob.Groups != nil {
		t.Errorf("account without verifiers or groups: Verifiers = %#v (want empty, not nil), Groups = %q (want nil)", bob.Verifiers == nil, bob.Groups)
	}
}

func testCaseInsensitive(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, &accounts.Account{Domain: "Corp", Name: "ÉmileK"})
	e.create(t, &accounts.Account{Domain: "corp", Name: "Straße"})
	tests := []struct {
		domain, name string
		want         string
	}{
		{"Corp", "ÉmileK", "ÉmileK"},
		{"CORP", "émilek", "ÉmileK"},
		{"corp", "ÉMILEK", "ÉmileK"},
		{"cOrP", "émile\u212a", "ÉmileK"}, // Kelvin sign folds to k
		{"CORP", "STRAßE", "Straße"},
		{"Corp", "straße", "Straße"},
	}
	for _, tt := range tests {
		t.Run(tt.domain+"/"+tt.name, func(t *testing.T) {
			a := e.lookup(t, tt.domain, tt.name)
			if a.Name != tt.want {
				t.Errorf("Name = %q, want %q as created", a.Name, tt.want)
			}
		})
	}
	// Simple case folding only: ß is not "ss" (as on Windows).
	if _, err := e.s.Lookup(t.Context(), "corp", "strasse"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("Lookup(strasse) = %v, want ErrNotFound", err)
	}
	if err := e.s.Create(t.Context(), &accounts.Account{Domain: "CORP", Name: "émilek"}); !errors.Is(err, accounts.ErrExists) {
		t.Errorf("Create differing only in case = %v, want ErrExists", err)
	}
	a := e.lookup(t, "corp", "émilek")
	if a.Domain != "Corp" {
		t.Errorf("Domain = %q, want the case it was created with", a.Domain)
	}
	if err := e.s.SetDisabled(t.Context(), "CORP", "ÉMILEK", true); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Delete(t.Context(), "coRP", "émileK"); err != nil {
		t.Errorf("Delete with other case: %v", err)
	}
}

func testExists(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, sample())
	err := e.s.Create(t.Context(), &accounts.Account{Domain: "Example", Name: "Alice", Disabled: true})
	if !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if a := e.lookup(t, "Example", "Alice"); a.Disabled || len(a.Verifiers) != 2 {
		t.Errorf("a refused Create changed the existing account")
	}
	// The same name in another domain is another account.
	e.create(t, &accounts.Account{Domain: "Other", Name: "Alice"})
}

func testNotFound(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, sample())
	ctx := t.Context()
	for _, who := range [][2]string{{"Example", "Bob"}, {"Other", "Alice"}, {"", "Alice"}, {"Example", ""}, {"Example", "Alice\x00"}} {
		d, n := who[0], who[1]
		tests := []struct {
			name string
			fn   func() error
		}{
			{"Lookup", func() error { _, err := e.s.Lookup(ctx, d, n); return err }},
			{"SetVerifiers", func() error { return e.s.SetVerifiers(ctx, d, n, map[string][]byte{"NTLM": {1}}) }},
			{"SetGroups", func() error { return e.s.SetGroups(ctx, d, n, []string{"g"}) }},
			{"SetDisabled", func() error { return e.s.SetDisabled(ctx, d, n, true) }},
			{"Delete", func() error { return e.s.Delete(ctx, d, n) }},
			{"Unlock", func() error { return e.s.Unlock(ctx, d, n) }},
		}
		for _, tt := range tests {
			if err := tt.fn(); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("%s(%q, %q) = %v, want ErrNotFound", tt.name, d, n, err)
			}
		}
	}
	if a := e.lookup(t, "Example", "Alice"); len(a.Verifiers) != 2 || a.Disabled {
		t.Errorf("operations on other accounts changed Example\\Alice")
	}
}

func testInvalid(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	long := strings.Repeat("x", 257)
	tests := []struct {
		name string
		a    *accounts.Account
	}{
		{"nil", nil},
		{"empty name", &accounts.Account{Domain: "d"}},
		{"invalid UTF-8 name", &accounts.Account{Name: "a\xffb"}},
		{"invalid UTF-8 domain", &accounts.Account{Domain: "\xc0", Name: "a"}},
		{"control character", &accounts.Account{Name: "a\r\nuser=admin"}},
		{"NUL", &accounts.Account{Name: "a\x00"}},
		{"long name", &accounts.Account{Name: long}},
		{"long domain", &accounts.Account{Domain: long, Name: "a"}},
		{"empty group", &accounts.Account{Name: "a", Groups: []string{"g", ""}}},
		{"bad group", &accounts.Account{Name: "a", Groups: []string{"g\n"}}},
		{"empty package", &accounts.Account{Name: "a", Verifiers: map[string][]byte{"": {1}}}},
		{"empty verifier", &accounts.Account{Name: "a", Verifiers: map[string][]byte{"NTLM": {}}}},
		{"huge verifier", &accounts.Account{Name: "a", Verifiers: map[string][]byte{"NTLM": make([]byte, 64<<10+1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.s.Create(t.Context(), tt.a)
			if err == nil || errors.Is(err, accounts.ErrExists) || errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("Create = %v, want a validation error", err)
			}
			if !strings.HasPrefix(err.Error(), "accounts: ") {
				t.Errorf("error %q lacks the accounts: prefix", err)
			}
		})
	}
	list, err := e.s.List(t.Context())
	if err != nil || len(list) != 0 {
		t.Errorf("after refused Creates, List = %d accounts, %v; want none", len(list), err)
	}
	e.create(t, sample())
	if err := e.s.SetVerifiers(t.Context(), "Example", "Alice", map[string][]byte{"NTLM": nil}); err == nil {
		t.Errorf("SetVerifiers with an empty verifier succeeded")
	}
	if err := e.s.SetGroups(t.Context(), "Example", "Alice", []string{""}); err == nil {
		t.Errorf("SetGroups with an empty group succeeded")
	}
	if a := e.lookup(t, "Example", "Alice"); len(a.Verifiers) != 2 || len(a.Groups) != 2 {
		t.Errorf("refused updates changed the account")
	}
}

func testGroups(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, sample())
	tests := []struct {
		name string
		set  []string
		want []string
	}{
		{"replace", []string{"z", "b", "a", "b"}, []string{"a", "b", "z"}},
		{"unicode", []string{"Ünïcode", "ascii"}, []string{"ascii", "Ünïcode"}},
		{"clear", nil, nil},
		{"empty", []string{}, nil},
		{"again", []string{"users"}, []string{"users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(time.Second)
			if err := e.s.SetGroups(t.Context(), "EXAMPLE", "alice", tt.set); err != nil {
				t.Fatal(err)
			}
			a := e.lookup(t, "Example", "Alice")
			if !slices.Equal(a.Groups, tt.want) || (tt.want == nil && a.Groups != nil) {
				t.Errorf("Groups = %q, want %q", a.Groups, tt.want)
			}
			if !a.Updated.Equal(stored(e.clock.Now())) || !a.Created.Equal(stored(epoch)) {
				t.Errorf("Created, Updated = %v, %v; want %v, %v", a.Created, a.Updated, stored(epoch), stored(e.clock.Now()))
			}
			if len(a.Verifiers) != 2 {
				t.Errorf("SetGroups changed the verifiers")
			}
		})
	}
}

func testDisabled(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, &accounts.Account{Name: "svc", Disabled: true})
	if !e.lookup(t, "", "svc").Disabled {
		t.Fatalf("created disabled, Lookup says enabled")
	}
	for _, d := range []bool{false, false, true, false} {
		if err := e.s.SetDisabled(t.Context(), "", "SVC", d); err != nil {
			t.Fatal(err)
		}
		if got := e.lookup(t, "", "svc").Disabled; got != d {
			t.Errorf("after SetDisabled(%t), Disabled = %t", d, got)
		}
	}
}

func testVerifiers(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, sample())
	tests := []struct {
		name string
		set  map[string][]byte
	}{
		{"replace all", map[string][]byte{"NTLM": {1, 2, 3}, "OPAQUE": bytes.Repeat([]byte{0xa5}, 192)}},
		{"drop one", map[string][]byte{"OPAQUE": {9}}},
		{"binary", map[string][]byte{"Kerberos": {0, 0xff, 0, 0x80}}},
		{"largest", map[string][]byte{"NTLM": bytes.Repeat([]byte{7}, 64<<10)}},
		{"none", map[string][]byte{}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string][]byte{}
			for k, v := range tt.set {
				in[k] = bytes.Clone(v)
			}
			if err := e.s.SetVerifiers(t.Context(), "example", "ALICE", in); err != nil {
				t.Fatal(err)
			}
			for _, v := range in {
				v[0] ^= 1 // the store keeps its own copy
			}
			a := e.lookup(t, "Example", "Alice")
			if a.Verifiers == nil {
				t.Fatalf("Lookup returned nil Verifiers, want a (possibly empty) map")
			}
			if !maps.EqualFunc(a.Verifiers, tt.set, bytes.Equal) && !(len(a.Verifiers) == 0 && len(tt.set) == 0) {
				t.Errorf("Verifiers for %q differ from those set for %q", slices.Sorted(maps.Keys(a.Verifiers)), slices.Sorted(maps.Keys(tt.set)))
			}
			if len(a.Groups) != 2 {
				t.Errorf("SetVerifiers changed the groups")
			}
		})
	}
}

func testDelete(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 2, Window: time.Hour})
	e.create(t, sample())
	e.create(t, &accounts.Account{Domain: "Example", Name: "Bob", Groups: []string{"b"}})
	e.logon(t, "Example", "Alice", false)
	e.logon(t, "Example", "Alice", false)
	if err := e.s.Delete(t.Context(), "example", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Lookup(t.Context(), "Example", "Alice"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("Lookup after Delete = %v, want ErrNotFound", err)
	}
	if err := e.s.Delete(t.Context(), "Example", "Alice"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	// A new account of the same name inherits nothing.
	e.create(t, &accounts.Account{Domain: "Example", Name: "alice"})
	a := e.lookup(t, "Example", "Alice")
	if a.Name != "alice" || len(a.Groups) != 0 || len(a.Verifiers) != 0 || a.Lockout != (accounts.LockoutState{}) {
		t.Errorf("re-created account inherited state: %v", a)
	}
	if b := e.lookup(t, "Example", "Bob"); !slices.Equal(b.Groups, []string{"b"}) {
		t.Errorf("Delete of Alice changed Bob: %v", b)
	}
}

func testList(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 1, Window: time.Hour, Duration: time.Hour})
	list, err := e.s.List(t.Context())
	if err != nil || len(list) != 0 {
		t.Fatalf("List of an empty store = %d, %v", len(list), err)
	}
	for _, a := range []*accounts.Account{
		{Domain: "b", Name: "Zed", Verifiers: map[string][]byte{"NTLM": secret}},
		{Domain: "B", Name: "alice", Groups: []string{"y", "x"}},
		{Domain: "a", Name: "Zoe", Verifiers: map[string][]byte{"NTLM": secret}},
		{Domain: "A", Name: "bob", Verifiers: map[string][]byte{"NTLM": secret}},
		{Domain: "", Name: "root"},
	} {
		e.create(t, a)
	}
	e.logon(t, "a", "zoe", false)
	if err := e.s.SetDisabled(t.Context(), "a", "zoe", true); err != nil {
		t.Fatal(err)
	}
	list, err = e.s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, a.Domain+`\`+a.Name)
		if a.Verifiers != nil {
			t.Errorf("List returned verifiers for %s\\%s", a.Domain, a.Name)
		}
		if !a.Created.Equal(stored(epoch)) {
			t.Errorf("%s\\%s Created = %v", a.Domain, a.Name, a.Created)
		}
	}
	want := []string{`\root`, `A\bob`, `a\Zoe`, `B\alice`, `b\Zed`}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q (by domain, then name, without regard to case)", got, want)
	}
	if !slices.Equal(list[3].Groups, []string{"x", "y"}) || list[0].Groups != nil {
		t.Errorf("List groups = %q and %q, want [x y] and nil", list[3].Groups, list[0].Groups)
	}
	if !list[2].Disabled || !list[2].Lockout.Locked(e.clock.Now()) || list[2].Lockout.Failures != 1 {
		t.Errorf("List lost a\\Zoe's state: %+v", list[2])
	}
}

// testLockout walks the state machine step by step with the clock.
func testLockout(t *testing.T, open Opener) {
	policy := accounts.LockoutPolicy{Threshold: 3, Window: 10 * time.Minute, Duration: 5 * time.Minute}
	e := newEnv(t, open, &policy)
	e.create(t, sample())
	var first, lockedAt time.Time
	steps := []struct {
		name      string
		advance   time.Duration
		success   bool // the right password
		result    accounts.LogonResult
		failures  int
		first     *time.Time // expected FirstFailure: nil means zero
		locked    bool
		lockedNow bool
	}{
		{"success on a clear account", 0, true, granted, 0, nil, false, false},
		{"first failure opens the window", time.Second, false, wrong, 1, &first, false, false},
		{"second failure", time.Minute, false, wrong, 2, &first, false, false},
		{"success clears", time.Second, true, granted, 0, nil, false, false},
		{"failure after success", time.Second, false, wrong, 1, &first, false, false},
		{"window expires exactly", policy.Window, false, wrong, 1, &first, false, false},
		{"second failure of the window", time.Second, false, wrong, 2, &first, false, false},
		{"threshold locks, just inside the window", policy.Window - time.Second - time.Microsecond, false, wrong, 3, &first, true, true},
		{"failure while locked counts, lock not extended", time.Minute, false, lockedOut, 4, &first, true, false},
		{"the right password while locked is refused and counts", time.Minute, true, lockedOut, 5, &first, true, false},
		{"still locked one microsecond before the end", 3*time.Minute - time.Microsecond, false, lockedOut, 6, &first, true, false},
		{"lock ran out: a failure starts a new window", time.Microsecond, false, wrong, 1, &first, false, false},
		{"second failure of the new window", time.Second, false, wrong, 2, &first, false, false},
		{"success after the window clears", time.Hour, true, granted, 0, nil, false, false},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		now := e.clock.Now()
		if st.failures == 1 && !st.success {
			first = stored(now)
		}
		out := e.logon(t, "Example", "Alice", st.success)
		if st.lockedNow {
			lockedAt = stored(now)
		}
		var wantFirst time.Time
		if st.first != nil {
			wantFirst = *st.first
		}
		got := out.Account.Lockout
		if out.Result != st.result || got.Failures != st.failures || !got.FirstFailure.Equal(wantFirst) || got.Locked(now) != st.locked || out.LockedNow != st.lockedNow {
			t.Fatalf("step %d %q: %v, %+v, LockedNow %t; want %v, failures %d, first failure %v, locked %t, LockedNow %t",
				i, st.name, out.Result, got, out.LockedNow, st.result, st.failures, wantFirst, st.locked, st.lockedNow)
		}
		if st.locked && !got.LockedUntil.Equal(lockedAt.Add(policy.Duration)) {
			t.Fatalf("step %d %q: LockedUntil = %v, want %v (the lock is never extended)", i, st.name, got.LockedUntil, lockedAt.Add(policy.Duration))
		}
		if a := e.lookup(t, "Example", "Alice"); a.Lockout != got {
			t.Fatalf("step %d %q: Lookup().Lockout = %+v, Logon returned %+v", i, st.name, a.Lockout, got)
		}
	}
}

func testLockoutForever(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 2, Window: time.Minute})
	e.create(t, sample())
	e.logon(t, "Example", "Alice", false)
	out := e.logon(t, "Example", "Alice", false)
	if !out.LockedNow || !out.Account.Lockout.LockedUntil.Equal(accounts.LockedForever) {
		t.Fatalf("Duration 0: outcome %+v, want LockedNow until LockedForever", out)
	}
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	if out := e.logon(t, "Example", "Alice", true); out.Result != lockedOut || !out.Account.Lockout.Locked(e.clock.Now()) {
		t.Fatalf("a century later the account is unlocked: %+v", out)
	}
	if err := e.s.Unlock(t.Context(), "EXAMPLE", "ALICE"); err != nil {
		t.Fatal(err)
	}
	a := e.lookup(t, "Example", "Alice")
	if a.Lockout != (accounts.LockoutState{}) || !a.Updated.Equal(stored(e.clock.Now())) {
		t.Errorf("after Unlock: Lockout %+v, Updated %v", a.Lockout, a.Updated)
	}
	if out := e.logon(t, "Example", "Alice", false); out.Account.Lockout.Failures != 1 || out.LockedNow {
		t.Errorf("first failure after Unlock: %+v", out)
	}
}

func testLockoutDisabled(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{})
	e.create(t, sample())
	for i := 1; i <= 25; i++ {
		out := e.logon(t, "Example", "Alice", false)
		if out.Result != wrong || out.LockedNow || out.Account.Lockout.Failures != i || !out.Account.Lockout.LockedUntil.IsZero() {
			t.Fatalf("failure %d with lockout disabled: %+v", i, out)
		}
		e.clock.Advance(time.Hour)
	}
	if out := e.logon(t, "Example", "Alice", true); out.Result != granted || out.Account.Lockout != (accounts.LockoutState{}) {
		t.Errorf("success did not clear the count: %+v", out)
	}
}

func testLockoutNoWindow(t *testing.T, open Opener) {
	// Window 0: failures never expire; only a success, Unlock or a
	// password change clears them.
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 3, Duration: time.Minute})
	e.create(t, sample())
	for i := 1; i <= 3; i++ {
		out := e.logon(t, "Example", "Alice", false)
		if out.Account.Lockout.Failures != i || out.LockedNow != (i == 3) {
			t.Fatalf("failure %d a year apart: %+v", i, out)
		}
		e.clock.Advance(365 * 24 * time.Hour)
	}
}

func testLockoutClearedBy(t *testing.T, open Opener) {
	policy := accounts.LockoutPolicy{Threshold: 2, Window: time.Hour, Duration: time.Hour}
	tests := []struct {
		name string
		fn   func(context.Context, accounts.Store) error
		// clears says whether the operation clears the lockout state.
		clears bool
	}{
		{"Unlock", func(ctx context.Context, s accounts.Store) error { return s.Unlock(ctx, "example", "alice") }, true},
		{"SetVerifiers", func(ctx context.Context, s accounts.Store) error {
			return s.SetVerifiers(ctx, "example", "alice", map[string][]byte{"NTLM": {1}})
		}, true},
		{"SetGroups", func(ctx context.Context, s accounts.Store) error {
			return s.SetGroups(ctx, "example", "alice", []string{"x"})
		}, false},
		{"SetDisabled", func(ctx context.Context, s accounts.Store) error { return s.SetDisabled(ctx, "example", "alice", true) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, open, &policy)
			e.create(t, sample())
			e.logon(t, "Example", "Alice", false)
			if out := e.logon(t, "Example", "Alice", false); !out.LockedNow {
				t.Fatalf("not locked: %+v", out)
			}
			if err := tt.fn(t.Context(), e.s); err != nil {
				t.Fatal(err)
			}
			st := e.lookup(t, "Example", "Alice").Lockout
			if cleared := st == (accounts.LockoutState{}); cleared != tt.clears {
				t.Errorf("after %s Lockout = %+v; want cleared = %t", tt.name, st, tt.clears)
			}
		})
	}
}

func testLockoutDefaultPolicy(t *testing.T, open Opener) {
	e := newEnv(t, open, nil) // nil: DefaultLockoutPolicy
	e.create(t, sample())
	p := accounts.DefaultLockoutPolicy
	for i := 1; i <= p.Threshold; i++ {
		out := e.logon(t, "Example", "Alice", false)
		if out.LockedNow != (i == p.Threshold) {
			t.Fatalf("failure %d of %d under the default policy: %+v", i, p.Threshold, out)
		}
	}
	a := e.lookup(t, "Example", "Alice")
	if want := stored(e.clock.Now()).Add(p.Duration); !a.Lockout.LockedUntil.Equal(want) {
		t.Errorf("LockedUntil = %v, want %v", a.Lockout.LockedUntil, want)
	}
}

func testLogonZeroTime(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 1, Window: time.Hour, Duration: time.Hour})
	e.create(t, sample())
	out, err := logon(e.s, "Example", "Alice", false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Account.Lockout; !st.FirstFailure.Equal(stored(epoch)) || !st.LockedUntil.Equal(stored(epoch).Add(time.Hour)) {
		t.Errorf("Logon at the zero time used %+v, want Options.Now (%v)", st, stored(epoch))
	}
}

// Short names of the results, for tables.
const (
	granted   = accounts.LogonGranted
	wrong     = accounts.LogonWrongPassword
	lockedOut = accounts.LogonLockedOut
)

// testLogonResults checks what Logon decides and gives Check for each
// kind of attempt, and what each records: only a wrong password (and any
// attempt on a locked account) counts against the account.
func testLogonResults(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 3, Window: time.Hour, Duration: time.Hour})
	e.create(t, sample())
	e.create(t, &accounts.Account{Domain: "Example", Name: "Off", Disabled: true, Verifiers: map[string][]byte{"NTLM": secret}})
	e.create(t, &accounts.Account{Domain: "Example", Name: "Scram", Verifiers: map[string][]byte{"SCRAM-SHA-256": secret}})
	tests := []struct {
		domain, name string
		right        bool
		want         accounts.LogonResult
		failures     int // the account's count afterwards
	}{
		{"Example", "Nobody", true, accounts.LogonNoSuchAccount, 0},
		{"Other", "Alice", true, accounts.LogonNoSuchAccount, 0},
		{"Example", "", true, accounts.LogonNoSuchAccount, 0},
		{"Example", "Alice\x00", true, accounts.LogonNoSuchAccount, 0},
		{"Example", "\xff", true, accounts.LogonNoSuchAccount, 0},
		{"Example", strings.Repeat("a", 300), true, accounts.LogonNoSuchAccount, 0},
		{"Example", "Off", true, accounts.LogonDisabled, 0},
		{"Example", "Off", false, accounts.LogonDisabled, 0},
		{"Example", "Scram", true, accounts.LogonNoVerifier, 0},
		{"EXAMPLE", "alice", false, accounts.LogonWrongPassword, 1},
		{"example", "ALICE", true, accounts.LogonGranted, 0},
	}
	for _, tt := range tests {
		out := e.logon(t, tt.domain, tt.name, tt.right)
		if out.Result != tt.want {
			t.Errorf("Logon(%q, %q, right=%t) = %v, want %v", tt.domain, tt.name, tt.right, out.Result, tt.want)
			continue
		}
		if out.Account != nil && out.Account.Lockout.Failures != tt.failures {
			t.Errorf("Logon(%q, %q, right=%t): %d failures, want %d", tt.domain, tt.name, tt.right, out.Account.Lockout.Failures, tt.failures)
		}
	}
	out := e.logon(t, "example", "alice", true)
	a := out.Account
	if a.Domain != "Example" || a.Name != "Alice" || !slices.Equal(a.Groups, []string{"admins", "users"}) || a.Disabled || !a.Created.Equal(stored(epoch)) {
		t.Errorf("granted account %v, want the names as stored and the groups sorted", a)
	}
	for _, name := range []string{"Off", "Scram"} {
		if a := e.lookup(t, "Example", name); a.Lockout != (accounts.LockoutState{}) {
			t.Errorf("%s: attempts changed the counter: %+v", name, a.Lockout)
		}
	}
	if _, err := e.s.Logon(t.Context(), accounts.LogonAttempt{Domain: "Example", Name: "Alice", Package: "NTLM"}); err == nil {
		t.Errorf("Logon without a Check succeeded")
	}
}

// testLockoutRace is the CVE-2021-20251 race (Samba lockout_tests.py
// do_lockout_race): threshold+1 concurrent failures must count exactly,
// and exactly one of them locks the account.
func testLockoutRace(t *testing.T, open Opener) {
	const threshold = 5
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: threshold, Window: time.Hour, Duration: time.Hour})
	e.create(t, sample())
	for round := range 5 {
		for _, n := range []int{threshold + 1, 3 * threshold} {
			outs := concurrentFailures(t, []accounts.Store{e.s}, "Example", "Alice", n, e.clock.Now())
			checkRace(t, fmt.Sprintf("round %d, %d failures", round, n), outs, threshold, n, e.clock.Now())
			if st := e.lookup(t, "Example", "Alice").Lockout; st.Failures != n {
				t.Fatalf("round %d: %d concurrent failures stored a count of %d", round, n, st.Failures)
			}
			if err := e.s.Unlock(t.Context(), "Example", "Alice"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// concurrentFailures records n failures at once, spread over stores.
func concurrentFailures(t *testing.T, stores []accounts.Store, domain, name string, n int, now time.Time) []accounts.LogonOutcome {
	t.Helper()
	outs := make([]accounts.LogonOutcome, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = logon(stores[i%len(stores)], domain, name, false, now)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Logon %d: %v", i, err)
		}
	}
	return outs
}

// checkRace checks the outcomes of n concurrent failures on a clear
// account: their counts are exactly 1..n, one locked the account, and
// exactly threshold-1 saw it still unlocked.
func checkRace(t *testing.T, what string, outs []accounts.LogonOutcome, threshold, n int, now time.Time) {
	t.Helper()
	var lockedNow, unlocked int
	counts := make([]int, 0, n)
	for _, o := range outs {
		st := o.Account.Lockout
		counts = append(counts, st.Failures)
		if o.LockedNow {
			lockedNow++
			if st.Failures != threshold {
				t.Errorf("%s: the locking failure saw count %d, want %d", what, st.Failures, threshold)
			}
		}
		if !st.Locked(now) {
			unlocked++
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("%s: counts seen %v, want each of 1..%d exactly once", what, counts, n)
		}
	}
	if lockedNow != 1 || unlocked != threshold-1 {
		t.Errorf("%s: %d LockedNow (want 1), %d saw the account unlocked (want %d)", what, lockedNow, unlocked, threshold-1)
	}
}

// testDecidedUnderLock sends the right password among concurrent wrong
// ones, again and again: each time the outcomes must be those of some
// serial order of the attempts (see decidedUnderLock).
func testDecidedUnderLock(t *testing.T, open Opener) {
	const threshold = 5
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: threshold, Window: time.Hour, Duration: time.Hour})
	e.create(t, sample())
	granted := 0
	for round := range 10 {
		if decidedUnderLock(t, fmt.Sprintf("round %d", round), []accounts.Store{e.s}, "Example", "Alice", threshold, 4*threshold, e.clock.Now()) {
			granted++
		}
		if err := e.s.Unlock(t.Context(), "Example", "Alice"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the right password among %d wrong ones was granted in %d of 10 rounds", 4*threshold, granted)
}

// decidedUnderLock starts n wrong passwords and the right one at once,
// spread over stores, on an account with a clear counter, and checks that
// the outcomes are those of a serial order, the decision of each attempt
// taken on the count all attempts before it left:
//
//   - right password granted: k < threshold failures came before it, and it
//     cleared them; the n-k after it counted from one again. The counts
//     the wrong passwords saw are then 1..k twice and k+1..n-k once.
//   - refused: the account was locked when it was decided (its count, like
//     every attempt's on a locked account, is above the threshold), and
//     the n+1 attempts saw the counts 1..n+1 exactly once.
//
// Exactly one attempt locks the account either way (n ≥ 2·threshold).
// And no two checks ever run at once: a check that runs beside another,
// outside the account's lock, is a guess evaluated before the failures
// evaluated with it are counted, however the outcomes are ordered
// afterwards. It reports whether the right password was granted.
func decidedUnderLock(t *testing.T, what string, stores []accounts.Store, domain, name string, threshold, n int, now time.Time) bool {
	t.Helper()
	outs := make([]accounts.LogonOutcome, n+1)
	errs := make([]error, n+1)
	start := make(chan struct{})
	var (
		wg               sync.WaitGroup
		inCheck, overlap atomic.Int32
	)
	for i := range n + 1 {
		wg.Go(func() {
			<-start
			a := newAttempt(domain, name, i == n, now)
			check := a.Check
			a.Check = func(v []byte) bool {
				if inCheck.Add(1) > 1 {
					overlap.Add(1)
				}
				// Give another check the time to start, were it not
				// excluded.
				runtime.Gosched()
				defer inCheck.Add(-1)
				return check(v)
			}
			outs[i], errs[i] = stores[i%len(stores)].Logon(context.Background(), a.LogonAttempt)
			if errs[i] == nil && a.calls != 1 {
				errs[i] = fmt.Errorf("Logon called Check %d times", a.calls)
			}
		})
	}
	close(start)
	wg.Wait()
	if overlap.Load() != 0 {
		t.Errorf("%s: %d checks ran while another was running: not under the account's lock", what, overlap.Load())
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: concurrent Logon %d: %v", what, i, err)
		}
	}
	lockedNow := 0
	seen := map[int]int{}
	for _, o := range outs[:n] {
		if o.Result != wrong && o.Result != lockedOut {
			t.Fatalf("%s: a wrong password: %v", what, o.Result)
		}
		seen[o.Account.Lockout.Failures]++
	}
	for _, o := range outs {
		if o.LockedNow {
			lockedNow++
		}
	}
	if lockedNow != 1 {
		t.Errorf("%s: %d attempts locked the account, want 1", what, lockedNow)
	}
	right := outs[n]
	switch right.Result {
	case granted:
		k := 0
		for seen[k+1] == 2 {
			k++
		}
		for v := 1; v <= n-k; v++ {
			want := 1
			if v <= k {
				want = 2
			}
			if seen[v] != want {
				t.Fatalf("%s: the right password was granted, but the wrong ones saw the counts %v: no serial order gives that", what, seen)
			}
		}
		if k >= threshold {
			t.Fatalf("%s: the right password was granted after %d failures (threshold %d)", what, k, threshold)
		}
		if right.Account.Lockout != (accounts.LockoutState{}) {
			t.Errorf("%s: the granted attempt left %+v", what, right.Account.Lockout)
		}
		return true
	case lockedOut:
		c := right.Account.Lockout.Failures
		seen[c]++
		for v := 1; v <= n+1; v++ {
			if seen[v] != 1 {
				t.Fatalf("%s: the right password was refused at count %d, and the attempts saw %v, want 1..%d once each", what, c, seen, n+1)
			}
		}
		if c <= threshold {
			t.Fatalf("%s: the right password was refused at count %d, before the lock (threshold %d)", what, c, threshold)
		}
		return false
	default:
		t.Fatalf("%s: the right password: %v", what, right.Result)
	}
	return false
}

func testCreateRace(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	createRace(t, []accounts.Store{e.s})
}

func createRace(t *testing.T, stores []accounts.Store) {
	t.Helper()
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%len(stores)].Create(context.Background(), &accounts.Account{
				Domain: "race", Name: []string{"contested", "CONTESTED", "Contested"}[i%3],
				Groups: []string{fmt.Sprint("g", i)},
			})
		})
	}
	close(start)
	wg.Wait()
	var ok int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, accounts.ErrExists):
			t.Errorf("Create %d: %v, want nil or ErrExists", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent Creates of one name succeeded, want 1", ok)
	}
	for _, s := range stores {
		a, err := s.Lookup(context.Background(), "race", "contested")
		if err != nil || len(a.Groups) != 1 {
			t.Errorf("winner's account: %v, %v", a, err)
		}
	}
}

func testRedaction(t *testing.T, open Opener) {
	var logs bytes.Buffer
	c := NewClock(epoch)
	s := open(t, &accounts.Options{
		Create:  true,
		Lockout: &accounts.LockoutPolicy{Threshold: 1, Window: time.Hour},
		Now:     c.Now,
		Logger:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	defer s.Close()
	ctx := t.Context()
	if err := s.Create(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := logon(s, "Example", "Alice", false, c.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVerifiers(ctx, "Example", "Alice", map[string][]byte{"NTLM": secret}); err != nil {
		t.Fatal(err)
	}
	a, err := s.Lookup(ctx, "Example", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", a)
		fmt.Fprintf(&out, verb+"\n", *a)
		fmt.Fprintf(&out, verb+"\n", []*accounts.Account{a})
	}
	fmt.Fprintln(&out, a.String())
	slog.New(slog.NewTextHandler(&out, nil)).Info("account", "a", a, "v", *a)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("account", "a", a)
	for _, sink := range []struct {
		name string
		text string
	}{{"formatted account", out.String()}, {"store log", logs.String()}} {
		for _, enc := range []string{string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
			base64.StdEncoding.EncodeToString(secret), fmt.Sprint(secret), fmt.Sprintf("%q", secret), "NT-HASH-SECRET"} {
			if strings.Contains(sink.text, enc) {
				t.Errorf("%s contains the verifier (as %q):\n%s", sink.name, enc, sink.text)
			}
		}
	}
	if !strings.Contains(out.String(), "NTLM") || !strings.Contains(out.String(), "Alice") {
		t.Errorf("formatted account lacks its name or package names:\n%s", out.String())
	}
}

func testCanceled(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	e.create(t, sample())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Lookup", func() error { _, err := e.s.Lookup(ctx, "Example", "Alice"); return err }},
		{"Create", func() error { return e.s.Create(ctx, &accounts.Account{Name: "x"}) }},
		{"Logon", func() error {
			_, err := e.s.Logon(ctx, newAttempt("Example", "Alice", false, epoch).LogonAttempt)
			return err
		}},
		{"List", func() error { _, err := e.s.List(ctx); return err }},
		{"Delete", func() error { return e.s.Delete(ctx, "Example", "Alice") }},
	}
	for _, c := range calls {
		if err := c.fn(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", c.name, err)
		}
	}
	if a := e.lookup(t, "Example", "Alice"); a.Lockout.Failures != 0 {
		t.Errorf("a canceled Logon counted")
	}
}

func testClosed(t *testing.T, open Opener) {
	s := open(t, &accounts.Options{Create: true})
	if err := s.Create(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Lookup(t.Context(), "Example", "Alice"); err == nil {
		t.Errorf("Lookup on a closed store succeeded")
	}
	if _, err := s.Logon(t.Context(), newAttempt("Example", "Alice", false, epoch).LogonAttempt); err == nil {
		t.Errorf("Logon on a closed store succeeded")
	}
}

// RunShared runs the tests of two stores sharing one database: what one
// writes the other reads, and failures recorded through both count
// exactly.
func RunShared(t *testing.T, open SharedOpener) {
	policy := accounts.LockoutPolicy{Threshold: 5, Window: time.Hour, Duration: time.Hour}
	setup := func(t *testing.T) (a, b accounts.Store) {
		a, b = open(t, &accounts.Options{Lockout: &policy, Now: NewClock(epoch).Now, Create: true})
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	t.Run("SeeEachOther", func(t *testing.T) {
		a, b := setup(t)
		ctx := t.Context()
		if err := a.Create(ctx, sample()); err != nil {
			t.Fatal(err)
		}
		got, err := b.Lookup(ctx, "EXAMPLE", "alice")
		if err != nil {
			t.Fatalf("account created through one store, Lookup through the other: %v", err)
		}
		if !bytes.Equal(got.Verifiers["NTLM"], secret) {
			t.Errorf("verifier differs between the stores")
		}
		if err := b.SetGroups(ctx, "Example", "Alice", []string{"from-b"}); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Lookup(ctx, "Example", "Alice"); err != nil || !slices.Equal(got.Groups, []string{"from-b"}) {
			t.Errorf("SetGroups through b, a sees %v, %v", got, err)
		}
		if _, err := logon(a, "Example", "Alice", false, epoch); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Lookup(ctx, "Example", "Alice"); err != nil || got.Lockout.Failures != 1 {
			t.Errorf("failure through a, b sees %v, %v", got, err)
		}
		if err := b.Delete(ctx, "Example", "Alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Lookup(ctx, "Example", "Alice"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("deleted through b, a's Lookup = %v", err)
		}
	})
	t.Run("LockoutRace", func(t *testing.T) {
		a, b := setup(t)
		if err := a.Create(t.Context(), sample()); err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			for _, n := range []int{policy.Threshold + 1, 4 * policy.Threshold} {
				outs := concurrentFailures(t, []accounts.Store{a, b}, "Example", "Alice", n, epoch)
				checkRace(t, fmt.Sprintf("round %d, %d failures over two stores", round, n), outs, policy.Threshold, n, epoch)
				if err := b.Unlock(t.Context(), "Example", "Alice"); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("DecidedUnderLock", func(t *testing.T) {
		a, b := setup(t)
		if err := a.Create(t.Context(), sample()); err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			decidedUnderLock(t, fmt.Sprintf("round %d over two stores", round), []accounts.Store{a, b}, "Example", "Alice", policy.Threshold, 4*policy.Threshold, epoch)
			if err := b.Unlock(t.Context(), "Example", "Alice"); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("CreateRace", func(t *testing.T) {
		a, b := setup(t)
		createRace(t, []accounts.Store{a, b})
	})
	// Hosts sharing one database share the package secrets (records
	// depend on the OPAQUE server setup) and each code is used once.
	t.Run("SecretRace", func(t *testing.T) {
		a, b := setup(t)
		secretRace(t, []accounts.Store{a, b})
	})
	t.Run("RegistrationCodeRace", func(t *testing.T) {
		a, b := setup(t)
		codeRace(t, []accounts.Store{a, b})
	})
}
