package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
)

// The conformance of schema version 3: per-package verifier writes,
// package secrets and registration codes.

func testSetVerifier(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 2, Window: time.Hour})
	e.create(t, sample())
	ctx := t.Context()
	e.logon(t, "Example", "Alice", false)
	e.logon(t, "Example", "Alice", false) // locked
	record := bytes.Repeat([]byte{0xa5}, 240)
	in := bytes.Clone(record)
	if err := e.s.SetVerifier(ctx, "EXAMPLE", "alice", "OPAQUE", in); err != nil {
		t.Fatal(err)
	}
	in[0] ^= 1 // the store keeps its own copy
	a := e.lookup(t, "Example", "Alice")
	if !bytes.Equal(a.Verifiers["OPAQUE"], record) || !bytes.Equal(a.Verifiers["NTLM"], secret) || len(a.Verifiers) != 3 {
		t.Fatalf("after SetVerifier(OPAQUE) the account has %v", a)
	}
	if a.Lockout != (accounts.LockoutState{}) {
		t.Errorf("SetVerifier left the lockout state %+v", a.Lockout)
	}
	// Replace one: the others stay.
	if err := e.s.SetVerifier(ctx, "Example", "Alice", "NTLM", []byte("new-nt-hash!")); err != nil {
		t.Fatal(err)
	}
	a = e.lookup(t, "Example", "Alice")
	if !bytes.Equal(a.Verifiers["NTLM"], []byte("new-nt-hash!")) || !bytes.Equal(a.Verifiers["OPAQUE"], record) || len(a.Verifiers) != 3 {
		t.Fatalf("after SetVerifier(NTLM) the account has %v", a)
	}
	for _, tt := range []struct {
		name, domain, user, pkg string
		v                       []byte
		want                    error
	}{
		{"no account", "Example", "Bob", "OPAQUE", []byte{1}, accounts.ErrNotFound},
		{"empty verifier", "Example", "Alice", "OPAQUE", nil, nil},
		{"no package", "Example", "Alice", "", []byte{1}, nil},
		{"too large", "Example", "Alice", "OPAQUE", make([]byte, 64<<10+1), nil},
	} {
		err := e.s.SetVerifier(ctx, tt.domain, tt.user, tt.pkg, tt.v)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("SetVerifier %s = %v, want an error (%v)", tt.name, err, tt.want)
		}
	}
	if a := e.lookup(t, "Example", "Alice"); !bytes.Equal(a.Verifiers["OPAQUE"], record) {
		t.Errorf("a refused SetVerifier changed the verifier")
	}
}

func testSecrets(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	ctx := t.Context()
	if _, err := e.s.Secret(ctx, "OPAQUE", "setup"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("Secret of an empty store = %v, want ErrNotFound", err)
	}
	setup := bytes.Repeat([]byte{0x5c}, 96)
	in := bytes.Clone(setup)
	if err := e.s.CreateSecret(ctx, "OPAQUE", "setup", in); err != nil {
		t.Fatal(err)
	}
	in[0] ^= 1
	got, err := e.s.Secret(ctx, "OPAQUE", "setup")
	if err != nil || !bytes.Equal(got, setup) {
		t.Fatalf("Secret = %x, %v", got, err)
	}
	got[0] ^= 1 // the caller's copy
	if again, _ := e.s.Secret(ctx, "OPAQUE", "setup"); !bytes.Equal(again, setup) {
		t.Fatalf("changing the returned bytes changed the secret")
	}
	// Create-once.
	if err := e.s.CreateSecret(ctx, "OPAQUE", "setup", []byte("another value")); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("second CreateSecret = %v, want ErrExists", err)
	}
	if again, _ := e.s.Secret(ctx, "OPAQUE", "setup"); !bytes.Equal(again, setup) {
		t.Fatalf("a refused CreateSecret changed the secret")
	}
	// Each package has its own names.
	if _, err := e.s.Secret(ctx, "Kerberos", "setup"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("another package reads OPAQUE's secret: %v", err)
	}
	if err := e.s.CreateSecret(ctx, "Kerberos", "setup", []byte("kerberos")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Secret(ctx, "OPAQUE", "setup"); !bytes.Equal(got, setup) {
		t.Errorf("another package's secret of the same name replaced OPAQUE's")
	}
	for _, tt := range []struct {
		name, pkg, key string
		v              []byte
	}{
		{"no package", "", "x", []byte{1}},
		{"no name", "OPAQUE", "", []byte{1}},
		{"empty", "OPAQUE", "empty", []byte{}},
		{"too large", "OPAQUE", "large", make([]byte, 64<<10+1)},
		{"control character", "OPAQUE", "a\nb", []byte{1}},
	} {
		if err := e.s.CreateSecret(ctx, tt.pkg, tt.key, tt.v); err == nil {
			t.Errorf("CreateSecret %s succeeded", tt.name)
		}
	}
	if err := e.s.CreateSecret(ctx, "OPAQUE", "largest", make([]byte, 64<<10)); err != nil {
		t.Errorf("CreateSecret of 64 KiB: %v", err)
	}
}

// code returns a registration code for domain\name and package pkg,
// with the given secret, expiring at exp.
func code(domain, name, pkg, sel, secret string, exp time.Time) *accounts.RegistrationCode {
	h := sha256.Sum256([]byte(secret))
	return &accounts.RegistrationCode{Domain: domain, Name: name, Package: pkg, Selector: []byte(sel), Hash: h[:], Expires: exp}
}

func testRegistrationCodes(t *testing.T, open Opener) {
	e := newEnv(t, open, &accounts.LockoutPolicy{Threshold: 1, Window: time.Hour})
	ctx := t.Context()
	e.create(t, sample())
	e.create(t, &accounts.Account{Domain: "Example", Name: "Bob"})
	exp := epoch.Add(time.Hour)
	record := bytes.Repeat([]byte{0x33}, 240)
	valid := code("Example", "Alice", "OPAQUE", "sel-alice", "secret-alice", exp)
	if err := e.s.AddRegistrationCode(ctx, code("Example", "Nobody", "OPAQUE", "sel-x", "x", exp), epoch); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("AddRegistrationCode for no account = %v, want ErrNotFound", err)
	}
	if err := e.s.AddRegistrationCode(ctx, valid, epoch); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddRegistrationCode(ctx, code("Example", "Bob", "OPAQUE", "sel-alice", "other", exp), epoch); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("a second code with the same selector = %v, want ErrExists", err)
	}
	if err := e.s.AddRegistrationCode(ctx, code("Example", "Bob", "OPAQUE", "sel-bob", "secret-bob", exp), epoch); err != nil {
		t.Fatal(err)
	}
	e.logon(t, "Example", "Alice", false) // locks Alice

	// What the holder of Alice's code may not do, and what it may.
	refused := []struct {
		name string
		c    *accounts.RegistrationCode
		at   time.Time
	}{
		{"wrong secret", code("Example", "Alice", "OPAQUE", "sel-alice", "secret-alicf", exp), epoch},
		{"unknown selector", code("Example", "Alice", "OPAQUE", "sel-alicf", "secret-alice", exp), epoch},
		{"another account", code("Example", "Bob", "OPAQUE", "sel-alice", "secret-alice", exp), epoch},
		{"an unknown account", code("Example", "Carol", "OPAQUE", "sel-alice", "secret-alice", exp), epoch},
		{"another package", code("Example", "Alice", "NTLM", "sel-alice", "secret-alice", exp), epoch},
		{"expired", valid, exp},
		{"long expired", valid, exp.Add(time.Hour)},
		{"no selector", code("Example", "Alice", "OPAQUE", "", "secret-alice", exp), epoch},
	}
	for _, tt := range refused {
		if err := e.s.CheckRegistrationCode(ctx, tt.c, tt.at); !errors.Is(err, accounts.ErrInvalidCode) {
			t.Errorf("CheckRegistrationCode (%s) = %v, want ErrInvalidCode", tt.name, err)
		}
		if err := e.s.RedeemRegistrationCode(ctx, tt.c, record, tt.at); !errors.Is(err, accounts.ErrInvalidCode) {
			t.Errorf("RedeemRegistrationCode (%s) = %v, want ErrInvalidCode", tt.name, err)
		}
	}
	if a := e.lookup(t, "Example", "Alice"); a.Verifiers["OPAQUE"] != nil || a.Lockout.Failures != 1 {
		t.Fatalf("refused redemptions changed Alice: %v", a)
	}
	// Names compare as account names do.
	spelled := code("EXAMPLE", "ALICE", "OPAQUE", "sel-alice", "secret-alice", exp)
	if err := e.s.CheckRegistrationCode(ctx, spelled, exp.Add(-time.Microsecond)); err != nil {
		t.Fatalf("CheckRegistrationCode of a valid code = %v", err)
	}
	if err := e.s.RedeemRegistrationCode(ctx, spelled, record, epoch); err != nil {
		t.Fatalf("RedeemRegistrationCode of a valid code = %v", err)
	}
	a := e.lookup(t, "Example", "Alice")
	if !bytes.Equal(a.Verifiers["OPAQUE"], record) || !bytes.Equal(a.Verifiers["NTLM"], secret) || a.Lockout != (accounts.LockoutState{}) {
		t.Fatalf("after the redemption Alice is %v", a)
	}
	// Once only.
	if err := e.s.CheckRegistrationCode(ctx, valid, epoch); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Errorf("CheckRegistrationCode of a used code = %v", err)
	}
	if err := e.s.RedeemRegistrationCode(ctx, valid, []byte("again"), epoch); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Errorf("second RedeemRegistrationCode = %v", err)
	}
	if a := e.lookup(t, "Example", "Alice"); !bytes.Equal(a.Verifiers["OPAQUE"], record) {
		t.Errorf("a refused redemption replaced the verifier")
	}

	// A new code replaces the account's previous one for the package.
	bob1 := code("Example", "Bob", "OPAQUE", "sel-bob", "secret-bob", exp)
	bob2 := code("Example", "Bob", "OPAQUE", "sel-bob-2", "secret-bob-2", exp)
	if err := e.s.AddRegistrationCode(ctx, bob2, epoch); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CheckRegistrationCode(ctx, bob1, epoch); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Errorf("the replaced code = %v, want ErrInvalidCode", err)
	}
	if err := e.s.CheckRegistrationCode(ctx, bob2, epoch); err != nil {
		t.Errorf("the new code = %v", err)
	}
	// Deleting the account deletes its codes: a new Bob is not bound
	// by the old Bob's code.
	if err := e.s.Delete(ctx, "Example", "Bob"); err != nil {
		t.Fatal(err)
	}
	e.create(t, &accounts.Account{Domain: "Example", Name: "Bob"})
	if err := e.s.RedeemRegistrationCode(ctx, bob2, record, epoch); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Errorf("a deleted account's code = %v, want ErrInvalidCode", err)
	}
	if a := e.lookup(t, "Example", "Bob"); len(a.Verifiers) != 0 {
		t.Errorf("a deleted account's code gave the new account a verifier")
	}
	if err := e.s.RedeemRegistrationCode(ctx, code("Example", "Bob", "OPAQUE", "sel-bob-3", "s", exp), nil, epoch); err == nil {
		t.Errorf("RedeemRegistrationCode of an empty verifier succeeded")
	}
	// Adding a code removes those expired at the time it is added.
	old := code("Example", "Bob", "OPAQUE", "sel-old", "old", exp)
	if err := e.s.AddRegistrationCode(ctx, old, epoch); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddRegistrationCode(ctx, code("Example", "Alice", "NTLM", "sel-new", "new", exp.Add(time.Hour)), exp); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CheckRegistrationCode(ctx, old, epoch); err == nil || !strings.Contains(err.Error(), "no code") {
		t.Errorf("a code expired when another was added = %v, want it removed", err)
	}
}

func testRegistrationCodeRace(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	codeRace(t, []accounts.Store{e.s})
}

// codeRace redeems one code from many goroutines over stores: exactly
// one succeeds.
func codeRace(t *testing.T, stores []accounts.Store) {
	t.Helper()
	ctx := context.Background()
	if err := stores[0].Create(ctx, &accounts.Account{Domain: "race", Name: "carol"}); err != nil {
		t.Fatal(err)
	}
	c := code("race", "carol", "OPAQUE", "sel-race", "secret-race", epoch.Add(time.Hour))
	if err := stores[0].AddRegistrationCode(ctx, c, epoch); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%len(stores)].RedeemRegistrationCode(ctx, c, fmt.Appendf(nil, "record %d", i), epoch)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("redemptions %d and %d of one code both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, accounts.ErrInvalidCode):
			t.Errorf("redemption %d: %v, want nil or ErrInvalidCode", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no redemption of a valid code succeeded: %v", errs)
	}
	for _, s := range stores {
		a, err := s.Lookup(ctx, "race", "carol")
		if err != nil || !bytes.Equal(a.Verifiers["OPAQUE"], fmt.Appendf(nil, "record %d", winner)) {
			t.Errorf("the account after the race: %v, %v (winner %d)", a, err, winner)
		}
	}
}

// secretRace creates one package secret from many goroutines over
// stores: exactly one value wins, and every store reads it.
func secretRace(t *testing.T, stores []accounts.Store) {
	t.Helper()
	ctx := context.Background()
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%len(stores)].CreateSecret(ctx, "OPAQUE", "race", fmt.Appendf(nil, "setup %d", i))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("CreateSecret %d and %d of one name both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, accounts.ErrExists):
			t.Errorf("CreateSecret %d: %v, want nil or ErrExists", i, err)
		}
	}
	for _, s := range stores {
		if got, err := s.Secret(ctx, "OPAQUE", "race"); err != nil || !bytes.Equal(got, fmt.Appendf(nil, "setup %d", winner)) {
			t.Errorf("Secret after the race: %q, %v (winner %d)", got, err, winner)
		}
	}
}

func testSecretRace(t *testing.T, open Opener) {
	e := newEnv(t, open, nil)
	secretRace(t, []accounts.Store{e.s})
}
