package krb5

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// ReplayKey identifies one authenticator in a replay cache (RFC 4120
// 3.2.3): a SHA-256 over the client, the server as decrypted (the
// principal whose key opened the ticket, never the ticket's plaintext
// sname; principals of the keytab sharing that key count as one), ctime,
// cusec and a SHA-256 of the authenticator's ciphertext. It holds no
// secret and can be stored as is.
type ReplayKey [32]byte

// String returns the key in hexadecimal.
func (k ReplayKey) String() string { return hex.EncodeToString(k[:]) }

// replayKey derives the key; every variable-length field is
// length-prefixed, so no two tuples share an encoding.
func replayKey(client, server Principal, ctime time.Time, cusec int32, authenticatorCipher []byte) ReplayKey {
	// The preimage is built on the stack (it grows to the heap only for
	// names longer than any in practice) and hashed in one call.
	var buf [512]byte
	b := append(buf[:0], "OpenSSPI krb5 replay cache v1\x00"...)
	for _, p := range [2]Principal{client, server} {
		at := len(b)
		b = p.appendText(append(b, 0, 0, 0, 0))
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(ctime.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(cusec))
	ct := sha256.Sum256(authenticatorCipher)
	b = append(b, ct[:]...)
	return ReplayKey(sha256.Sum256(b))
}

// ErrReplay is returned by a ReplayCache for a key it already holds.
var ErrReplay = errors.New("krb5: authenticator replayed")

// ReplayCache is an acceptor's replay cache (RFC 4120 3.2.3). The LSA
// supplies one that outlives the process (or, after a restart, refuses
// every AP-REQ for one clock skew, as the RFC requires of a server that
// lost its cache); MemoryReplayCache serves tests and in-process use.
type ReplayCache interface {
	// Store records key until expires, atomically: if the key is already
	// recorded and has not expired, it returns ErrReplay (or an error
	// wrapping it) and records nothing. Any other error fails the
	// authentication.
	Store(ctx context.Context, key ReplayKey, expires time.Time) error
}

// MemoryReplayCache is a ReplayCache in memory, for one process. It
// holds at most Max entries (default 1<<20); when full of unexpired
// entries it refuses new ones (fails closed).
type MemoryReplayCache struct {
	Max  int
	Time func() time.Time // nil: time.Now

	mu      sync.Mutex
	entries map[ReplayKey]time.Time
	sweep   time.Time
}

// Store implements ReplayCache.
func (c *MemoryReplayCache) Store(_ context.Context, key ReplayKey, expires time.Time) error {
	now := time.Now()
	if c.Time != nil {
		now = c.Time()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[ReplayKey]time.Time{}
	}
	if exp, ok := c.entries[key]; ok && now.Before(exp) {
		return ErrReplay
	}
	max := c.Max
	if max <= 0 {
		max = 1 << 20
	}
	if len(c.entries) >= max || now.After(c.sweep) {
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
		c.sweep = now.Add(time.Minute)
		if len(c.entries) >= max {
			return errors.New("krb5: replay cache full")
		}
	}
	c.entries[key] = expires
	return nil
}
