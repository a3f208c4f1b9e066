package lsarpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// A small CBOR encoder and decoder (RFC 8949) for the frame envelope and
// the messages of a handshake, which every call carries: the reflection
// of a general CBOR library costs more than the socket round trip. The
// other messages use github.com/fxamacker/cbor (encMode, decMode). Both
// write the same bytes: the golden frames pin them, and
// TestCodecAgreesWithLibrary and FuzzCodec check that either decodes what
// the other does, to the same values.
//
// The decoder keeps decMode's limits: no indefinite lengths, at most 16
// levels of nesting, 4096 array elements and 256 map pairs, valid UTF-8,
// no duplicate map keys, and nothing after the item. Null (or undefined)
// where a value is expected means the zero value, as it does for decMode.

// CBOR major types.
const (
	majorUint   = 0
	majorNegint = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

const (
	cborFalse = 0xf4
	cborTrue  = 0xf5
	cborNull  = 0xf6
	cborUndef = 0xf7

	maxNesting  = 16
	maxArray    = 4096
	maxMapPairs = 256
)

// appendHead appends an item's initial byte and argument, in the
// shortest form (RFC 8949 4.2.1).
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, majorText, uint64(len(s))), s...)
}
func appendBytes(b []byte, p []byte) []byte {
	return append(appendHead(b, majorBytes, uint64(len(p))), p...)
}

// appendInt appends a signed integer.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, majorNegint, uint64(-1-v))
	}
	return appendHead(b, majorUint, uint64(v))
}

// appendTime appends tag 0 and the RFC 3339 text of t in UTC, as encMode
// does (TimeRFC3339NanoUTC).
func appendTime(b []byte, t time.Time) []byte {
	var buf [48]byte
	s := t.UTC().AppendFormat(buf[:0], time.RFC3339Nano)
	b = append(b, majorTag<<5|0)
	return append(appendHead(b, majorText, uint64(len(s))), s...)
}

// mapBuilder writes a map whose pairs are counted as they are added: the
// callers add them in the order of their encoded keys (RFC 8949 4.2.1:
// shorter keys first, then bytewise), and leave zero values out.
type mapBuilder struct {
	b  []byte
	at int // the head byte
	n  byte
}

func beginMap(b []byte) mapBuilder { return mapBuilder{b: append(b, majorMap<<5), at: len(b)} }

// end returns the encoding; every map here has fewer than 24 pairs, so
// its head is one byte.
func (m *mapBuilder) end() []byte {
	m.b[m.at] = majorMap<<5 | m.n
	return m.b
}

func (m *mapBuilder) key(k string) { m.n++; m.b = appendText(m.b, k) }

func (m *mapBuilder) uint(k string, v uint64) {
	if v != 0 {
		m.key(k)
		m.b = appendHead(m.b, majorUint, v)
	}
}

func (m *mapBuilder) int(k string, v int64) {
	if v != 0 {
		m.key(k)
		m.b = appendInt(m.b, v)
	}
}

func (m *mapBuilder) text(k, v string) {
	if v != "" {
		m.key(k)
		m.b = appendText(m.b, v)
	}
}

// bytes adds a byte string unless it is nil (an empty one is not a zero
// value: omitzero, as encMode's).
func (m *mapBuilder) bytes(k string, v []byte) {
	if v != nil {
		m.key(k)
		m.b = appendBytes(m.b, v)
	}
}

func (m *mapBuilder) bool(k string, v bool) {
	if v {
		m.key(k)
		m.b = append(m.b, cborTrue)
	}
}

func (m *mapBuilder) time(k string, v time.Time) {
	if !v.IsZero() {
		m.key(k)
		m.b = appendTime(m.b, v)
	}
}

// value adds a nested value that has its own encoding, unless empty
// (appendTo added nothing but an empty map's head).
func (m *mapBuilder) value(k string, appendTo func([]byte) []byte) {
	n := len(m.b)
	m.key(k)
	body := len(m.b)
	m.b = appendTo(m.b)
	if len(m.b) == body+1 && m.b[body] == majorMap<<5 {
		m.b, m.n = m.b[:n], m.n-1 // an empty map is a zero value: omitted
	}
}

// decoder reads CBOR items from b.
type decoder struct {
	b     []byte
	depth int
}

// errCBOR marks malformed input.
var errCBOR = errors.New("lsarpc: malformed CBOR")

func cborError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errCBOR}, args...)...)
}

// end checks that nothing follows the item.
func (d *decoder) end() error {
	if len(d.b) != 0 {
		return cborError("%d bytes after the item", len(d.b))
	}
	return nil
}

// head reads an initial byte and its argument; indefinite lengths and
// reserved values are refused.
func (d *decoder) head() (major byte, arg uint64, err error) {
	if len(d.b) == 0 {
		return 0, 0, cborError("unexpected end")
	}
	ib := d.b[0]
	major, ai := ib>>5, ib&31
	n := 1
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai == 24:
		n = 2
	case ai == 25:
		n = 3
	case ai == 26:
		n = 5
	case ai == 27:
		n = 9
	default:
		return 0, 0, cborError("indefinite length or reserved value 0x%02x", ib)
	}
	if len(d.b) < n {
		return 0, 0, cborError("unexpected end")
	}
	switch n {
	case 2:
		arg = uint64(d.b[1])
		if major == majorSimple && arg < 32 {
			return 0, 0, cborError("simple value %d in two bytes", arg)
		}
	case 3:
		arg = uint64(binary.BigEndian.Uint16(d.b[1:]))
	case 5:
		arg = uint64(binary.BigEndian.Uint32(d.b[1:]))
	case 9:
		arg = binary.BigEndian.Uint64(d.b[1:])
	}
	d.b = d.b[n:]
	return major, arg, nil
}

// null consumes a null or undefined, if one is next.
func (d *decoder) null() bool {
	if len(d.b) > 0 && (d.b[0] == cborNull || d.b[0] == cborUndef) {
		d.b = d.b[1:]
		return true
	}
	return false
}

func typeError(want string, major byte) error {
	return cborError("%s where %s belongs", [...]string{"an unsigned integer", "a negative integer", "a byte string", "a text string", "an array", "a map", "a tag", "a simple value or float"}[major], want)
}

func (d *decoder) uint64() (uint64, error) {
	if d.null() {
		return 0, nil
	}
	major, arg, err := d.head()
	if err == nil && major != majorUint {
		err = typeError("an unsigned integer", major)
	}
	return arg, err
}

// uint reads an unsigned integer of at most max.
func (d *decoder) uint(max uint64) (uint64, error) {
	v, err := d.uint64()
	if err == nil && v > max {
		err = cborError("%d overflows its field", v)
	}
	return v, err
}

func (d *decoder) uint32() (uint32, error) { v, err := d.uint(math.MaxUint32); return uint32(v), err }

func (d *decoder) int64() (int64, error) {
	if d.null() {
		return 0, nil
	}
	major, arg, err := d.head()
	switch {
	case err != nil:
		return 0, err
	case major != majorUint && major != majorNegint:
		return 0, typeError("an integer", major)
	case arg > math.MaxInt64:
		return 0, cborError("integer overflows its field")
	case major == majorNegint:
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

func (d *decoder) bool() (bool, error) {
	if d.null() {
		return false, nil
	}
	if len(d.b) > 0 && (d.b[0] == cborFalse || d.b[0] == cborTrue) {
		v := d.b[0] == cborTrue
		d.b = d.b[1:]
		return v, nil
	}
	major, _, err := d.head()
	if err == nil {
		err = typeError("a boolean", major)
	}
	return false, err
}

// str reads the content of a byte or text string, without copying.
func (d *decoder) str(want byte) ([]byte, error) {
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != want {
		return nil, typeError([...]string{majorBytes: "a byte string", majorText: "a text string"}[want], major)
	}
	if n > uint64(len(d.b)) {
		return nil, cborError("string longer than the message")
	}
	s := d.b[:n]
	d.b = d.b[n:]
	if want == majorText && !utf8.Valid(s) {
		return nil, cborError("text string is not UTF-8")
	}
	return s, nil
}

func (d *decoder) text() (string, error) {
	if d.null() {
		return "", nil
	}
	s, err := d.str(majorText)
	return string(s), err
}

// bytes reads a byte string into a slice of its own.
func (d *decoder) bytes() ([]byte, error) {
	if d.null() {
		return nil, nil
	}
	s, err := d.str(majorBytes)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(s)), s...), nil
}

// time reads a time: tag 0 and RFC 3339 text, or tag 1 and seconds since
// the epoch (an integer).
func (d *decoder) time() (time.Time, error) {
	if d.null() {
		return time.Time{}, nil
	}
	major, tag, err := d.head()
	if err != nil {
		return time.Time{}, err
	}
	if major != majorTag || tag > 1 {
		return time.Time{}, cborError("a time without tag 0 or 1")
	}
	if tag == 1 {
		secs, err := d.int64()
		return time.Unix(secs, 0), err
	}
	s, err := d.str(majorText)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return time.Time{}, cborError("bad time %s", strconv.Quote(string(s)))
	}
	return t, nil
}

// mapLen reads a map's head (null: an empty map).
func (d *decoder) mapLen() (int, error) {
	if d.null() {
		return 0, nil
	}
	major, n, err := d.head()
	switch {
	case err != nil:
		return 0, err
	case major != majorMap:
		return 0, typeError("a map", major)
	case n > maxMapPairs:
		return 0, cborError("map of %d pairs", n)
	}
	return int(n), nil
}

// arrayLen reads an array's head (null: an empty array).
func (d *decoder) arrayLen() (int, error) {
	if d.null() {
		return 0, nil
	}
	major, n, err := d.head()
	switch {
	case err != nil:
		return 0, err
	case major != majorArray:
		return 0, typeError("an array", major)
	case n > maxArray:
		return 0, cborError("array of %d elements", n)
	}
	return int(n), nil
}

// mapReader reads the pairs of a map: next reads each key (a view into
// the input) and refuses duplicates; the caller reads or skips the value.
//
//	m, err := d.beginMap()
//	for k := m.next(&err); k != nil; k = m.next(&err) {
//		switch string(k) { … default: err = d.skip() }
//	}
//	return m.end(err)
//
// It remembers keys as offsets into the input, not as slices: writing
// pointers would cost a write barrier each while the collector runs.
type mapReader struct {
	d    *decoder
	base []byte // the input from the map on
	left int
	last span // the last key
	seen [16]span
	more []span // keys beyond seen
	n    int
}

// span is a part of mapReader.base.
type span struct{ off, n uint32 }

func (d *decoder) beginMap() (mapReader, error) {
	n, err := d.mapLen()
	if err != nil {
		return mapReader{}, err
	}
	if d.depth++; d.depth > maxNesting {
		d.depth--
		return mapReader{}, cborError("nested deeper than %d", maxNesting)
	}
	return mapReader{d: d, base: d.b, left: n}, nil
}

func (m *mapReader) bytes(s span) []byte { return m.base[s.off : s.off+s.n] }

// next reads the next key; it returns nil at the end of the map, after
// an error (which it stores in *err), or when *err is already set.
func (m *mapReader) next(err *error) []byte {
	if m.left == 0 || *err != nil {
		return nil
	}
	m.left--
	k, e := m.d.str(majorText)
	if e != nil {
		*err = e
		return nil
	}
	ks := span{uint32(cap(m.base) - cap(k)), uint32(len(k))}
	for i := range m.n {
		s := ks
		if i < len(m.seen) {
			s = m.seen[i]
		} else {
			s = m.more[i-len(m.seen)]
		}
		if string(m.bytes(s)) == string(k) {
			*err = cborError("duplicate key %q", k)
			return nil
		}
	}
	if m.n < len(m.seen) {
		m.seen[m.n] = ks
	} else {
		m.more = append(m.more, ks)
	}
	m.n++
	m.last = ks
	return k
}

// end finishes the map; an error gets the key it was read under.
func (m *mapReader) end(err error) error {
	if m.d != nil {
		m.d.depth--
	}
	if err == nil || m.n == 0 {
		return err
	}
	key := string(m.bytes(m.last))
	if fe, ok := err.(*fieldError); ok {
		fe.path = key + "." + fe.path
		return fe
	}
	return &fieldError{path: key, err: err}
}

// fieldError is an error in the value of a key (path: "attributes.start").
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// skip passes over one well-formed item.
func (d *decoder) skip() error {
	major, arg, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case majorBytes, majorText:
		if arg > uint64(len(d.b)) {
			return cborError("string longer than the message")
		}
		if major == majorText && !utf8.Valid(d.b[:arg]) {
			return cborError("text string is not UTF-8")
		}
		d.b = d.b[arg:]
	case majorArray, majorMap, majorTag:
		if d.depth++; d.depth > maxNesting {
			return cborError("nested deeper than %d", maxNesting)
		}
		defer func() { d.depth-- }()
		items := arg
		switch major {
		case majorArray:
			if arg > maxArray {
				return cborError("array of %d elements", arg)
			}
		case majorMap:
			if arg > maxMapPairs {
				return cborError("map of %d pairs", arg)
			}
			items = 2 * arg
		case majorTag:
			items = 1
		}
		if items > uint64(len(d.b)) {
			return cborError("more items than bytes")
		}
		for range items {
			if err := d.skip(); err != nil {
				return err
			}
		}
	}
	return nil
}

// raw passes over one item and returns its bytes (a view into the input),
// or nil for null, which stands for no item.
func (d *decoder) raw() ([]byte, error) {
	if d.null() {
		return nil, nil
	}
	start := d.b
	if err := d.skip(); err != nil {
		return nil, err
	}
	return start[:len(start)-len(d.b)], nil
}
