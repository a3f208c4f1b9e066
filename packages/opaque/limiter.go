package opaque

import (
	"context"
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

// stretchLimiter bounds the key stretches an LSA runs at once: at most
// max in all (the LSA's stretching memory is max times the largest KSF
// it allows), and at most perCaller for one caller uid, so that one local
// user starting many logins at once waits for its own slots and cannot
// take every slot from the others. A stretch takes its caller's slot
// first, then a shared one; a waiting stretch holds nothing but its
// goroutine, and each waiting login holds a context handle, which the
// LSA counts against the caller's handle quota (so waiters per uid are
// bounded too).
type stretchLimiter struct {
	all       chan struct{}
	perCaller int

	mu      sync.Mutex
	callers map[callerKey]*callerSlots
}

// callerKey tells callers apart: the caller's uid, or noCaller for a call
// from the LSA's own process (an LSA embedded in its only application,
// which has nobody to share with) or without caller information (a
// package used outside an LSA). noCaller's share is every slot.
type callerKey struct {
	uid   uint32
	known bool
}

var noCaller = callerKey{}

// callerSlots are one caller's slots, kept while anyone uses them.
type callerSlots struct {
	slots chan struct{}
	refs  int
}

func newStretchLimiter(max, perCaller int) *stretchLimiter {
	return &stretchLimiter{all: make(chan struct{}, max), perCaller: perCaller, callers: make(map[callerKey]*callerSlots)}
}

// callerOf returns the key of ctx's caller.
func callerOf(ctx context.Context) callerKey {
	if ci, ok := secpkg.CallInfoFrom(ctx); ok && !ci.InProcess {
		return callerKey{uid: ci.UID, known: true}
	}
	return noCaller
}

// acquire waits, as long as ctx allows, for a slot of ctx's caller and a
// shared one. On success the caller must call the returned release once.
func (l *stretchLimiter) acquire(ctx context.Context) (release func(), err error) {
	k := callerOf(ctx)
	l.mu.Lock()
	c := l.callers[k]
	if c == nil {
		n := l.perCaller
		if k == noCaller {
			n = cap(l.all)
		}
		c = &callerSlots{slots: make(chan struct{}, n)}
		l.callers[k] = c
	}
	c.refs++
	l.mu.Unlock()
	unref := func() {
		l.mu.Lock()
		if c.refs--; c.refs == 0 {
			delete(l.callers, k)
		}
		l.mu.Unlock()
	}

	select {
	case c.slots <- struct{}{}:
	default:
		if h := testHookStretchWaiting; h != nil {
			h(k.uid)
		}
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			unref()
			return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: waiting to run the KSF: %w", ctx.Err())
		}
	}
	select {
	case l.all <- struct{}{}:
	case <-ctx.Done():
		<-c.slots
		unref()
		return nil, secpkg.Errorf(secpkg.StatusInternalError, "opaque: waiting to run the KSF: %w", ctx.Err())
	}
	return func() {
		<-l.all
		<-c.slots
		unref()
	}, nil
}

// testHookStretchWaiting, if set (by tests), is called with the caller's
// uid when a stretch has to wait for a slot of its caller.
var testHookStretchWaiting func(uid uint32)
