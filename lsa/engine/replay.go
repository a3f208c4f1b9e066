package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// replayCache is the acceptor replay cache: keys seen, each kept until it
// expires. It is bounded in total (max) and per caller uid (maxPerUID,
// a sixteenth of the total), so that one uid filling it makes only that
// uid's acceptors fail, closed; a full cache refuses new keys rather than
// forget live ones. Expired keys are purged by the janitor, and inline at
// most once a second when a bound is reached (a purge walks the cache).
//
// With a file (Config.ReplayCacheFile) every key is also stored there,
// and a key is a replay if either holds it: the file outlives the LSA
// and is shared with the other LSAs that open it (replay_file.go).
type replayCache struct {
	max, maxPerUID int
	file           *replayFile

	mu        sync.Mutex
	seen      map[[32]byte]replayEntry
	perUID    map[uint32]int
	lastPurge time.Time
}

type replayEntry struct {
	expires time.Time
	uid     uint32
}

func newReplayCache(limit int) *replayCache {
	return &replayCache{max: limit, maxPerUID: max(limit/16, 1), seen: make(map[[32]byte]replayEntry), perUID: make(map[uint32]int)}
}

func (c *replayCache) check(pkg, uid uint32, key []byte, expires, now time.Time) error {
	h := sha256.New()
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], pkg)
	h.Write(p[:])
	h.Write(key)
	var k [32]byte
	h.Sum(k[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.seen[k]; ok {
		if now.Before(old.expires) {
			return secpkg.ErrReplay
		}
		c.deleteLocked(k, old)
	}
	full := func() bool { return len(c.seen) >= c.max || c.perUID[uid] >= c.maxPerUID }
	if full() && now.Sub(c.lastPurge) >= time.Second {
		c.purgeLocked(now)
	}
	if full() {
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: replay cache is full")
	}
	if c.file != nil {
		if err := c.file.store(k, expires, now); err != nil {
			return err
		}
	}
	c.seen[k] = replayEntry{expires: expires, uid: uid}
	c.perUID[uid]++
	return nil
}

func (c *replayCache) deleteLocked(k [32]byte, e replayEntry) {
	delete(c.seen, k)
	if c.perUID[e.uid]--; c.perUID[e.uid] <= 0 {
		delete(c.perUID, e.uid)
	}
}

func (c *replayCache) purge(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purgeLocked(now)
}

func (c *replayCache) purgeLocked(now time.Time) {
	c.lastPurge = now
	for k, e := range c.seen {
		if !now.Before(e.expires) {
			c.deleteLocked(k, e)
		}
	}
}

// close closes the replay cache file, if any.
func (c *replayCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == nil {
		return nil
	}
	err := c.file.close()
	c.file = nil
	return err
}
