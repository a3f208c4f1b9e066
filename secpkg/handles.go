package secpkg

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
)

// HandleTable is a concurrency-safe table that gives values random,
// non-zero package handles. Packages use it for their credentials and
// contexts, so that a handle cannot be guessed from another.
type HandleTable[T any] struct {
	mu sync.Mutex
	m  map[Handle]T
}

// Add stores v under a fresh handle and returns the handle.
func (t *HandleTable[T]) Add(v T) Handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[Handle]T)
	}
	for {
		var b [8]byte
		rand.Read(b[:])
		h := Handle(binary.LittleEndian.Uint64(b[:]))
		if _, taken := t.m[h]; h != 0 && !taken {
			t.m[h] = v
			return h
		}
	}
}

// Get returns the value stored under h.
func (t *HandleTable[T]) Get(h Handle) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	return v, ok
}

// Delete removes h and returns the value it held.
func (t *HandleTable[T]) Delete(h Handle) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	delete(t.m, h)
	return v, ok
}

// Len returns the number of handles in the table.
func (t *HandleTable[T]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Drain removes every handle and returns the values they held, in no
// particular order: what SpShutdown needs to wipe what a package still
// holds.
func (t *HandleTable[T]) Drain() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]T, 0, len(t.m))
	for _, v := range t.m {
		out = append(out, v)
	}
	clear(t.m)
	return out
}
