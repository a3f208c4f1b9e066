package accounts_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/opensspi/sspi/accounts"
	_ "github.com/opensspi/sspi/accounts/memory"
)

func Example() {
	ctx := context.Background()
	// "sqlite:/var/lib/sspi/sam.db" in a real deployment.
	s, err := accounts.Open(ctx, "memory:", &accounts.Options{
		Lockout: &accounts.LockoutPolicy{Threshold: 3, Window: 15 * time.Minute, Duration: 15 * time.Minute},
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// Each enabled package made its verifier from the password.
	err = s.Create(ctx, &accounts.Account{
		Domain:    "EXAMPLE",
		Name:      "alice",
		Groups:    []string{"users"},
		Verifiers: map[string][]byte{"NTLM": {0x8a, 0x46, 0xbe, 0x5d}},
	})
	if err != nil {
		panic(err)
	}

	// A package checks a response or password against its verifier
	// inside Logon, which decides and records the attempt atomically.
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	guess := func(password []byte) accounts.LogonAttempt {
		return accounts.LogonAttempt{Domain: "example", Name: "ALICE", Package: "NTLM", Now: now,
			Check: func(verifier []byte) bool { return verifier != nil && bytes.Equal(verifier, password) }}
	}
	for range 3 {
		out, err := s.Logon(ctx, guess([]byte{1, 2, 3, 4}))
		if err != nil {
			panic(err)
		}
		fmt.Println(out.Result, "- failures:", out.Account.Lockout.Failures, "locked now:", out.LockedNow)
	}
	// Now even the right password is refused, and counted.
	out, err := s.Logon(ctx, guess([]byte{0x8a, 0x46, 0xbe, 0x5d}))
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Result, "- failures:", out.Account.Lockout.Failures)
	a, err := s.Lookup(ctx, "Example", "Alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Domain, a.Name, "locked until", a.Lockout.LockedUntil.Format(time.Kitchen))
	fmt.Printf("%v\n", a.Verifiers["NTLM"] != nil)
	// Output:
	// wrong password - failures: 1 locked now: false
	// wrong password - failures: 2 locked now: false
	// wrong password - failures: 3 locked now: true
	// account locked out - failures: 4
	// EXAMPLE alice locked until 9:15AM
	// true
}

// An Account prints without its verifiers.
func ExampleAccount_String() {
	a := accounts.Account{Domain: "EXAMPLE", Name: "alice", Verifiers: map[string][]byte{"NTLM": {1, 2, 3}}}
	fmt.Printf("%v\n", a)
	// Output:
	// {Domain:"EXAMPLE" Name:"alice" Groups:[] Disabled:false Verifiers:["NTLM":REDACTED] Lockout:{Failures:0 FirstFailure:0001-01-01 00:00:00 +0000 UTC LockedUntil:0001-01-01 00:00:00 +0000 UTC} Created:0001-01-01 00:00:00 +0000 UTC Updated:0001-01-01 00:00:00 +0000 UTC}
}
