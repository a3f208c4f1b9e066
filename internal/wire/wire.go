// Package wire reads and builds the little-endian structures of NTLM
// (MS-NLMP) and similar Windows protocols. It is shaped like
// golang.org/x/crypto/cryptobyte, which is big-endian only: a [String] is
// an input cursor whose Read methods consume bytes and report success, and
// a [Builder] appends fields and remembers the first error.
//
// NTLM messages are a fixed header followed by a payload area that the
// header points into with "security buffers" (a 16-bit length, a 16-bit
// maximum length and a 32-bit offset from the start of the message,
// MS-NLMP 2.2.1). [String.ReadSecurityBuffer] reads one, [SecurityBuffer.Field]
// resolves it against the message with overflow-free bounds checks, and
// [Builder.AddSecurityBuffer] / [Builder.SetPayload] lay them out when
// building.
package wire

import (
	"encoding/binary"
	"errors"
)

// String is a little-endian input cursor over a byte slice. Read methods
// advance the cursor on success and leave it unchanged on failure.
type String []byte

// read consumes n bytes, or returns nil if fewer are left.
func (s *String) read(n int) []byte {
	if n < 0 || len(*s) < n {
		return nil
	}
	v := (*s)[:n:n]
	*s = (*s)[n:]
	return v
}

// Skip consumes n bytes.
func (s *String) Skip(n int) bool { return s.read(n) != nil }

// Empty reports whether no bytes are left.
func (s *String) Empty() bool { return len(*s) == 0 }

// Len returns the number of bytes left.
func (s *String) Len() int { return len(*s) }

// ReadUint8 consumes one byte into out.
func (s *String) ReadUint8(out *uint8) bool {
	v := s.read(1)
	if v == nil {
		return false
	}
	*out = v[0]
	return true
}

// ReadUint16 consumes a little-endian uint16 into out.
func (s *String) ReadUint16(out *uint16) bool {
	v := s.read(2)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint16(v)
	return true
}

// ReadUint32 consumes a little-endian uint32 into out.
func (s *String) ReadUint32(out *uint32) bool {
	v := s.read(4)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint32(v)
	return true
}

// ReadUint64 consumes a little-endian uint64 into out.
func (s *String) ReadUint64(out *uint64) bool {
	v := s.read(8)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint64(v)
	return true
}

// ReadBytes sets out to the next n bytes, without copying, and consumes
// them. The result has no spare capacity, so appending to it cannot
// overwrite the input.
func (s *String) ReadBytes(out *[]byte, n int) bool {
	v := s.read(n)
	if v == nil {
		return false
	}
	*out = v
	return true
}

// CopyBytes fills out with the next len(out) bytes and consumes them.
func (s *String) CopyBytes(out []byte) bool {
	v := s.read(len(out))
	if v == nil {
		return false
	}
	copy(out, v)
	return true
}

// SecurityBuffer is the 8-byte descriptor NTLM uses for a variable field
// (MS-NLMP 2.2.1, e.g. DomainNameFields): where the field lies in the
// message's payload.
type SecurityBuffer struct {
	Len    uint16 // DomainNameLen: length of the field in bytes
	MaxLen uint16 // DomainNameMaxLen: SHOULD equal Len, MUST be ignored on receipt
	Offset uint32 // DomainNameBufferOffset: from the start of the message
}

// SecurityBufferSize is the size of a security buffer on the wire.
const SecurityBufferSize = 8

// ReadSecurityBuffer consumes a security buffer descriptor into out.
func (s *String) ReadSecurityBuffer(out *SecurityBuffer) bool {
	v := s.read(SecurityBufferSize)
	if v == nil {
		return false
	}
	out.Len = binary.LittleEndian.Uint16(v[0:])
	out.MaxLen = binary.LittleEndian.Uint16(v[2:])
	out.Offset = binary.LittleEndian.Uint32(v[4:])
	return true
}

// End returns the offset just past the field, computed in 64 bits so that
// no offset and length can wrap around.
func (f SecurityBuffer) End() uint64 { return uint64(f.Offset) + uint64(f.Len) }

// Field returns the bytes f describes in msg, without copying. An empty
// field (Len 0) is nil whatever its offset, as receivers must ignore the
// offset of an empty field. A non-empty field must start at or after
// payloadStart (it may not overlap the fixed header) and end within msg.
func (f SecurityBuffer) Field(msg []byte, payloadStart int) ([]byte, bool) {
	if f.Len == 0 {
		return nil, true
	}
	if payloadStart < 0 || uint64(f.Offset) < uint64(payloadStart) || f.End() > uint64(len(msg)) {
		return nil, false
	}
	return msg[f.Offset:f.End():f.End()], true
}

// Builder errors.
var (
	ErrFieldTooLong   = errors.New("wire: security buffer field longer than 65535 bytes")
	ErrHeaderSize     = errors.New("wire: header size differs from the declared size")
	ErrMessageTooLong = errors.New("wire: message longer than 4 GiB")
)

// Builder appends little-endian fields to a byte slice. For messages with
// a payload area, [NewMessageBuilder] declares the size of the fixed
// header; security buffers added to the header then point into a payload
// that Bytes appends after it. The first error is sticky and reported by
// Bytes.
type Builder struct {
	buf        []byte
	payload    []byte
	headerSize int // declared size of the fixed header; -1 for a plain builder
	err        error
}

// NewBuilder returns a Builder that appends to buf (which may be nil).
func NewBuilder(buf []byte) *Builder {
	return &Builder{buf: buf[:0], headerSize: -1}
}

// NewMessageBuilder returns a Builder for a message whose fixed header is
// headerSize bytes long; payload fields are placed after it in the order
// SetPayload is called.
func NewMessageBuilder(headerSize, payloadHint int) *Builder {
	return &Builder{
		buf:        make([]byte, 0, headerSize+payloadHint),
		payload:    make([]byte, 0, payloadHint),
		headerSize: headerSize,
	}
}

// AddUint8 appends one byte.
func (b *Builder) AddUint8(v uint8) { b.buf = append(b.buf, v) }

// AddUint16 appends a little-endian uint16.
func (b *Builder) AddUint16(v uint16) { b.buf = binary.LittleEndian.AppendUint16(b.buf, v) }

// AddUint32 appends a little-endian uint32.
func (b *Builder) AddUint32(v uint32) { b.buf = binary.LittleEndian.AppendUint32(b.buf, v) }

// AddUint64 appends a little-endian uint64.
func (b *Builder) AddUint64(v uint64) { b.buf = binary.LittleEndian.AppendUint64(b.buf, v) }

// AddBytes appends v.
func (b *Builder) AddBytes(v []byte) { b.buf = append(b.buf, v...) }

// AddZeros appends n zero bytes.
func (b *Builder) AddZeros(n int) {
	for range n {
		b.buf = append(b.buf, 0)
	}
}

// Len returns the number of bytes appended to the header so far.
func (b *Builder) Len() int { return len(b.buf) }

// Slot names a security buffer reserved in the header by AddSecurityBuffer.
type Slot struct{ at int }

// AddSecurityBuffer reserves an 8-byte security buffer in the header, to
// be filled by SetPayload. A slot that is never filled stays all zero (an
// empty field at offset 0).
func (b *Builder) AddSecurityBuffer() Slot {
	s := Slot{at: len(b.buf)}
	b.buf = append(b.buf, make([]byte, SecurityBufferSize)...)
	return s
}

// SetPayload appends data to the payload area and points slot at it
// (Len = MaxLen = len(data)). An empty field points at the current end of
// the payload, as Windows does.
func (b *Builder) SetPayload(s Slot, data []byte) {
	if b.headerSize < 0 {
		b.setErr(ErrHeaderSize)
		return
	}
	if len(data) > 0xFFFF {
		b.setErr(ErrFieldTooLong)
		return
	}
	off := uint64(b.headerSize) + uint64(len(b.payload))
	if off+uint64(len(data)) > 0xFFFFFFFF {
		b.setErr(ErrMessageTooLong)
		return
	}
	if s.at < 0 || s.at+SecurityBufferSize > len(b.buf) {
		b.setErr(ErrHeaderSize)
		return
	}
	d := b.buf[s.at : s.at+SecurityBufferSize]
	binary.LittleEndian.PutUint16(d[0:], uint16(len(data)))
	binary.LittleEndian.PutUint16(d[2:], uint16(len(data)))
	binary.LittleEndian.PutUint32(d[4:], uint32(off))
	b.payload = append(b.payload, data...)
}

func (b *Builder) setErr(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Bytes returns the built message: the header followed, for a message
// builder, by the payload. It fails if an error occurred or the header is
// not the declared size.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.headerSize < 0 {
		return b.buf, nil
	}
	if len(b.buf) != b.headerSize {
		return nil, ErrHeaderSize
	}
	return append(b.buf, b.payload...), nil
}
