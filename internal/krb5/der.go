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
	return s.ReadASN1(&f, ctxTag(n)) && r(&f) && f.Empty()
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
	return !ok || (r(&f) && f.Empty())
}

// sequence reads a SEQUENCE whose contents r reads completely.
func sequence(r reader) reader {
	return func(s *cryptobyte.String) bool {
		var q cryptobyte.String
		return s.ReadASN1(&q, cbasn1.SEQUENCE) && r(&q) && q.Empty()
	}
}

// application reads an APPLICATION [n] wrapping one value read by r.
func application(n uint8, r reader) reader {
	return func(s *cryptobyte.String) bool {
		var q cryptobyte.String
		return s.ReadASN1(&q, appTag(n)) && r(&q) && q.Empty()
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
		for n := 0; !q.Empty(); n++ {
			if n == max || !each(&q) {
				return false
			}
		}
		return true
	}
}

func int32Reader(p *int32) reader {
	return func(s *cryptobyte.String) bool { return s.ReadASN1Integer(p) }
}

// uint32Reader reads a UInt32 (RFC 4120 5.2.4). Some implementations
// encode values of 2^31 and above as negative INTEGERs (sequence numbers
// in particular); like MIT, accept those and keep the low 32 bits.
func uint32Reader(p *uint32) reader {
	return func(s *cryptobyte.String) bool {
		var v int64
		if !s.ReadASN1Integer(&v) || v < -(1<<31) || v > 1<<32-1 {
			return false
		}
		*p = uint32(v)
		return true
	}
}

// stringReader reads a KerberosString or Realm: a GeneralString (RFC 4120
// 5.2.1) of at most maxNameLength bytes without NUL (which C
// implementations would truncate).
func stringReader(p *string) reader {
	return func(s *cryptobyte.String) bool {
		var v cryptobyte.String
		if !s.ReadASN1(&v, cbasn1.GeneralString) || len(v) > maxNameLength || bytes.IndexByte(v, 0) >= 0 {
			return false
		}
		*p = string(v)
		return true
	}
}

// octetsReader reads an OCTET STRING of at most max bytes (a copy).
func octetsReader(p *[]byte, max int) reader {
	return func(s *cryptobyte.String) bool {
		var v cryptobyte.String
		if !s.ReadASN1(&v, cbasn1.OCTET_STRING) || len(v) > max {
			return false
		}
		*p = append([]byte{}, v...)
		return true
	}
}

// timeReader reads a KerberosTime: GeneralizedTime of the exact form
// YYYYMMDDHHMMSSZ (RFC 4120 5.2.3).
func timeReader(p *time.Time) reader {
	return func(s *cryptobyte.String) bool {
		var v cryptobyte.String
		if !s.ReadASN1(&v, cbasn1.GeneralizedTime) || len(v) != 15 || v[14] != 'Z' {
			return false
		}
		for _, c := range v[:14] {
			if c < '0' || c > '9' {
				return false
			}
		}
		t, err := time.Parse("20060102150405Z", string(v))
		if err != nil {
			return false
		}
		*p = t
		return true
	}
}

// flagsReader reads KerberosFlags (RFC 4120 5.2.8): a BIT STRING whose
// bit 0 is the most significant bit of the result. Bits past 31 are
// ignored, missing bits are zero (some encoders send fewer than 32).
func flagsReader(p *uint32) reader {
	return func(s *cryptobyte.String) bool {
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
}

// principalNameReader reads a PrincipalName (RFC 4120 5.2.2) into p,
// leaving p.Realm alone.
func principalNameReader(p *Principal) reader {
	return sequence(func(s *cryptobyte.String) bool {
		var t int32
		p.Components = nil
		if !field(s, 0, int32Reader(&t)) || !field(s, 1, sequenceOf(maxNameComponents, func(q *cryptobyte.String) bool {
			var c string
			if !stringReader(&c)(q) {
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

func addField(b *cryptobyte.Builder, n uint8, f cryptobyte.BuilderContinuation) {
	b.AddASN1(ctxTag(n), f)
}

func addInt(b *cryptobyte.Builder, v int64) { b.AddASN1Int64(v) }

func addString(b *cryptobyte.Builder, s string) {
	b.AddASN1(cbasn1.GeneralString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addOctets(b *cryptobyte.Builder, v []byte) { b.AddASN1OctetString(v) }

func addTime(b *cryptobyte.Builder, t time.Time) {
	b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
		b.AddBytes([]byte(t.UTC().Format("20060102150405Z")))
	})
}

// addFlags writes KerberosFlags as 32 bits, as MIT does.
func addFlags(b *cryptobyte.Builder, v uint32) {
	b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
		b.AddBytes([]byte{0, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	})
}

func addPrincipalName(b *cryptobyte.Builder, p Principal) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addField(b, 0, func(b *cryptobyte.Builder) { addInt(b, int64(p.Type)) })
		addField(b, 1, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, c := range p.Components {
					addString(b, c)
				}
			})
		})
	})
}

func addApplication(b *cryptobyte.Builder, n uint8, f cryptobyte.BuilderContinuation) {
	b.AddASN1(appTag(n), func(b *cryptobyte.Builder) { b.AddASN1(cbasn1.SEQUENCE, f) })
}
