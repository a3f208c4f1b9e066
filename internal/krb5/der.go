package krb5

// Helpers for the DER encoding of Kerberos messages (RFC 4120 5, X.690),
// on golang.org/x/crypto/cryptobyte: definite minimal lengths, no
// trailing bytes in any element, bounded sequences. Every field of a
// message is EXPLICIT-tagged [n] (RFC 4120 5.2: "DEFINITIONS EXPLICIT
// TAGS"), and messages are wrapped in an APPLICATION tag.

import (
	"bytes"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// reader reads one value from s, consuming it; false means malformed.
type reader func(s *cryptobyte.String) bool

// ctxTag is the constructed context-specific tag [n].
func ctxTag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

// appTag is the constructed APPLICATION tag [n].
func appTag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).Constructed() | 0x40 }

// field reads the required field [n] with r; the field must hold exactly
// one value.
func field(s *cryptobyte.String, n uint8, r reader) bool {
	var f cryptobyte.String
	return s.ReadASN1(&f, ctxTag(n)) && within(s, f, r)
}

// within runs r on in, which it must read completely. in takes the place
// of *s while r runs (*s is restored after), so that no String per
// element escapes to the heap through r.
func within(s *cryptobyte.String, in cryptobyte.String, r reader) bool {
	rest := *s
	*s = in
	ok := r(s) && s.Empty()
	*s = rest
	return ok
}

// optField reads the OPTIONAL field [n] with r if it is present.
func optField(s *cryptobyte.String, n uint8, present *bool, r reader) bool {
	var f cryptobyte.String
	var ok bool
	if !s.ReadOptionalASN1(&f, &ok, ctxTag(n)) {
		return false
	}
	if present != nil {
		*present = ok
	}
	return !ok || within(s, f, r)
}

// sequence reads a SEQUENCE whose contents r reads completely.
func sequence(r reader) reader {
	return func(s *cryptobyte.String) bool {
		var q cryptobyte.String
		return s.ReadASN1(&q, cbasn1.SEQUENCE) && within(s, q, r)
	}
}

// application reads an APPLICATION [n] wrapping one value read by r.
func application(n uint8, r reader) reader {
	return func(s *cryptobyte.String) bool {
		var q cryptobyte.String
		return s.ReadASN1(&q, appTag(n)) && within(s, q, r)
	}
}

// sequenceOf reads a SEQUENCE OF with at most max elements, calling each
// for every element.
func sequenceOf(max int, each reader) reader {
	return func(s *cryptobyte.String) bool {
		var q cryptobyte.String
		if !s.ReadASN1(&q, cbasn1.SEQUENCE) {
			return false
		}
		return within(s, q, func(s *cryptobyte.String) bool {
			for n := 0; !s.Empty(); n++ {
				if n == max || !each(s) {
					return false
				}
			}
			return true
		})
	}
}

// The primitive values. Each has a read function, a reader for the
// combinators, and field functions (fieldX for a required field [n],
// optX for an OPTIONAL one) that read it without a closure: a reader's
// closure, and the variable it fills, escape to the heap, and these are
// most of a message's fields.

func readInt32(s *cryptobyte.String, p *int32) bool { return s.ReadASN1Integer(p) }

func int32Reader(p *int32) reader {
	return func(s *cryptobyte.String) bool { return readInt32(s, p) }
}

// readUint32 reads a UInt32 (RFC 4120 5.2.4). Some implementations
// encode values of 2^31 and above as negative INTEGERs (sequence numbers
// in particular); like MIT, accept those and keep the low 32 bits.
func readUint32(s *cryptobyte.String, p *uint32) bool {
	var v int64
	if !s.ReadASN1Integer(&v) || v < -(1<<31) || v > 1<<32-1 {
		return false
	}
	*p = uint32(v)
	return true
}

func uint32Reader(p *uint32) reader {
	return func(s *cryptobyte.String) bool { return readUint32(s, p) }
}

// readString reads a KerberosString or Realm: a GeneralString (RFC 4120
// 5.2.1) of at most maxNameLength bytes without NUL (which C
// implementations would truncate).
func readString(s *cryptobyte.String, p *string) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.GeneralString) || len(v) > maxNameLength || bytes.IndexByte(v, 0) >= 0 {
		return false
	}
	*p = string(v)
	return true
}

func stringReader(p *string) reader {
	return func(s *cryptobyte.String) bool { return readString(s, p) }
}

// readText reads a KerberosString of free text (e-text), of at most 4
// KiB.
func readText(s *cryptobyte.String, p *string) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.GeneralString) || len(v) > 4096 {
		return false
	}
	*p = string(v)
	return true
}

func textReader(p *string) reader {
	return func(s *cryptobyte.String) bool { return readText(s, p) }
}

// readOctets reads an OCTET STRING of at most max bytes (a copy).
func readOctets(s *cryptobyte.String, p *[]byte, max int) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.OCTET_STRING) || len(v) > max {
		return false
	}
	*p = append([]byte{}, v...)
	return true
}

func octetsReader(p *[]byte, max int) reader {
	return func(s *cryptobyte.String) bool { return readOctets(s, p, max) }
}

// readTime reads a KerberosTime: GeneralizedTime of the exact form
// YYYYMMDDHHMMSSZ (RFC 4120 5.2.3).
func readTime(s *cryptobyte.String, p *time.Time) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.GeneralizedTime) || len(v) != 15 || v[14] != 'Z' {
		return false
	}
	t, ok := parseKerberosTime(v)
	if !ok {
		return false
	}
	*p = t
	return true
}

func timeReader(p *time.Time) reader {
	return func(s *cryptobyte.String) bool { return readTime(s, p) }
}

// parseKerberosTime parses YYYYMMDDHHMMSSZ as
// time.Parse("20060102150405Z", v) does (digits only; month, day, hour,
// minute and second in range, the day in its month), without its cost.
func parseKerberosTime(v []byte) (time.Time, bool) {
	if len(v) != 15 || v[14] != 'Z' {
		return time.Time{}, false
	}
	var d [7]int // year, month, day, hour, minute, second
	for i, c := range v[:14] {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		k := 0
		if i >= 4 {
			k = (i-4)/2 + 1
		}
		d[k] = d[k]*10 + int(c-'0')
	}
	year, month, day, hour, minute, sec := d[0], d[1], d[2], d[3], d[4], d[5]
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	if day > days {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

// readFlags reads KerberosFlags (RFC 4120 5.2.8): a BIT STRING whose
// bit 0 is the most significant bit of the result. Bits past 31 are
// ignored, missing bits are zero (some encoders send fewer than 32).
func readFlags(s *cryptobyte.String, p *uint32) bool {
	var bs asn1.BitString
	if !s.ReadASN1BitString(&bs) {
		return false
	}
	var v uint32
	for i := 0; i < 32 && i < bs.BitLength; i++ {
		if bs.At(i) != 0 {
			v |= 1 << (31 - i)
		}
	}
	*p = v
	return true
}

func flagsReader(p *uint32) reader {
	return func(s *cryptobyte.String) bool { return readFlags(s, p) }
}

// readMicroseconds reads Microseconds (RFC 4120 5.2.4: 0..999999).
func readMicroseconds(s *cryptobyte.String, p *int32) bool {
	return readInt32(s, p) && *p >= 0 && *p <= 999999
}

func microsecondsReader(p *int32) reader {
	return func(s *cryptobyte.String) bool { return readMicroseconds(s, p) }
}

// readIntEquals reads an INTEGER that must have the value want (pvno,
// msg-type).
func readIntEquals(s *cryptobyte.String, want int64) bool {
	var v int64
	return s.ReadASN1Integer(&v) && v == want
}

func intEquals(want int64) reader {
	return func(s *cryptobyte.String) bool { return readIntEquals(s, want) }
}

// fieldContents reads the field [n] of s, returning its contents.
func fieldContents(s *cryptobyte.String, n uint8) (cryptobyte.String, bool) {
	var f cryptobyte.String
	ok := s.ReadASN1(&f, ctxTag(n))
	return f, ok
}

// optContents reads the OPTIONAL field [n] of s, returning its contents
// and whether it is present (also in *present, if not nil).
func optContents(s *cryptobyte.String, n uint8, present *bool) (f cryptobyte.String, has, ok bool) {
	ok = s.ReadOptionalASN1(&f, &has, ctxTag(n))
	if ok && present != nil {
		*present = has
	}
	return f, has, ok
}

func fieldInt32(s *cryptobyte.String, n uint8, p *int32) bool {
	f, ok := fieldContents(s, n)
	return ok && readInt32(&f, p) && f.Empty()
}

func fieldUint32(s *cryptobyte.String, n uint8, p *uint32) bool {
	f, ok := fieldContents(s, n)
	return ok && readUint32(&f, p) && f.Empty()
}

func fieldString(s *cryptobyte.String, n uint8, p *string) bool {
	f, ok := fieldContents(s, n)
	return ok && readString(&f, p) && f.Empty()
}

func fieldOctets(s *cryptobyte.String, n uint8, p *[]byte, max int) bool {
	f, ok := fieldContents(s, n)
	return ok && readOctets(&f, p, max) && f.Empty()
}

func fieldTime(s *cryptobyte.String, n uint8, p *time.Time) bool {
	f, ok := fieldContents(s, n)
	return ok && readTime(&f, p) && f.Empty()
}

func fieldFlags(s *cryptobyte.String, n uint8, p *uint32) bool {
	f, ok := fieldContents(s, n)
	return ok && readFlags(&f, p) && f.Empty()
}

func fieldMicroseconds(s *cryptobyte.String, n uint8, p *int32) bool {
	f, ok := fieldContents(s, n)
	return ok && readMicroseconds(&f, p) && f.Empty()
}

func fieldIntEquals(s *cryptobyte.String, n uint8, want int64) bool {
	f, ok := fieldContents(s, n)
	return ok && readIntEquals(&f, want) && f.Empty()
}

func optUint32(s *cryptobyte.String, n uint8, present *bool, p *uint32) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readUint32(&f, p) && f.Empty()))
}

func optString(s *cryptobyte.String, n uint8, present *bool, p *string) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readString(&f, p) && f.Empty()))
}

func optText(s *cryptobyte.String, n uint8, present *bool, p *string) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readText(&f, p) && f.Empty()))
}

func optOctets(s *cryptobyte.String, n uint8, present *bool, p *[]byte, max int) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readOctets(&f, p, max) && f.Empty()))
}

func optTime(s *cryptobyte.String, n uint8, present *bool, p *time.Time) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readTime(&f, p) && f.Empty()))
}

func optFlags(s *cryptobyte.String, n uint8, present *bool, p *uint32) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readFlags(&f, p) && f.Empty()))
}

func optMicroseconds(s *cryptobyte.String, n uint8, present *bool, p *int32) bool {
	f, has, ok := optContents(s, n, present)
	return ok && (!has || (readMicroseconds(&f, p) && f.Empty()))
}

// principalNameReader reads a PrincipalName (RFC 4120 5.2.2) into p,
// leaving p.Realm alone.
func principalNameReader(p *Principal) reader {
	return sequence(func(s *cryptobyte.String) bool {
		var t int32
		p.Components = make([]string, 0, 2)
		if !fieldInt32(s, 0, &t) || !field(s, 1, sequenceOf(maxNameComponents, func(q *cryptobyte.String) bool {
			var c string
			if !readString(q, &c) {
				return false
			}
			p.Components = append(p.Components, c)
			return true
		})) {
			return false
		}
		p.Type = NameType(t)
		return len(p.Components) > 0
	})
}

// Builders.

// builder is a DER encoder with the few methods of cryptobyte.Builder
// that the messages use, for the same encoding: an element's contents
// are written in place after its tag and a one-byte length, which is
// widened (the contents moved) when the element is done, if it is 128
// bytes or longer. Unlike cryptobyte's, it allocates nothing per element
// (only its buffer grows), which matters on the handshake's path.
type builder struct {
	b []byte
}

// newBuilder returns a builder whose buffer holds n bytes before it grows.
func newBuilder(n int) *builder { return &builder{b: make([]byte, 0, n)} }

// AddASN1 appends an element of tag whose contents f writes. Tags are
// single-byte (numbers below 31), as every tag of RFC 4120 is.
func (b *builder) AddASN1(tag cbasn1.Tag, f func(*builder)) {
	b.b = append(b.b, byte(tag), 0)
	start := len(b.b)
	f(b)
	n := len(b.b) - start
	if n < 0x80 {
		b.b[start-1] = byte(n)
		return
	}
	// The long form: 0x80|l, then n in l bytes, big-endian, minimal.
	l := 0
	for v := n; v > 0; v >>= 8 {
		l++
	}
	var pad [8]byte
	b.b = append(b.b, pad[:l]...)
	copy(b.b[start+l:], b.b[start:start+n])
	b.b[start-1] = 0x80 | byte(l)
	for i := range l {
		b.b[start+i] = byte(n >> (8 * (l - 1 - i)))
	}
}

// AddBytes appends v as it is.
func (b *builder) AddBytes(v []byte) { b.b = append(b.b, v...) }

// AddASN1Int64 appends an INTEGER in its minimal two's complement form.
func (b *builder) AddASN1Int64(v int64) {
	l := 1
	for i := v; i >= 0x80 || i < -0x80; i >>= 8 {
		l++
	}
	b.b = append(b.b, byte(cbasn1.INTEGER), byte(l))
	for ; l > 0; l-- {
		b.b = append(b.b, byte(v>>(8*(l-1))))
	}
}

// AddASN1OctetString appends an OCTET STRING.
func (b *builder) AddASN1OctetString(v []byte) {
	b.AddASN1(cbasn1.OCTET_STRING, func(b *builder) { b.AddBytes(v) })
}

// BytesOrPanic returns the encoding (the name is cryptobyte's; it never
// panics).
func (b *builder) BytesOrPanic() []byte { return b.b }

func addField(b *builder, n uint8, f func(*builder)) {
	b.AddASN1(ctxTag(n), f)
}

func addInt(b *builder, v int64) { b.AddASN1Int64(v) }

func addString(b *builder, s string) {
	b.AddASN1(cbasn1.GeneralString, func(b *builder) { b.b = append(b.b, s...) })
}

func addOctets(b *builder, v []byte) { b.AddASN1OctetString(v) }

func addTime(b *builder, t time.Time) {
	b.AddASN1(cbasn1.GeneralizedTime, func(b *builder) { b.b = appendKerberosTime(b.b, t) })
}

// appendKerberosTime appends t as KerberosTime's YYYYMMDDHHMMSSZ, in UTC,
// as t.UTC().Format("20060102150405Z") does, without allocating.
func appendKerberosTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return append(dst, t.Format("20060102150405Z")...)
	}
	hour, minute, sec := t.Clock()
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10))
	for _, v := range [...]int{int(month), day, hour, minute, sec} {
		dst = append(dst, byte('0'+v/10), byte('0'+v%10))
	}
	return append(dst, 'Z')
}

// addFlags writes KerberosFlags as 32 bits, as MIT does.
func addFlags(b *builder, v uint32) {
	b.AddASN1(cbasn1.BIT_STRING, func(b *builder) {
		b.AddBytes([]byte{0, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	})
}

func addPrincipalName(b *builder, p Principal) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
		addField(b, 0, func(b *builder) { addInt(b, int64(p.Type)) })
		addField(b, 1, func(b *builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
				for _, c := range p.Components {
					addString(b, c)
				}
			})
		})
	})
}

func addApplication(b *builder, n uint8, f func(*builder)) {
	b.AddASN1(appTag(n), func(b *builder) { b.AddASN1(cbasn1.SEQUENCE, f) })
}
