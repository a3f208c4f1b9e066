package lsarpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// framePool holds buffers for frames being written; buffers that grew
// past 64 KiB are not kept.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func putFrame(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		framePool.Put(bp)
	}
}

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

// appendFrameStart reserves a frame's length prefix; endFrame fills it in
// once the payload (from start+4 on) is written.
func appendFrameStart(b []byte) ([]byte, int) { return append(b, 0, 0, 0, 0), len(b) }

func endFrame(b []byte, start int) ([]byte, error) {
	n := len(b) - start - 4
	if n > MaxFrame {
		return b[:start], errFrameTooLarge
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

// appendRequest appends the frame of a request (the hand-written form of
// marshalFrame(&request{…}): the same bytes). A nil body is left out.
func appendRequest(b []byte, id uint64, op string, noReply bool, body any) ([]byte, error) {
	b, start := appendFrameStart(b)
	m := beginMap(b)
	m.key("id")
	m.b = appendHead(m.b, majorUint, id)
	m.key("op")
	m.b = appendText(m.b, op)
	if body != nil {
		m.key("body")
		var err error
		if m.b, err = appendBody(m.b, body); err != nil {
			return b[:start], err
		}
	}
	m.bool("noreply", noReply)
	return endFrame(m.end(), start)
}

// appendReply appends the frame of a reply: an error, or a body (nil for
// none).
func appendReply(b []byte, id uint64, werr *wireError, body any) ([]byte, error) {
	b, start := appendFrameStart(b)
	m := beginMap(b)
	m.key("id")
	m.b = appendHead(m.b, majorUint, id)
	if werr != nil {
		m.key("err")
		e := beginMap(m.b)
		e.text("msg", werr.Msg)
		e.key("status")
		e.b = appendHead(e.b, majorUint, uint64(werr.Status))
		m.b = e.end()
	}
	if body != nil {
		m.key("body")
		var err error
		if m.b, err = appendBody(m.b, body); err != nil {
			return b[:start], err
		}
	}
	return endFrame(m.end(), start)
}

// parseRequest decodes a request frame's payload; the body is a view into
// b.
func parseRequest(b []byte) (*request, error) {
	req := new(request)
	d := decoder{b: b}
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "id":
			req.ID, err = d.uint64()
		case "op":
			req.Op, err = d.text()
		case "body":
			req.Body, err = d.raw()
		case "noreply":
			req.NoReply, err = d.bool()
		default:
			err = d.skip()
		}
	}
	err = m.end(err)
	if err == nil {
		err = d.end()
	}
	return req, err
}

func (w *wireError) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "msg":
			w.Msg, err = d.text()
		case "status":
			w.Status, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

// parseReply decodes a reply frame's payload; the body is a view into b.
func parseReply(b []byte) (*reply, error) {
	r := new(reply)
	return r, r.parse(b)
}

// parse decodes a reply frame's payload into r; the body is a view into b.
func (r *reply) parse(b []byte) error {
	d := decoder{b: b}
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "id":
			r.ID, err = d.uint64()
		case "err":
			if d.null() {
				continue
			}
			r.Err = new(wireError)
			err = r.Err.decodeCBOR(&d)
		case "body":
			r.Body, err = d.raw()
		default:
			err = d.skip()
		}
	}
	err = m.end(err)
	if err == nil {
		err = d.end()
	}
	return err
}
