package kerberos

import (
	"bytes"
	"sync"
	"time"

	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// ticketCache is a TGT and the service tickets obtained with it: what a
// credentials cache holds. A logon session's is shared by every
// credentials handle acquired from the session (the service-ticket cache
// per logon session); explicit credentials keep one per handle.
type ticketCache struct {
	max int

	mu      sync.Mutex
	tgt     *krb5.Credential
	tickets []cachedTicket // least recently used first
	// tgtBlob is the logon session's stored TGT this cache was built
	// from (nil for a handle's own cache).
	tgtBlob []byte
}

// cachedTicket is a service ticket and the name it was asked for (the
// ticket may name the canonical principal, or come from another realm).
type cachedTicket struct {
	target string
	cred   *krb5.Credential
}

func newTicketCache(max int) *ticketCache { return &ticketCache{max: max} }

// ticketMargin is how long a cached ticket must still be valid to be
// used: one that expires on its way to the acceptor is refused there.
const ticketMargin = time.Minute

// usable reports whether cred can be presented at now.
func usable(cred *krb5.Credential, now time.Time, skew time.Duration) bool {
	return cred != nil && !now.Add(skew).Before(cred.StartTime) && now.Add(ticketMargin).Before(cred.EndTime)
}

// TGT returns the cache's TGT.
func (c *ticketCache) TGT() *krb5.Credential {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tgt
}

// setTGT replaces the TGT and drops the service tickets of the old one.
func (c *ticketCache) setTGT(tgt *krb5.Credential, blob []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wipeLocked()
	c.tgt, c.tgtBlob = tgt, blob
}

// lookup returns a usable service ticket for target.
func (c *ticketCache) lookup(target string, now time.Time, skew time.Duration) *krb5.Credential {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, t := range c.tickets {
		if t.target != target {
			continue
		}
		if !usable(t.cred, now, skew) {
			destroyCredential(t.cred)
			c.tickets = append(c.tickets[:i], c.tickets[i+1:]...)
			return nil
		}
		if i != len(c.tickets)-1 { // most recently used last
			c.tickets = append(append(c.tickets[:i], c.tickets[i+1:]...), t)
		}
		return t.cred
	}
	return nil
}

// add caches a service ticket obtained with tgt, unless the TGT changed
// meanwhile.
func (c *ticketCache) add(target string, tgt, cred *krb5.Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tgt != tgt {
		return
	}
	for i, t := range c.tickets {
		if t.target == target {
			c.tickets = append(c.tickets[:i], c.tickets[i+1:]...)
			break
		}
	}
	if len(c.tickets) >= c.max {
		destroyCredential(c.tickets[0].cred)
		c.tickets = c.tickets[1:]
	}
	c.tickets = append(c.tickets, cachedTicket{target: target, cred: cred})
}

// wipe drops every ticket and destroys their keys.
func (c *ticketCache) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wipeLocked()
	c.tgt, c.tgtBlob = nil, nil
}

func (c *ticketCache) wipeLocked() {
	for _, t := range c.tickets {
		destroyCredential(t.cred)
	}
	c.tickets = nil
	// The TGT is the session's: its key may be shared with a handle that
	// took it a moment ago, so it is dropped, not destroyed, here.
}

// describe lists the cache's tickets as klist does, TGT first.
func (c *ticketCache) describe() []secpkg.CredentialInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []secpkg.CredentialInfo
	if c.tgt != nil {
		out = append(out, credentialInfo(c.tgt))
	}
	for _, t := range c.tickets {
		out = append(out, credentialInfo(t.cred))
	}
	return out
}

// credentialInfo describes a ticket without its key.
func credentialInfo(c *krb5.Credential) secpkg.CredentialInfo {
	info := secpkg.CredentialInfo{
		Client:    c.Client.String(),
		Server:    c.Server.String(),
		Start:     c.StartTime,
		End:       c.EndTime,
		RenewTill: c.RenewTill,
		Flags:     c.Flags.String(),
		EType:     c.SessionKey.EType().String(),
	}
	if e := c.TicketEType(); e != 0 {
		info.TicketEType = e.String()
	}
	return info
}

// destroyCredential wipes a credential's session key.
func destroyCredential(c *krb5.Credential) {
	if c != nil {
		c.SessionKey.Destroy()
	}
}

// Logon sessions. The TGT of a logon session is stored in the LSA's
// logon session itself (AddCredential under credKeyTGT), which decides
// who may use it and wipes it when the session ends; the package keeps,
// per session, the parsed TGT and the service tickets obtained with it.

// credKeyTGT is the key of a logon session's TGT (AddCredential): an MIT
// FILE credentials cache (version 4) holding the client principal and
// the TGT.
const credKeyTGT = "krb5-tgt-ccache-v4"

// maxSessions bounds the logon sessions whose tickets the package keeps;
// beyond it the least recently used session's tickets are dropped (its
// TGT stays in the LSA and is read again when next needed).
const maxSessions = 4096

// sessionTable maps logon sessions to their ticket caches.
type sessionTable struct {
	maxTickets int

	mu  sync.Mutex
	m   map[secpkg.LogonID]*sessionEntry
	use uint64
}

type sessionEntry struct {
	cache *ticketCache
	used  uint64
}

func (t *sessionTable) init(maxTickets int) {
	t.maxTickets = maxTickets
	t.m = make(map[secpkg.LogonID]*sessionEntry)
}

// cache returns the ticket cache of session id for the TGT stored there
// (blob), building it if there is none or the stored TGT changed.
func (t *sessionTable) cache(id secpkg.LogonID, blob []byte) (*ticketCache, error) {
	t.mu.Lock()
	e := t.m[id]
	t.use++
	if e != nil {
		e.used = t.use
	}
	t.mu.Unlock()
	if e != nil {
		e.cache.mu.Lock()
		same := bytes.Equal(e.cache.tgtBlob, blob)
		e.cache.mu.Unlock()
		if same {
			return e.cache, nil
		}
	}
	tgt, err := parseStoredTGT(blob)
	if err != nil {
		return nil, err
	}
	c := newTicketCache(t.maxTickets)
	c.setTGT(tgt, bytes.Clone(blob))
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.m[id]; old != nil {
		old.cache.wipe()
	}
	if len(t.m) >= maxSessions {
		t.evictLocked()
	}
	t.m[id] = &sessionEntry{cache: c, used: t.use}
	return c, nil
}

// evictLocked drops the least recently used session's tickets.
func (t *sessionTable) evictLocked() {
	var victim secpkg.LogonID
	var oldest uint64
	first := true
	for id, e := range t.m {
		if first || e.used < oldest {
			victim, oldest, first = id, e.used, false
		}
	}
	if e := t.m[victim]; e != nil {
		e.cache.wipe()
		delete(t.m, victim)
	}
}

// drop wipes what the package keeps for session id.
func (t *sessionTable) drop(id secpkg.LogonID) {
	t.mu.Lock()
	e := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	if e != nil {
		e.cache.wipe()
	}
}

// get returns session id's cache, or nil.
func (t *sessionTable) get(id secpkg.LogonID) *ticketCache {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.m[id]; e != nil {
		return e.cache
	}
	return nil
}

func (t *sessionTable) wipeAll() {
	t.mu.Lock()
	m := t.m
	t.m = make(map[secpkg.LogonID]*sessionEntry)
	t.mu.Unlock()
	for _, e := range m {
		e.cache.wipe()
	}
}

// storedTGT encodes a TGT for a logon session.
func storedTGT(tgt *krb5.Credential) []byte {
	return (&krb5.CCache{Version: 4, Principal: tgt.Client, Credentials: []*krb5.Credential{tgt}}).Marshal()
}

// parseStoredTGT decodes what storedTGT encoded.
func parseStoredTGT(blob []byte) (*krb5.Credential, error) {
	cc, err := krb5.ParseCCache(blob)
	if err != nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the logon session's TGT: %w", err)
	}
	tgt := cc.TGT()
	if tgt == nil && len(cc.Credentials) == 1 && cc.Credentials[0].Server.IsTGS() {
		tgt = cc.Credentials[0]
	}
	if tgt == nil {
		return nil, secpkg.Errorf(secpkg.StatusNoCredentials, "kerberos: the logon session holds no TGT")
	}
	return tgt, nil
}
