package engine

import (
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

// quotas counts what each caller uid has the engine hold, so that one
// local user cannot exhaust the LSA for the others:
//
//   - handles: credentials handles, contexts (finished or not) and
//     exported contexts waiting for import, against
//     Config.MaxHandlesPerCaller;
//   - handshake bytes: the tokens (in and out) of the uid's unfinished
//     contexts, which a multi-leg package keeps until the handshake ends
//     (NTLM keeps its messages for the MIC), against
//     Config.MaxHandshakeBytesPerCaller.
//
// Logon sessions have their own bound (logonTable), and so do replay
// cache entries (replayCache). Every method is O(1) under one short lock.
type quotas struct {
	maxHandles        int
	maxHandshakeBytes int64

	mu   sync.Mutex
	uids map[uint32]*usage
}

type usage struct {
	handles        int
	handshakeBytes int64
}

func newQuotas(maxHandles int, maxHandshakeBytes int64) *quotas {
	return &quotas{maxHandles: maxHandles, maxHandshakeBytes: maxHandshakeBytes, uids: make(map[uint32]*usage)}
}

func (q *quotas) usageLocked(uid uint32) *usage {
	u := q.uids[uid]
	if u == nil {
		u = new(usage)
		q.uids[uid] = u
	}
	return u
}

func (q *quotas) dropIfIdleLocked(uid uint32, u *usage) {
	if u.handles <= 0 && u.handshakeBytes <= 0 {
		delete(q.uids, uid)
	}
}

// takeHandle counts one more handle for uid, unless the uid is at its
// quota.
func (q *quotas) takeHandle(uid uint32) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.usageLocked(uid)
	if u.handles >= q.maxHandles {
		q.dropIfIdleLocked(uid, u)
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: handle quota of %d reached for uid %d", q.maxHandles, uid)
	}
	u.handles++
	return nil
}

// releaseHandle gives back a handle taken with takeHandle.
func (q *quotas) releaseHandle(uid uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.uids[uid]; u != nil {
		u.handles--
		q.dropIfIdleLocked(uid, u)
	}
}

// chargeHandshake counts n more handshake bytes for uid, unless that
// would exceed the uid's budget.
func (q *quotas) chargeHandshake(uid uint32, n int64) error {
	if n == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.usageLocked(uid)
	if u.handshakeBytes+n > q.maxHandshakeBytes {
		q.dropIfIdleLocked(uid, u)
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: uid %d's unfinished handshakes hold %d bytes of tokens; the limit is %d", uid, u.handshakeBytes, q.maxHandshakeBytes)
	}
	u.handshakeBytes += n
	return nil
}

// addHandshake counts n more handshake bytes for uid whatever the budget
// says: for what a package has already returned.
func (q *quotas) addHandshake(uid uint32, n int64) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.usageLocked(uid).handshakeBytes += n
}

// releaseHandshake gives back n handshake bytes.
func (q *quotas) releaseHandshake(uid uint32, n int64) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.uids[uid]; u != nil {
		u.handshakeBytes -= n
		q.dropIfIdleLocked(uid, u)
	}
}

// usageOf returns uid's counts, for Stats and tests.
func (q *quotas) usageOf(uid uint32) usage {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.uids[uid]; u != nil {
		return *u
	}
	return usage{}
}
