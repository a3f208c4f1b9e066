package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// A package storing credentials in a logon session is bounded in count
// and size; replacing one counts only the difference.
func TestLogonCredentialBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newLogonTable(4, time.Hour)
	id, _ := tab.create(7, "u", "D", "P", false, now)
	for i := range maxLogonCredentials {
		if err := tab.addCredential(id, 7, 1, string(rune('a'+i)), make([]byte, 16), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.addCredential(id, 7, 1, "one-more", nil, now); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("credential past the count: %v", err)
	}
	if err := tab.addCredential(id, 7, 1, "a", make([]byte, maxLogonCredentialBytes-15*16), now); err != nil {
		t.Fatalf("replacing within the size: %v", err)
	}
	if err := tab.addCredential(id, 7, 1, "b", make([]byte, 17), now); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("credential past the size: %v", err)
	}
	if err := tab.deleteCredential(id, 7, 1, "a", now); err != nil {
		t.Fatal(err)
	}
	if err := tab.addCredential(id, 7, 1, "b", make([]byte, 1024), now); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	// Another uid sees nothing of it.
	if _, err := tab.credential(id, 8, 1, "b", now); !errors.Is(err, secpkg.ErrNoLogonSession) {
		t.Fatalf("another uid: %v", err)
	}
}

// The janitor's purge ends expired sessions and wipes their credentials.
func TestLogonPurge(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newLogonTable(4, time.Hour)
	old, _ := tab.create(7, "u", "D", "P", false, now)
	cred := []byte("secret")
	tab.addCredential(old, 7, 1, "k", cred, now)
	ls := tab.sessions[old]
	young, _ := tab.create(7, "u", "D", "P", false, now.Add(30*time.Minute))
	tab.create(8, "v", "D", "P", false, now)
	if n := tab.purge(now.Add(time.Hour)); n != 2 {
		t.Fatalf("purged %d", n)
	}
	if tab.len() != 1 || tab.latest(7, now.Add(time.Hour)) != young || tab.latest(8, now) != 0 {
		t.Fatalf("after purge: %d sessions, latest %v", tab.len(), tab.latest(7, now.Add(time.Hour)))
	}
	if len(ls.creds) != 0 {
		t.Fatal("an expired session kept its credentials")
	}
}
