package lsarpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var errFrameTooLarge = errors.New("lsarpc: frame exceeds the size limit")

// readFrame reads one length-prefixed frame of at most max bytes. The
// length is checked before anything is allocated, and the buffer grows as
// the bytes arrive: a header that declares much costs little until the
// bytes come.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, err := frameLen(hdr[:], max)
	if err != nil {
		return nil, err
	}
	return readBody(r, n)
}

// frameLen checks a frame header.
func frameLen(hdr []byte, max int) (int, error) {
	n := binary.BigEndian.Uint32(hdr)
	if n == 0 || uint64(n) > uint64(max) {
		return 0, fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	return int(n), nil
}

// readBody reads n bytes into a buffer that starts at 64 KiB at most and
// at most doubles with what has arrived.
func readBody(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, 64<<10))
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*cap(b)))
			copy(nb, b)
			b = nb
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil && len(b) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return b, nil
}

// marshalFrame encodes v as a frame.
func marshalFrame(v any) ([]byte, error) {
	body, err := encMode.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxFrame {
		return nil, errFrameTooLarge
	}
	b := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(b, uint32(len(body)))
	return append(b, body...), nil
}
