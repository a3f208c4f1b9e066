package krb5

// MIT keytab files (version 0x0502), read from bytes: the caller (the
// LSA) decides who may read which file. Format: MIT's
// doc/formats/keytab_file_format.rst.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

const (
	maxKeytabSize    = 16 << 20
	maxKeytabEntries = 1 << 14
)

// Keytab is a parsed keytab: long-term keys of principals, possibly
// several versions (kvno) and encryption types of each (key rotation).
// A Keytab is immutable once parsed, except through Add.
type Keytab struct {
	entries []KeytabEntry
}

// KeytabEntry is one key of a keytab.
type KeytabEntry struct {
	Principal Principal
	Timestamp time.Time
	KVNO      uint32
	Key       Key
	// kvno8 is set when the file held only the 8-bit key version, which
	// matches any kvno with the same low 8 bits (as in MIT).
	kvno8 bool
}

// String shows the entry without its key.
func (e KeytabEntry) String() string {
	return fmt.Sprintf("%v kvno %d %v", e.Principal, e.KVNO, e.Key.EType())
}

// ParseKeytab parses a keytab file's bytes. Entries with encryption
// types this package does not implement are skipped; every other
// malformation is an error.
func ParseKeytab(b []byte) (*Keytab, error) {
	if len(b) > maxKeytabSize {
		return nil, errors.New("krb5: keytab too large")
	}
	s := cryptobyte.String(b)
	var version uint16
	if !s.ReadUint16(&version) {
		return nil, errors.New("krb5: keytab too short")
	}
	if version != 0x0502 {
		return nil, fmt.Errorf("krb5: keytab version 0x%04x not supported (only 0x0502)", version)
	}
	kt := &Keytab{}
	for n := 0; !s.Empty(); n++ {
		if n == maxKeytabEntries {
			return nil, errors.New("krb5: keytab has too many entries")
		}
		var u uint32
		if !s.ReadUint32(&u) {
			return nil, errors.New("krb5: keytab entry truncated")
		}
		size := int32(u)
		switch {
		case size == 0:
			// MIT stops at a zero size (the rest of the file is unused).
			return kt, nil
		case size < 0:
			// A hole left by a deleted entry.
			if size == -1<<31 || !s.Skip(int(-size)) {
				return nil, errors.New("krb5: keytab hole past the end")
			}
			continue
		}
		var entry cryptobyte.String
		if !s.ReadBytes((*[]byte)(&entry), int(size)) {
			return nil, errors.New("krb5: keytab entry past the end")
		}
		e, ok, err := parseKeytabEntry(entry)
		if err != nil {
			return nil, err
		}
		if ok {
			kt.entries = append(kt.entries, e)
		}
	}
	return kt, nil
}

func parseKeytabEntry(s cryptobyte.String) (KeytabEntry, bool, error) {
	bad := errors.New("krb5: malformed keytab entry")
	var e KeytabEntry
	var count uint16
	var realm cryptobyte.String
	if !s.ReadUint16(&count) || count == 0 || count > maxNameComponents ||
		!s.ReadUint16LengthPrefixed(&realm) {
		return KeytabEntry{}, false, bad
	}
	e.Principal.Realm = string(realm)
	for range count {
		var c cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&c) {
			return KeytabEntry{}, false, bad
		}
		e.Principal.Components = append(e.Principal.Components, string(c))
	}
	var nameType, ts uint32
	var vno8 uint8
	var keyType uint16
	var key cryptobyte.String
	if !s.ReadUint32(&nameType) || !s.ReadUint32(&ts) || !s.ReadUint8(&vno8) ||
		!s.ReadUint16(&keyType) || !s.ReadUint16LengthPrefixed(&key) {
		return KeytabEntry{}, false, bad
	}
	if err := e.Principal.check(); err != nil || e.Principal.Realm == "" {
		return KeytabEntry{}, false, bad
	}
	e.Principal.Type = NameType(nameType)
	e.Timestamp = time.Unix(int64(ts), 0).UTC()
	e.KVNO, e.kvno8 = uint32(vno8), true
	// The 32-bit key version, if present and not zero, supersedes the
	// 8-bit one. Anything after it (Heimdal's flags) is ignored.
	var vno32 uint32
	if len(s) >= 4 && s.ReadUint32(&vno32) && vno32 != 0 {
		e.KVNO, e.kvno8 = vno32, false
	}
	et := EType(int16(keyType))
	if !et.Supported() {
		return KeytabEntry{}, false, nil
	}
	k, err := NewKey(et, key)
	if err != nil {
		return KeytabEntry{}, false, bad
	}
	e.Key = k
	return e, true, nil
}

// Marshal encodes the keytab in MIT's format (version 0x0502), with
// 32-bit key versions.
func (kt *Keytab) Marshal() []byte {
	var b cryptobyte.Builder
	b.AddUint16(0x0502)
	for _, e := range kt.entries {
		var eb cryptobyte.Builder
		eb.AddUint16(uint16(len(e.Principal.Components)))
		eb.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Principal.Realm)) })
		for _, c := range e.Principal.Components {
			eb.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(c)) })
		}
		eb.AddUint32(uint32(e.Principal.Type))
		eb.AddUint32(uint32(e.Timestamp.Unix()))
		eb.AddUint8(uint8(e.KVNO))
		eb.AddUint16(uint16(e.Key.EType()))
		eb.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Key.m.value) })
		eb.AddUint32(e.KVNO)
		body := eb.BytesOrPanic()
		b.AddUint32(uint32(len(body)))
		b.AddBytes(body)
	}
	return b.BytesOrPanic()
}

// Add appends a key to the keytab.
func (kt *Keytab) Add(p Principal, kvno uint32, key Key, ts time.Time) {
	kt.entries = append(kt.entries, KeytabEntry{Principal: p.Clone(), KVNO: kvno, Key: key, Timestamp: ts})
}

// Entries returns the keytab's entries, in file order.
func (kt *Keytab) Entries() []KeytabEntry { return slices.Clone(kt.entries) }

// String lists the entries without their keys.
func (kt *Keytab) String() string { return fmt.Sprintf("krb5.Keytab(%d entries)", len(kt.entries)) }

// Principals returns each principal of the keytab once, in file order.
func (kt *Keytab) Principals() []Principal {
	var out []Principal
	for _, e := range kt.entries {
		if !slices.ContainsFunc(out, e.Principal.Equal) {
			out = append(out, e.Principal)
		}
	}
	return out
}

// Key returns the key of principal p with type e and version kvno, as
// MIT's krb5_kt_get_entry does: kvno 0 means the newest version; a
// version read from the 8-bit field matches any kvno with the same low
// 8 bits.
func (kt *Keytab) Key(p Principal, kvno uint32, e EType) (KeytabEntry, error) {
	c := kt.candidates(p, kvno, e)
	if len(c) == 0 || (kvno != 0 && !c[0].matches(kvno)) {
		return KeytabEntry{}, fmt.Errorf("krb5: no key for %v kvno %d %v in the keytab", p, kvno, e)
	}
	return c[0], nil
}

func (e KeytabEntry) matches(kvno uint32) bool {
	if e.kvno8 {
		return uint8(e.KVNO) == uint8(kvno)
	}
	return e.KVNO == kvno
}

// candidates returns the keys of p with type e to try on a ticket of
// version kvno, in order: the entries of that exact version first, then
// (MIT's tolerance for keytabs out of step with the KDC, and for tickets
// without a kvno) every other version, newest first.
func (kt *Keytab) candidates(p Principal, kvno uint32, e EType) []KeytabEntry {
	var exact, others []KeytabEntry
	for _, en := range kt.entries {
		if en.Key.EType() != e || !en.Principal.Equal(p) {
			continue
		}
		if kvno != 0 && en.matches(kvno) {
			exact = append(exact, en)
		} else {
			others = append(others, en)
		}
	}
	slices.SortStableFunc(others, func(a, b KeytabEntry) int {
		if c := cmp.Compare(b.KVNO, a.KVNO); c != 0 {
			return c
		}
		return b.Timestamp.Compare(a.Timestamp)
	})
	return append(exact, others...)
}

// etypesOf returns the encryption types the keytab holds for p.
func (kt *Keytab) etypesOf(p Principal) []EType {
	var out []EType
	for _, e := range kt.entries {
		if e.Principal.Equal(p) && !slices.Contains(out, e.Key.EType()) {
			out = append(out, e.Key.EType())
		}
	}
	return out
}

// canonical returns the principal that stands for e's key in a replay
// cache: the first principal of the keytab that has the same key. A
// ticket for one of several principals sharing a key opens under each
// of them, so they must count as one server, or renaming a ticket's
// plaintext sname would replay it.
func (kt *Keytab) canonical(e KeytabEntry) Principal {
	for _, o := range kt.entries {
		if o.Key.Equal(e.Key) {
			return o.Principal
		}
	}
	return e.Principal
}
