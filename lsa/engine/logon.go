package engine

import (
	"sort"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/secpkg"
)

// logonTable holds the logon sessions (the LSA's logon session list) and
// the credentials packages store in them. Sessions belong to a uid.
type logonTable struct {
	mu       sync.Mutex
	sessions map[secpkg.LogonID]*logonSession
}

type logonSession struct {
	info  lsa.LogonSessionInfo
	creds map[credKey][]byte
}

type credKey struct {
	pkg uint32
	key string
}

func newLogonTable() *logonTable {
	return &logonTable{sessions: make(map[secpkg.LogonID]*logonSession)}
}

func (t *logonTable) create(uid uint32, user, domain, pkg string, now time.Time) secpkg.LogonID {
	t.mu.Lock()
	defer t.mu.Unlock()
	var id secpkg.LogonID
	for {
		id = secpkg.LogonID(randomUint64())
		if _, taken := t.sessions[id]; !taken {
			break
		}
	}
	t.sessions[id] = &logonSession{
		info:  lsa.LogonSessionInfo{LogonID: id, UID: uid, User: user, Domain: domain, Package: pkg, Created: now},
		creds: make(map[credKey][]byte),
	}
	return id
}

func (t *logonTable) owned(id secpkg.LogonID, uid uint32) *logonSession {
	ls := t.sessions[id]
	if ls == nil || ls.info.UID != uid {
		return nil
	}
	return ls
}

func (t *logonTable) owns(id secpkg.LogonID, uid uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owned(id, uid) != nil
}

func (t *logonTable) info(id secpkg.LogonID, uid uint32) (lsa.LogonSessionInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ls := t.owned(id, uid); ls != nil {
		return ls.info, true
	}
	return lsa.LogonSessionInfo{}, false
}

// latest returns the uid's most recent logon session, or zero.
func (t *logonTable) latest(uid uint32) secpkg.LogonID {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best *logonSession
	for _, ls := range t.sessions {
		if ls.info.UID == uid && (best == nil || ls.info.Created.After(best.info.Created) ||
			ls.info.Created.Equal(best.info.Created) && ls.info.LogonID > best.info.LogonID) {
			best = ls
		}
	}
	if best == nil {
		return 0
	}
	return best.info.LogonID
}

func (t *logonTable) list(uid uint32) []lsa.LogonSessionInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []lsa.LogonSessionInfo
	for _, ls := range t.sessions {
		if ls.info.UID == uid {
			out = append(out, ls.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func (t *logonTable) remove(id secpkg.LogonID, uid uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid)
	if ls == nil {
		return false
	}
	for k, c := range ls.creds {
		clear(c)
		delete(ls.creds, k)
	}
	delete(t.sessions, id)
	return true
}

func (t *logonTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

func (t *logonTable) addCredential(id secpkg.LogonID, uid, pkg uint32, key string, cred []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid)
	if ls == nil {
		return secpkg.ErrNoLogonSession
	}
	k := credKey{pkg, key}
	clear(ls.creds[k])
	ls.creds[k] = append([]byte(nil), cred...)
	return nil
}

func (t *logonTable) credential(id secpkg.LogonID, uid, pkg uint32, key string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid)
	if ls == nil {
		return nil, secpkg.ErrNoLogonSession
	}
	c, ok := ls.creds[credKey{pkg, key}]
	if !ok {
		return nil, secpkg.ErrNoCredential
	}
	return append([]byte(nil), c...), nil
}

func (t *logonTable) deleteCredential(id secpkg.LogonID, uid, pkg uint32, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.owned(id, uid)
	if ls == nil {
		return secpkg.ErrNoLogonSession
	}
	k := credKey{pkg, key}
	clear(ls.creds[k])
	delete(ls.creds, k)
	return nil
}
