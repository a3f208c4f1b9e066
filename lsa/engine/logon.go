package engine

import (
	"slices"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/secpkg"
)

// Bounds on what packages store in one logon session (AddCredential). A
// package stores a handful of small credentials there (NTLM: one NT
// hash); these only stop a faulty one.
const (
	maxLogonCredentials     = 16
	maxLogonCredentialBytes = 64 << 10 // all credentials of one session together
)

// logonTable holds the logon sessions (the LSA's logon session list) and
// the credentials packages store in them. Sessions belong to a uid, which
// may hold at most max of them: a new one beyond that ends the uid's
// oldest. Each lives for lifetime from its creation, then disappears as
// if logged off (the janitor wipes it; until then lookups ignore it).
//
// Sessions are indexed by uid, oldest first, so that the uid's newest
// session (asked on every call) is found in constant time whatever other
// uids hold.
type logonTable struct {
	max      int
	lifetime time.Duration

	mu       sync.Mutex
	sessions map[secpkg.LogonID]*logonSession
	byUID    map[uint32][]*logonSession // oldest first
	// ended lists the sessions dropped since the last takeEnded, whose
	// packages the engine tells (SpLogonTerminated).
	ended []secpkg.LogonID
}

type logonSession struct {
	info      lsa.LogonSessionInfo
	creds     map[credKey][]byte
	credBytes int
}

type credKey struct {
	pkg uint32
	key string
}

func newLogonTable(max int, lifetime time.Duration) *logonTable {
	return &logonTable{
		max: max, lifetime: lifetime,
		sessions: make(map[secpkg.LogonID]*logonSession),
		byUID:    make(map[uint32][]*logonSession),
	}
}

func (ls *logonSession) expired(now time.Time) bool { return !now.Before(ls.info.Expires) }

// wipe clears the session's credentials.
func (ls *logonSession) wipe() {
	for k, c := range ls.creds {
		clear(c)
		delete(ls.creds, k)
	}
	ls.credBytes = 0
}

// create starts a logon session for uid, ending the uid's expired ones
// and, if it holds the maximum already, its oldest network session, or
// else its oldest one. It returns the new session's ID and how many old
// sessions it ended.
func (t *logonTable) create(uid uint32, user, domain, pkg string, network bool, now time.Time) (secpkg.LogonID, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var id secpkg.LogonID
	for {
		id = secpkg.LogonID(randomUint64())
		if _, taken := t.sessions[id]; !taken {
			break
		}
	}
	list := t.byUID[uid]
	ended := 0
	for ended < len(list) && list[ended].expired(now) {
		t.dropLocked(list[ended])
		ended++
	}
	list = slices.Delete(list, 0, ended)
	for len(list) >= t.max {
		victim := slices.IndexFunc(list, func(ls *logonSession) bool { return ls.info.Network })
		if victim < 0 {
			victim = 0
		}
		t.dropLocked(list[victim])
		list = slices.Delete(list, victim, victim+1)
		ended++
	}
	ls := &logonSession{
		info:  lsa.LogonSessionInfo{LogonID: id, UID: uid, User: user, Domain: domain, Package: pkg, Created: now, Expires: now.Add(t.lifetime), Network: network},
		creds: make(map[credKey][]byte),
	}
	t.sessions[id] = ls
	t.byUID[uid] = append(list, ls)
	return id, ended
}

// dropLocked wipes a session and removes it from the ID index (not from
// the uid's list, which the caller edits).
func (t *logonTable) dropLocked(ls *logonSession) {
	ls.wipe()
	delete(t.sessions, ls.info.LogonID)
	t.ended = append(t.ended, ls.info.LogonID)
}

// takeEnded returns the sessions ended since its last call.
func (t *logonTable) takeEnded() []secpkg.LogonID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.ended
	t.ended = nil
	return out
}

// owned returns the session id if uid owns it and it has not expired.
func (t *logonTable) owned(id secpkg.LogonID, uid uint32, now time.Time) *logonSession {
	ls := t.sessions[id]
	if ls == nil || ls.info.UID != uid || ls.expired(now) {
		return nil
	}
	return ls
}

func (t *logonTable) owns(id secpkg.LogonID, uid uint32, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owned(id, uid, now) != nil
}

func (t *logonTable) info(id secpkg.LogonID, uid uint32, now time.Time) (lsa.LogonSessionInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ls := t.owned(id, uid, now); ls != nil {
		return ls.info, true
	}
	return lsa.LogonSessionInfo{}, false
}

// latest returns the uid's most recent logon session that is not a
// network one, or zero.
func (t *logonTable) latest(uid uint32, now time.Time) secpkg.LogonID {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.byUID[uid]
	for i := len(list) - 1; i >= 0; i-- {
		ls := list[i]
		if ls.info.Network {
			continue
		}
		// Every session lives as long, so the newest expires last.
		if ls.expired(now) {
			return 0
		}
		return ls.info.LogonID
	}
	return 0
}

// list returns the uid's logon sessions, oldest first.
func (t *logonTable) list(uid uint32, now time.Time) []lsa.LogonSessionInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []lsa.LogonSessionInfo
	for _, ls := range t.byUID[uid] {
		if !ls.expired(now) {
			out = append(out, ls.info)
		}
	}
	return out
}

func (t *logonTable) remove(id secpkg.LogonID, uid uint32, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid, now)
	if ls == nil {
		return false
	}
	t.dropLocked(ls)
	list := slices.DeleteFunc(t.byUID[uid], func(x *logonSession) bool { return x == ls })
	if len(list) == 0 {
		delete(t.byUID, uid)
	} else {
		t.byUID[uid] = list
	}
	return true
}

// purge ends the sessions that have expired: the oldest of each uid's.
func (t *logonTable) purge(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for uid, list := range t.byUID {
		i := 0
		for i < len(list) && list[i].expired(now) {
			t.dropLocked(list[i])
			i++
		}
		n += i
		switch {
		case i == len(list):
			delete(t.byUID, uid)
		case i > 0:
			t.byUID[uid] = slices.Clone(list[i:])
		}
	}
	return n
}

func (t *logonTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

func (t *logonTable) addCredential(id secpkg.LogonID, uid, pkg uint32, key string, cred []byte, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid, now)
	if ls == nil {
		return secpkg.ErrNoLogonSession
	}
	k := credKey{pkg, key}
	old, replace := ls.creds[k]
	if !replace && len(ls.creds) >= maxLogonCredentials || ls.credBytes-len(old)+len(cred) > maxLogonCredentialBytes {
		return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: logon session %v cannot hold more credentials", id)
	}
	clear(old)
	ls.credBytes += len(cred) - len(old)
	ls.creds[k] = append([]byte(nil), cred...)
	return nil
}

func (t *logonTable) credential(id secpkg.LogonID, uid, pkg uint32, key string, now time.Time) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid, now)
	if ls == nil {
		return nil, secpkg.ErrNoLogonSession
	}
	c, ok := ls.creds[credKey{pkg, key}]
	if !ok {
		return nil, secpkg.ErrNoCredential
	}
	return append([]byte(nil), c...), nil
}

func (t *logonTable) deleteCredential(id secpkg.LogonID, uid, pkg uint32, key string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid, now)
	if ls == nil {
		return secpkg.ErrNoLogonSession
	}
	k := credKey{pkg, key}
	ls.credBytes -= len(ls.creds[k])
	clear(ls.creds[k])
	delete(ls.creds, k)
	return nil
}
