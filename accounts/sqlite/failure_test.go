package sqlite

// What Logon does when the database cannot record an attempt: the attempt
// is an error (the LSA refuses the logon), and a failure it checked still
// counts.

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
)

var failurePolicy = accounts.LockoutPolicy{Threshold: 10, Window: time.Hour, Duration: time.Hour}

// guess is an attempt with password against the verifier "right"; checked
// tells whether Logon ran the check with the account's verifier.
func guess(name, password string, checked *bool) accounts.LogonAttempt {
	return accounts.LogonAttempt{Domain: "D", Name: name, Package: "NTLM", Check: func(v []byte) bool {
		if checked != nil {
			*checked = v != nil
		}
		return v != nil && bytes.Equal(v, []byte(password))
	}}
}

func openFailureStore(t *testing.T) (accounts.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sam.db")
	s, err := accounts.Open(t.Context(), "sqlite:"+path, &accounts.Options{Create: true, Lockout: &failurePolicy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, name := range []string{"victim", "other"} {
		if err := s.Create(t.Context(), &accounts.Account{Domain: "D", Name: name, Verifiers: map[string][]byte{"NTLM": []byte("right")}}); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestWritesFail makes every write of a logon attempt fail (as a full disk
// or a database gone read-only under the store would), through triggers
// installed by another connection.
func TestWritesFail(t *testing.T) {
	s, path := openFailureStore(t)
	ctx := t.Context()
	db := rawDB(t, path)
	for _, table := range []string{"lockout", "logon_decoys"} {
		if _, err := db.Exec(`CREATE TRIGGER fail_` + table + ` BEFORE UPDATE ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'read-only'); END`); err != nil {
			t.Fatal(err)
		}
	}
	// Fewer unrecorded failures than the threshold, then the right
	// password: granted, as after the same failures recorded (it clears
	// them, and a success on the clear counter on disk writes nothing).
	for range 3 {
		var checked bool
		if _, err := s.Logon(ctx, guess("other", "wrong", &checked)); err == nil || !checked {
			t.Fatalf("an unrecordable wrong password: %v (checked %t), want an error", err, checked)
		}
	}
	if out, err := s.Logon(ctx, guess("other", "right", nil)); err != nil || out.Result != accounts.LogonGranted {
		t.Fatalf("right password after 3 unrecorded failures: %v, %v", out.Result, err)
	}
	// 15 wrong passwords: each checked, none recorded, each an error.
	for i := range 15 {
		var checked bool
		out, err := s.Logon(ctx, guess("victim", "wrong", &checked))
		if err == nil {
			t.Fatalf("wrong password %d: %v with the writes failing, want an error", i+1, out.Result)
		}
		if !checked && i < failurePolicy.Threshold {
			t.Fatalf("wrong password %d was not checked", i+1)
		}
	}
	// The right password is not granted: the 15 failures count, in
	// memory, and lock the account, which takes a write to record.
	if out, err := s.Logon(ctx, guess("victim", "right", nil)); err == nil {
		t.Fatalf("right password after 15 unrecorded failures: %v, want an error", out.Result)
	}
	if _, err := s.Logon(ctx, guess("nobody", "right", nil)); err == nil {
		t.Fatalf("an unknown account's attempt succeeded without its write")
	}
	if a, _ := s.Lookup(ctx, "D", "victim"); a.Lockout.Failures != 0 {
		t.Fatalf("counter on disk %d while writes fail", a.Lockout.Failures)
	}
	// Writable again: the next attempt records the failures first.
	for _, table := range []string{"lockout", "logon_decoys"} {
		if _, err := db.Exec(`DROP TRIGGER fail_` + table); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.Logon(ctx, guess("victim", "right", nil))
	if err != nil || out.Result != accounts.LogonLockedOut || !out.LockedNow {
		t.Fatalf("right password once writable: %v (locked now %t), %v; want refused, the account locked", out.Result, out.LockedNow, err)
	}
	// 15 wrong passwords and twice the right one on the locked account.
	a, err := s.Lookup(ctx, "D", "victim")
	if err != nil || a.Lockout.Failures != 17 || !a.Lockout.Locked(time.Now()) {
		t.Fatalf("after recording: %+v, %v; want 17 failures, locked", a.Lockout, err)
	}
}

// TestLockHeld: another writer holds the database's write lock past the
// busy timeout. Nothing can be recorded, so nothing is checked or granted.
func TestLockHeld(t *testing.T) {
	testBusyTimeoutMS = 50
	s, path := openFailureStore(t)
	testBusyTimeoutMS = 0
	ctx := t.Context()
	db := rawDB(t, path)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	for _, password := range []string{"wrong", "right"} {
		var checked bool
		out, err := s.Logon(ctx, guess("victim", password, &checked))
		if err == nil || checked {
			t.Fatalf("%s password with the lock held elsewhere: %v, %v (checked %t); want an error, unchecked", password, out.Result, err, checked)
		}
	}
	if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Logon(ctx, guess("victim", "right", nil)); err != nil || out.Result != accounts.LogonGranted {
		t.Fatalf("right password once the lock is free: %v, %v", out.Result, err)
	}
}
