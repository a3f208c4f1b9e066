package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// replayCache is the acceptor replay cache: keys seen, each kept until it
// expires. It is bounded; when full of unexpired keys it fails closed.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[[32]byte]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[32]byte]time.Time)}
}

func (c *replayCache) check(pkg uint32, key []byte, expires, now time.Time) error {
	h := sha256.New()
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], pkg)
	h.Write(p[:])
	h.Write(key)
	var k [32]byte
	h.Sum(k[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return secpkg.ErrReplay
	}
	if len(c.seen) >= c.max {
		c.purgeLocked(now)
		if len(c.seen) >= c.max {
			return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: replay cache is full")
		}
	}
	c.seen[k] = expires
	return nil
}

func (c *replayCache) purge(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purgeLocked(now)
}

func (c *replayCache) purgeLocked(now time.Time) {
	for k, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, k)
		}
	}
}
