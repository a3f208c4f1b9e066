package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

func TestReplayCache(t *testing.T) {
	c := newReplayCache(2)
	now := time.Unix(1000, 0)
	if err := c.check(1, []byte("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.check(1, []byte("a"), now.Add(time.Minute), now); !errors.Is(err, secpkg.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// Keys are per package.
	if err := c.check(2, []byte("a"), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	// Full of live keys: fail closed.
	if err := c.check(1, []byte("b"), now.Add(time.Minute), now); !errors.Is(err, secpkg.StatusInsufficientMemory) {
		t.Fatalf("full cache: %v", err)
	}
	// Expired keys make room and may be seen again.
	later := now.Add(2 * time.Minute)
	if err := c.check(1, []byte("a"), later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
