package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

func TestReplayCache(t *testing.T) {
	c := newReplayCache(2)
	c.maxPerUID = 2
	now := time.Unix(1000, 0)
	if err := c.check(1, 7, []byte("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.check(1, 7, []byte("a"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// A replay is one whoever presents it.
	if err := c.check(1, 8, []byte("a"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay by another uid: %v", err)
	}
	// Keys are per package.
	if err := c.check(2, 7, []byte("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	// Full of live keys: fail closed.
	if err := c.check(1, 8, []byte("b"), now.Add(time.Minute), now); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("full cache: %v", err)
	}
	// Expired keys make room and may be seen again.
	later := now.Add(2 * time.Minute)
	if err := c.check(1, 7, []byte("a"), later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

// One uid filling its share of the cache makes its own acceptors fail,
// closed, and leaves room for every other uid's.
func TestReplayCachePerUID(t *testing.T) {
	c := newReplayCache(64)
	if c.maxPerUID != 4 {
		t.Fatalf("share of one uid: %d", c.maxPerUID)
	}
	now := time.Unix(1000, 0)
	for i := range 4 {
		if err := c.check(1, 7, []byte{byte(i)}, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.check(1, 7, []byte("more"), now.Add(time.Minute), now); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("uid over its share: %v", err)
	}
	if err := c.check(1, 8, []byte("other"), now.Add(time.Minute), now); err != nil {
		t.Fatalf("another uid: %v", err)
	}
	// Within the second after a purge none runs inline; the janitor's
	// purge makes room.
	later := now.Add(2 * time.Minute)
	c.purge(later)
	if err := c.check(1, 7, []byte("more"), later.Add(time.Minute), later); err != nil {
		t.Fatalf("after the purge: %v", err)
	}
	if len(c.perUID) != 1 || c.perUID[7] != 1 || len(c.seen) != 1 {
		t.Fatalf("counts after the purge: %v, %d keys", c.perUID, len(c.seen))
	}
}
