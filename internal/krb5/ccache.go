package krb5

// MIT's FILE credentials cache, versions 3 and 4, read from bytes (the
// caller decides who may read which file). Format: MIT's
// doc/formats/ccache_file_format.rst.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

const (
	maxCCacheSize  = 16 << 20
	maxCCacheCreds = 4096
	maxCCacheField = 1 << 20
)

// CCache is a parsed credentials cache.
type CCache struct {
	Version   int // 3 or 4
	Principal Principal
	// KDCOffset is the KDC's clock minus ours, as a v4 header records it
	// (kdc_timesync), zero if absent.
	KDCOffset   time.Duration
	Credentials []*Credential
}

// String shows the cache without keys.
func (c *CCache) String() string {
	return fmt.Sprintf("krb5.CCache(v%d, %v, %d credentials)", c.Version, c.Principal, len(c.Credentials))
}

// ParseCCache parses a FILE ccache of version 3 or 4 (0x0503, 0x0504;
// the older host-byte-order versions are refused). Configuration entries
// (server realm X-CACHECONF:) and user-to-user tickets are skipped, as are
// credentials with encryption types this package does not implement.
func ParseCCache(b []byte) (*CCache, error) {
	if len(b) > maxCCacheSize {
		return nil, errors.New("krb5: ccache too large")
	}
	s := cryptobyte.String(b)
	var version uint16
	if !s.ReadUint16(&version) {
		return nil, errors.New("krb5: ccache too short")
	}
	c := &CCache{}
	switch version {
	case 0x0503:
		c.Version = 3
	case 0x0504:
		c.Version = 4
		var hdr cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&hdr) {
			return nil, errors.New("krb5: ccache header truncated")
		}
		for !hdr.Empty() {
			var tag uint16
			var v cryptobyte.String
			if !hdr.ReadUint16(&tag) || !hdr.ReadUint16LengthPrefixed(&v) {
				return nil, errors.New("krb5: malformed ccache header")
			}
			var sec, usec uint32
			if tag == 1 && len(v) == 8 && v.ReadUint32(&sec) && v.ReadUint32(&usec) {
				c.KDCOffset = time.Duration(int32(sec))*time.Second + time.Duration(int32(usec))*time.Microsecond
			}
		}
	default:
		return nil, fmt.Errorf("krb5: ccache version 0x%04x not supported (only 0x0503, 0x0504)", version)
	}
	var err error
	if c.Principal, err = readCCachePrincipal(&s); err != nil {
		return nil, err
	}
	for n := 0; !s.Empty(); n++ {
		if n == maxCCacheCreds {
			return nil, errors.New("krb5: ccache has too many credentials")
		}
		cred, keep, err := readCCacheCred(&s, c.Version)
		if err != nil {
			return nil, err
		}
		if keep {
			c.Credentials = append(c.Credentials, cred)
		}
	}
	return c, nil
}

func readCCachePrincipal(s *cryptobyte.String) (Principal, error) {
	bad := errors.New("krb5: malformed ccache principal")
	var nameType, count uint32
	var realm cryptobyte.String
	if !s.ReadUint32(&nameType) || !s.ReadUint32(&count) || count > maxNameComponents ||
		!readU32Prefixed(s, &realm) || len(realm) > maxNameLength {
		return Principal{}, bad
	}
	p := Principal{Type: NameType(nameType), Realm: string(realm)}
	for range count {
		var c cryptobyte.String
		if !readU32Prefixed(s, &c) || len(c) > maxNameLength {
			return Principal{}, bad
		}
		p.Components = append(p.Components, string(c))
	}
	return p, nil
}

func readCCacheCred(s *cryptobyte.String, version int) (*Credential, bool, error) {
	bad := errors.New("krb5: malformed ccache credential")
	client, err := readCCachePrincipal(s)
	if err != nil {
		return nil, false, err
	}
	server, err := readCCachePrincipal(s)
	if err != nil {
		return nil, false, err
	}
	var etype, etype2 uint16
	var keyValue cryptobyte.String
	if !s.ReadUint16(&etype) {
		return nil, false, bad
	}
	if version == 3 && !s.ReadUint16(&etype2) { // v3 repeats the enctype
		return nil, false, bad
	}
	var times [4]uint32
	var isSKey uint8
	var flags, nAddr uint32
	if !readU32Prefixed(s, &keyValue) || len(keyValue) > 64 ||
		!s.ReadUint32(&times[0]) || !s.ReadUint32(&times[1]) || !s.ReadUint32(&times[2]) || !s.ReadUint32(&times[3]) ||
		!s.ReadUint8(&isSKey) || !s.ReadUint32(&flags) || !s.ReadUint32(&nAddr) || nAddr > maxSeq {
		return nil, false, bad
	}
	for range nAddr {
		var t uint16
		var a cryptobyte.String
		if !s.ReadUint16(&t) || !readU32Prefixed(s, &a) || len(a) > maxCCacheField {
			return nil, false, bad
		}
	}
	var nAD uint32
	if !s.ReadUint32(&nAD) || nAD > maxSeq {
		return nil, false, bad
	}
	for range nAD {
		var t uint16
		var a cryptobyte.String
		if !s.ReadUint16(&t) || !readU32Prefixed(s, &a) || len(a) > maxCCacheField {
			return nil, false, bad
		}
	}
	var tkt, second cryptobyte.String
	if !readU32Prefixed(s, &tkt) || len(tkt) > maxCCacheField ||
		!readU32Prefixed(s, &second) || len(second) > maxCCacheField {
		return nil, false, bad
	}
	if strings.HasPrefix(server.Realm, "X-CACHECONF:") || isSKey != 0 || !EType(int16(etype)).Supported() {
		return nil, false, nil
	}
	if _, err := parseTicket(tkt); err != nil {
		return nil, false, err
	}
	key, err := NewKey(EType(int16(etype)), keyValue)
	if err != nil {
		return nil, false, bad
	}
	unix := func(v uint32) time.Time {
		if v == 0 {
			return time.Time{}
		}
		return time.Unix(int64(v), 0).UTC()
	}
	cred := &Credential{
		Client: client, Server: server, Ticket: append([]byte{}, tkt...), SessionKey: key,
		Flags:    TicketFlags(flags),
		AuthTime: unix(times[0]), StartTime: unix(times[1]), EndTime: unix(times[2]), RenewTill: unix(times[3]),
	}
	if cred.StartTime.IsZero() {
		cred.StartTime = cred.AuthTime
	}
	return cred, true, nil
}

// Get returns the cache's credential for server, or nil.
func (c *CCache) Get(server Principal) *Credential {
	for _, cr := range c.Credentials {
		if cr.Server.Equal(server) {
			return cr
		}
	}
	return nil
}

// TGT returns the TGT of the cache's principal for its own realm, or
// nil.
func (c *CCache) TGT() *Credential {
	return c.Get(TGSPrincipal(c.Principal.Realm, c.Principal.Realm))
}

// Marshal encodes the cache as a FILE ccache of version 4, which MIT's
// tools read (klist, and GSS through KRB5CCNAME).
func (c *CCache) Marshal() []byte {
	var b cryptobyte.Builder
	b.AddUint16(0x0504)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {})
	addPrincipal := func(p Principal) {
		b.AddUint32(uint32(p.Type))
		b.AddUint32(uint32(len(p.Components)))
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p.Realm)) })
		for _, comp := range p.Components {
			b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(comp)) })
		}
	}
	addPrincipal(c.Principal)
	unix := func(t time.Time) uint32 {
		if t.IsZero() {
			return 0
		}
		return uint32(t.Unix())
	}
	for _, cr := range c.Credentials {
		addPrincipal(cr.Client)
		addPrincipal(cr.Server)
		b.AddUint16(uint16(cr.SessionKey.EType()))
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.SessionKey.m.value) })
		for _, t := range []time.Time{cr.AuthTime, cr.StartTime, cr.EndTime, cr.RenewTill} {
			b.AddUint32(unix(t))
		}
		b.AddUint8(0)
		b.AddUint32(uint32(cr.Flags))
		b.AddUint32(0) // addresses
		b.AddUint32(0) // authdata
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.Ticket) })
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {})
	}
	return b.BytesOrPanic()
}

// readU32Prefixed reads a 32-bit big-endian length and that many bytes.
func readU32Prefixed(s *cryptobyte.String, out *cryptobyte.String) bool {
	var n uint32
	return s.ReadUint32(&n) && n <= maxCCacheField && s.ReadBytes((*[]byte)(out), int(n))
}
