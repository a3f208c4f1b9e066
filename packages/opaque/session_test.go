package opaque

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// sessionPair is an initiator's and an acceptor's session on one
// session key, with sequence detection or without.
func sessionPair(t *testing.T, detect bool) (cli, srv *session, key []byte) {
	t.Helper()
	key = make([]byte, Nx)
	for i := range key {
		key[i] = byte(i)
	}
	var w uint8
	if detect {
		w = wireReplayDetect | wireSequenceDetect
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cli, err := newSession(roleInitiator, key, contextFlags(w, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = newSession(roleAcceptor, key, contextFlags(w, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	return cli, srv, key
}

// protect makes one message of kind (kindSealed or kindSignature) from
// s, a token buffer and a data buffer, and returns it.
func protect(t *testing.T, s *session, kind int, data string) []secpkg.Buffer {
	t.Helper()
	msg := []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}, {Type: secpkg.BufferData, Data: []byte(data)}}
	var err error
	if kind == kindSealed {
		err = s.sealMessage(0, msg)
	} else {
		err = s.makeSignature(0, msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// accept checks msg with s: unseal for sealed messages, verify for
// signatures.
func accept(s *session, kind int, msg []secpkg.Buffer) error {
	var err error
	if kind == kindSealed {
		_, err = s.unsealMessage(msg)
	} else {
		_, err = s.verifySignature(msg)
	}
	return err
}

// TestMessageKnownAnswer: the per-message format of doc/opaque.md,
// computed here from the session key with the standard library alone:
// per-direction keys by HKDF-SHA-512 Expand with the documented labels,
// AES-256-GCM with the nonce 0^4 || seq and the additional data kind ||
// seq (then each covered buffer as an 8-byte length and its bytes), the
// trailer kind(1) || seq(8) || tag(16), and 64-bit sequence numbers past
// 2^32.
func TestMessageKnownAnswer(t *testing.T) {
	cli, srv, key := sessionPair(t, true)
	aeadFor := func(label string) cipher.AEAD {
		k, err := hkdf.Expand(sha512.New, key, label, 32)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := aes.NewCipher(k)
		a, _ := cipher.NewGCM(b)
		return a
	}
	i2a, a2i := aeadFor("OpenSSPI-OPAQUE-v1 initiator to acceptor"), aeadFor("OpenSSPI-OPAQUE-v1 acceptor to initiator")
	wantKey, _ := hkdf.Expand(sha512.New, key, "OpenSSPI-OPAQUE-v1 session key", 32)
	if got, err := cli.querySessionKey(); err != nil || !bytes.Equal(got, wantKey) {
		t.Fatalf("session key %x, want %x (%v)", got, wantKey, err)
	}
	expect := func(a cipher.AEAD, kind uint8, seq uint64, data []byte) (trailer, body []byte) {
		nonce := make([]byte, 12)
		binary.BigEndian.PutUint64(nonce[4:], seq)
		ad := append([]byte{kind}, binary.BigEndian.AppendUint64(nil, seq)...)
		if kind == kindSignature {
			ad = binary.BigEndian.AppendUint64(ad, uint64(len(data)))
			ad = append(ad, data...)
			return append(ad[:9:9], a.Seal(nil, nonce, nil, ad)...), data
		}
		out := a.Seal(nil, nonce, data, ad)
		return append(ad[:9:9], out[len(data):]...), out[:len(data)]
	}
	// Sequence numbers run on past 2^32 (64-bit, never wrapping).
	start := uint64(math.MaxUint32 - 1)
	cli.send.seq, srv.recv.seq, srv.send.seq, cli.recv.seq = start, start, start, start
	for i := range uint64(4) {
		for _, kind := range []uint8{kindSealed, kindSignature} {
			seq := start + 2*i
			if kind == kindSignature {
				seq++
			}
			data := fmt.Sprintf("message %d", seq)
			msg := protect(t, cli, int(kind), data)
			trailer, body := expect(i2a, kind, seq, []byte(data))
			if !bytes.Equal(msg[0].Data, trailer) || !bytes.Equal(msg[1].Data, body) {
				t.Fatalf("initiator's message %d of kind %d:\n%x %x\nwant\n%x %x", seq, kind, msg[0].Data, msg[1].Data, trailer, body)
			}
			if err := accept(srv, int(kind), msg); err != nil || string(msg[1].Data) != data {
				t.Fatalf("acceptor: message %d: %v", seq, err)
			}
			back := protect(t, srv, int(kind), data)
			trailer, body = expect(a2i, kind, seq, []byte(data))
			if !bytes.Equal(back[0].Data, trailer) || !bytes.Equal(back[1].Data, body) {
				t.Fatalf("acceptor's message %d of kind %d differs", seq, kind)
			}
			if err := accept(cli, int(kind), back); err != nil {
				t.Fatalf("initiator: message %d: %v", seq, err)
			}
		}
	}
	// The last number is never used: the context has expired instead.
	cli.send.seq = math.MaxUint64
	err := cli.sealMessage(0, []secpkg.Buffer{{Type: secpkg.BufferToken, Data: make([]byte, trailerSize)}})
	if !errors.Is(err, secpkg.StatusContextExpired) {
		t.Fatalf("sealing with the sequence numbers exhausted: %v", err)
	}
}

// TestMessageTamperingExact flips every byte of a sealed message and of
// a signed one (trailer and data), with and without sequence detection,
// and requires the exact status for each position: the kind byte and the
// tag and data give SEC_E_MESSAGE_ALTERED; the sequence number gives
// SEC_E_OUT_OF_SEQUENCE when the context detects order (the number is
// checked before the tag), SEC_E_MESSAGE_ALTERED when it does not (it
// is in the nonce and the additional data). A refused message leaves the
// receiver's state as it was: the untouched message is accepted next.
func TestMessageTamperingExact(t *testing.T) {
	for _, detect := range []bool{true, false} {
		for _, kind := range []int{kindSealed, kindSignature} {
			t.Run(fmt.Sprintf("detect=%v/kind=%d", detect, kind), func(t *testing.T) {
				cli, srv, _ := sessionPair(t, detect)
				for round := 0; round < 2; round++ { // seq 0, then seq 1
					msg := protect(t, cli, kind, "tamper with me")
					n := len(msg[0].Data) + len(msg[1].Data)
					for i := range n {
						bad := cloneBuffers(msg)
						if i < trailerSize {
							bad[0].Data[i] ^= 0xff
						} else {
							bad[1].Data[i-trailerSize] ^= 0xff
						}
						want := secpkg.StatusMessageAltered
						if detect && i >= 1 && i < 9 {
							want = secpkg.StatusOutOfSequence
						}
						if err := accept(srv, kind, bad); !errors.Is(err, want) {
							t.Fatalf("message %d, byte %d of %d flipped: %v, want %v", round, i, n, err, want)
						}
					}
					// Truncated and extended trailers.
					for _, size := range []int{0, trailerSize - 1, trailerSize + 1} {
						bad := cloneBuffers(msg)
						bad[0].Data = append(bad[0].Data, 0)[:size]
						if err := accept(srv, kind, bad); !errors.Is(err, secpkg.StatusMessageAltered) {
							t.Fatalf("trailer of %d bytes: %v", size, err)
						}
					}
					// A message of the other kind is refused.
					if kind == kindSealed {
						if _, err := srv.verifySignature(cloneBuffers(msg)); !errors.Is(err, secpkg.StatusMessageAltered) {
							t.Fatalf("a sealed message verified as a signature: %v", err)
						}
					}
					// The initiator's own message reflected back to it:
					// the directions have their own keys (in round 0 the
					// number is the one the initiator expects).
					want := secpkg.StatusMessageAltered
					if detect && round > 0 {
						want = secpkg.StatusOutOfSequence
					}
					if err := accept(cli, kind, cloneBuffers(msg)); !errors.Is(err, want) {
						t.Fatalf("reflected message: %v, want %v", err, want)
					}
					if err := accept(srv, kind, msg); err != nil {
						t.Fatalf("the untouched message after the tampered ones: %v", err)
					}
				}
			})
		}
	}
}

// TestMessageReplayAndOrder: with detection, a replayed message and one
// out of order are SEC_E_OUT_OF_SEQUENCE and change nothing (the expected
// message is still accepted); without, both are accepted, as in the SSPI
// when the context was not asked for replay or sequence detection.
func TestMessageReplayAndOrder(t *testing.T) {
	for _, kind := range []int{kindSealed, kindSignature} {
		t.Run(fmt.Sprintf("kind=%d", kind), func(t *testing.T) {
			cli, srv, _ := sessionPair(t, true)
			m0, m1, m2 := protect(t, cli, kind, "zero"), protect(t, cli, kind, "one"), protect(t, cli, kind, "two")
			steps := []struct {
				name string
				msg  []secpkg.Buffer
				want error
			}{
				{"1 before 0", m1, secpkg.StatusOutOfSequence},
				{"2 before 0", m2, secpkg.StatusOutOfSequence},
				{"0", m0, nil},
				{"0 replayed", m0, secpkg.StatusOutOfSequence},
				{"2 before 1", m2, secpkg.StatusOutOfSequence},
				{"1", m1, nil},
				{"1 replayed", m1, secpkg.StatusOutOfSequence},
				{"2", m2, nil},
				{"0 replayed at the end", m0, secpkg.StatusOutOfSequence},
			}
			for _, s := range steps {
				err := accept(srv, kind, cloneBuffers(s.msg))
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("%s: %v, want %v", s.name, err, s.want)
				}
			}

			cli, srv, _ = sessionPair(t, false)
			m0, m1 = protect(t, cli, kind, "zero"), protect(t, cli, kind, "one")
			for _, m := range [][]secpkg.Buffer{m1, m0, m0, m1} {
				if err := accept(srv, kind, cloneBuffers(m)); err != nil {
					t.Fatalf("without detection: %v", err)
				}
			}
		})
	}
}
