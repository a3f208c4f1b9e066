package sspinet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/opensspi/sspi"
)

// recordAEAD protects records with AES-256-GCM under keys derived from
// the context's session key (RecordsSessionKey, doc/sspinet.md):
//
//	key(direction) = HKDF-SHA256(secret = session key, salt = none,
//	                             info = "OpenSSPI sspinet v1 " + direction, 32 bytes)
//
// with direction "client to server" or "server to client". The nonce is
// four zero bytes and the record's 64-bit sequence number in that
// direction; the frame header is the additional data. A sequence number
// is never reused: the connection fails before it would wrap.
type recordAEAD struct {
	send, recv       cipher.AEAD
	sendSeq, recvSeq uint64
}

const (
	infoC2S = "OpenSSPI sspinet v1 client to server"
	infoS2C = "OpenSSPI sspinet v1 server to client"
)

func newRecordAEAD(ctx *sspi.Context, client bool) (*recordAEAD, error) {
	sk, err := ctx.SessionKey()
	if err != nil {
		return nil, fmt.Errorf("sspinet: session-key records need a session key: %w", err)
	}
	defer clear(sk)
	if len(sk) < 16 {
		return nil, fmt.Errorf("sspinet: session key of %d bytes is too short for session-key records", len(sk))
	}
	derive := func(info string) (cipher.AEAD, error) {
		key, err := hkdf.Key(sha256.New, sk, nil, info, 32)
		if err != nil {
			return nil, err
		}
		defer clear(key)
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	}
	out, in := infoC2S, infoS2C
	if !client {
		out, in = in, out
	}
	r := new(recordAEAD)
	if r.send, err = derive(out); err != nil {
		return nil, err
	}
	if r.recv, err = derive(in); err != nil {
		return nil, err
	}
	return r, nil
}

func nonce(seq uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n[:]
}

var errSeqExhausted = errors.New("sspinet: record sequence numbers exhausted")

// seal appends the sealed record to the frame header hdr, in place.
func (r *recordAEAD) seal(hdr []byte, content byte, data []byte) ([]byte, error) {
	if r.sendSeq == ^uint64(0) {
		return nil, errSeqExhausted
	}
	n := 1 + len(data) + r.send.Overhead()
	binary.BigEndian.PutUint32(hdr[2:], uint32(n))
	start := len(hdr)
	// Room for the tag, so that Seal works in place.
	frame := append(append(slices.Grow(hdr, n), content), data...)
	sealed := r.send.Seal(frame[start:start], nonce(r.sendSeq), frame[start:], frame[:start])
	r.sendSeq++
	return frame[:start+len(sealed)], nil
}

// open opens a record payload in place. The frame header it was read with
// is rebuilt from the payload's length.
func (r *recordAEAD) open(payload []byte) ([]byte, error) {
	if r.recvSeq == ^uint64(0) {
		return nil, errSeqExhausted
	}
	var hdr [headerLen]byte
	hdr[0], hdr[1] = frameVersion, frameRecord
	binary.BigEndian.PutUint32(hdr[2:], uint32(len(payload)))
	pt, err := r.recv.Open(payload[:0], nonce(r.recvSeq), payload, hdr[:])
	if err != nil {
		// A replayed, reordered, dropped, reflected or altered record.
		return nil, &sspi.Error{Status: sspi.StatusMessageAltered, Detail: "sspinet: record fails its authentication"}
	}
	r.recvSeq++
	return pt, nil
}
