package ntlm

import (
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// maxSelfChallenges bounds the outstanding challenges. When that many
// handshakes are waiting for their AUTHENTICATE_MESSAGE, new ones fail
// rather than weaken reflection detection.
const maxSelfChallenges = 1 << 16

// noteIssued records a challenge our acceptor issued for principal. It
// fails if the challenge is already outstanding (a repeat of our own
// randomness must never be answered twice) or too many are.
func (p *lsaPackage) noteIssued(c [8]byte, until time.Time, principal string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.add(c, until, principal, p.now())
}

// forgetIssued removes a challenge once its context is done.
func (p *lsaPackage) forgetIssued(c [8]byte) {
	p.mu.Lock()
	p.issued.remove(c)
	p.mu.Unlock()
}

// issuedFor reports whether our acceptor issued c, still outstanding, and
// for which principal.
func (p *lsaPackage) issuedFor(c [8]byte) (principal string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued.get(c, p.now())
}

// issuedTable is the set of outstanding challenges. Entries leave when
// their handshake ends, or when they expire; expiries are kept in issue
// order (every challenge lives as long), so pruning is amortized O(1).
type issuedTable struct {
	m     map[[8]byte]issuedChallenge
	order [][8]byte // issue order; may hold challenges already removed
}

type issuedChallenge struct {
	until     time.Time
	principal string
}

func (t *issuedTable) add(c [8]byte, until time.Time, principal string, now time.Time) error {
	if t.m == nil {
		t.m = make(map[[8]byte]issuedChallenge)
	}
	t.prune(now)
	if _, dup := t.m[c]; dup {
		return secpkg.Errorf(secpkg.StatusInternalError, "ntlm: server challenge repeated")
	}
	if len(t.m) >= maxSelfChallenges {
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "ntlm: too many outstanding challenges")
	}
	t.m[c] = issuedChallenge{until, principal}
	t.order = append(t.order, c)
	return nil
}

func (t *issuedTable) remove(c [8]byte) { delete(t.m, c) }

func (t *issuedTable) get(c [8]byte, now time.Time) (string, bool) {
	e, ok := t.m[c]
	if !ok || !now.Before(e.until) {
		return "", false
	}
	return e.principal, true
}

// prune drops expired challenges from the front of the issue order, and
// compacts the order once most of it names removed challenges.
func (t *issuedTable) prune(now time.Time) {
	i := 0
	for ; i < len(t.order); i++ {
		e, ok := t.m[t.order[i]]
		if ok && now.Before(e.until) {
			break
		}
		if ok {
			delete(t.m, t.order[i])
		}
	}
	t.order = t.order[i:]
	if len(t.order) > 64 && len(t.order) > 4*len(t.m) {
		live := t.order[:0:0]
		for _, c := range t.order {
			if _, ok := t.m[c]; ok {
				live = append(live, c)
			}
		}
		t.order = live
	}
}
