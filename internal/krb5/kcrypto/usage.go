package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Segment is one piece of a scattered message. A message is a []Segment in
// message order; its bytes are processed as if the segments were one
// contiguous buffer, in place.
type Segment struct {
	Data []byte
	// SignOnly marks associated data: covered by the integrity checksum
	// at its place in the message but neither encrypted nor decrypted
	// (GSS_IOV_BUFFER_TYPE_SIGN_ONLY, SECBUFFER_READONLY_WITH_CHECKSUM).
	SignOnly bool
}

// ivSetter is implemented by the CBC modes of crypto/cipher; it lets one
// BlockMode serve every message.
type ivSetter interface{ SetIV([]byte) }

type cbcMode interface {
	cipher.BlockMode
	ivSetter
}

// UsageKey is a protocol key bound to one key usage: the derived Ke (as an
// AES key schedule and CBC modes), Ki and Kc (as keyed HMAC states). It is
// built once per security context and direction and reused for every
// message. The derived keys are made when first needed (Ke and Ki by the
// first encryption or decryption, Kc by the first checksum), so that a
// context never used for messages, or a key used once for one of them,
// costs no more derivation than it needs. A UsageKey is not safe for
// concurrent use.
type UsageKey struct {
	etype EType
	p     *profile
	usage uint32
	// base is the protocol key while some derived key is still to be
	// made, then nil; dr is AES under it, for the derivations of the
	// RFC 3962 types.
	base  []byte
	dr    cipher.Block
	block cipher.Block // Ke
	enc   cbcMode      // CBC encryption under Ke, IV reset per message
	dec   cbcMode      // CBC decryption under Ke
	ki    hash.Hash    // HMAC(Ki, ·)
	kc    hash.Hash    // HMAC(Kc, ·)

	zero [blockSize]byte     // the initial cipher state (all zero)
	sum  [64]byte            // HMAC output
	tmp  [2 * blockSize]byte // blocks that span segments; the CTS tail
	tmp2 [2 * blockSize]byte
}

// NewUsageKey binds the protocol key of type e to usage; the keys of RFC
// 3961 Section 5.3 (RFC 8009 Section 5) are derived from it when first
// needed. key is copied.
func NewUsageKey(e EType, key []byte, usage uint32) (*UsageKey, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("kcrypto: %v key of %d bytes, want %d", e, len(key), p.keySize)
	}
	return &UsageKey{etype: e, p: p, usage: usage, base: append([]byte(nil), key...)}, nil
}

// derive writes the n-byte key of kind (constKc, constKe, constKi) for
// the usage into out (at least derivedMax bytes) and returns it. u.base
// is set. Its scratch is u.tmp2, so that nothing escapes to the heap
// through the hash and cipher interfaces.
func (u *UsageKey) derive(kind byte, n int, out []byte) ([]byte, error) {
	c := usageConstant(u.usage, kind)
	if u.p.etm {
		label := u.tmp2[:len(c)]
		copy(label, c[:])
		k, err := KDFHMACSHA2(u.etype, u.base, label, nil, 8*n)
		if err != nil {
			return nil, err
		}
		copy(out, k)
		clear(k)
		return out[:n], nil
	}
	if u.dr == nil {
		b, err := aes.NewCipher(u.base)
		if err != nil {
			return nil, err
		}
		u.dr = b
	}
	folded := foldConstant(c[:])
	block := u.tmp2[:blockSize]
	copy(block, folded[:])
	for i := 0; i < n; i += blockSize {
		u.dr.Encrypt(block, block)
		copy(out[i:], block)
	}
	clear(block)
	return out[:n], nil
}

// derivedMax is room for any derived key (32 bytes) rounded up to whole
// AES blocks.
const derivedMax = 48

// encKeys makes Ke and Ki if they are not made yet. It fails only on a
// closed key.
func (u *UsageKey) encKeys() error {
	if u.block != nil {
		return nil
	}
	if u.base == nil {
		return errors.New("kcrypto: the key is closed")
	}
	// Ke on the stack (aes.NewCipher copies it), Ki in the scratch u.sum
	// (hmac.New copies it too, but its argument escapes: on the stack it
	// would be allocated).
	var keb [derivedMax]byte
	defer clear(keb[:])
	defer clear(u.sum[:])
	ke, err := u.derive(constKe, u.p.keySize, keb[:])
	if err != nil {
		return err
	}
	ki, err := u.derive(constKi, u.p.kiSize, u.sum[:])
	if err != nil {
		return err
	}
	b, err := aes.NewCipher(ke)
	if err != nil {
		return err
	}
	enc, ok1 := cipher.NewCBCEncrypter(b, u.zero[:]).(cbcMode)
	dec, ok2 := cipher.NewCBCDecrypter(b, u.zero[:]).(cbcMode)
	if !ok1 || !ok2 {
		return errors.New("kcrypto: CBC mode cannot be reset")
	}
	u.block, u.enc, u.dec = b, enc, dec
	u.ki = hmac.New(u.p.newHash, ki)
	u.release()
	return nil
}

// checksumKey makes Kc if it is not made yet.
func (u *UsageKey) checksumKey() error {
	if u.kc != nil {
		return nil
	}
	if u.base == nil {
		return errors.New("kcrypto: the key is closed")
	}
	defer clear(u.sum[:])
	kc, err := u.derive(constKc, u.p.kcSize, u.sum[:])
	if err != nil {
		return err
	}
	u.kc = hmac.New(u.p.newHash, kc)
	u.release()
	return nil
}

// release drops the protocol key once every derived key is made.
func (u *UsageKey) release() {
	if u.block != nil && u.kc != nil {
		clear(u.base)
		u.base, u.dr = nil, nil
	}
}

// EType returns the encryption type.
func (u *UsageKey) EType() EType { return u.etype }

// Usage returns the key usage number.
func (u *UsageKey) Usage() uint32 { return u.usage }

// ChecksumSize returns the checksum length h of the encryption type.
func (u *UsageKey) ChecksumSize() int { return u.p.hashSize }

// Close drops the key material; the UsageKey must not be used afterwards.
func (u *UsageKey) Close() {
	clear(u.base)
	u.base, u.dr = nil, nil
	u.block, u.enc, u.dec, u.ki, u.kc = nil, nil, nil, nil, nil
	clear(u.sum[:])
	clear(u.tmp[:])
	clear(u.tmp2[:])
}

// String describes the key without its secrets.
func (u *UsageKey) String() string {
	return fmt.Sprintf("kcrypto.UsageKey{%v usage:%d keys:REDACTED}", u.etype, u.usage)
}

// GoString keeps the keys out of %#v.
func (u *UsageKey) GoString() string { return u.String() }

// EncryptSegments encrypts a message in place (RFC 3961 Section 5.3 for
// the RFC 3962 types, RFC 8009 Section 5 for the others) and writes its
// checksum, h = ChecksumSize() bytes, to checksum. segs[0] must be a
// non-sign-only segment of exactly ConfounderSize bytes: EncryptSegments
// fills it with a confounder read from rand. The ciphertext of every
// non-sign-only segment replaces its plaintext; sign-only segments are
// covered by the checksum in place and left unchanged.
//
// For the RFC 3962 types the checksum is HMAC-SHA1(Ki, plaintext)
// truncated; for RFC 8009, HMAC(Ki, IV | ciphertext) truncated, with the
// all-zero initial cipher state as IV. The ciphertext is AES-CBC with
// ciphertext stealing (RFC 3962 Section 5: the last two blocks swapped),
// zero IV.
func (u *UsageKey) EncryptSegments(rand io.Reader, segs []Segment, checksum []byte) error {
	if len(segs) == 0 || segs[0].SignOnly || len(segs[0].Data) != ConfounderSize {
		return errors.New("kcrypto: first segment must be the confounder")
	}
	if len(checksum) != u.p.hashSize {
		return fmt.Errorf("kcrypto: checksum buffer of %d bytes, want %d", len(checksum), u.p.hashSize)
	}
	if err := u.encKeys(); err != nil {
		return err
	}
	if _, err := io.ReadFull(rand, segs[0].Data); err != nil {
		return fmt.Errorf("kcrypto: reading confounder: %w", err)
	}
	n := encryptedLen(segs)
	if u.p.etm {
		u.ctsEncrypt(segs, n)
		u.macSegments(u.ki, segs, true)
	} else {
		u.macSegments(u.ki, segs, false)
		u.ctsEncrypt(segs, n)
	}
	copy(checksum, u.ki.Sum(u.sum[:0])[:u.p.hashSize])
	return nil
}

// DecryptSegments decrypts a message in place and verifies its checksum
// (h bytes) in constant time; it is the inverse of EncryptSegments. The
// first ConfounderSize bytes of the encrypted stream are the confounder.
// It reports whether the checksum verified. On failure every segment is
// left as it was: for the RFC 8009 types the checksum is verified before
// anything is decrypted; for the RFC 3962 types (MAC over the plaintext)
// the plaintext is encrypted again, which restores the ciphertext exactly.
// The whole checksum is always computed, whatever the plaintext holds.
func (u *UsageKey) DecryptSegments(segs []Segment, checksum []byte) bool {
	n := encryptedLen(segs)
	if n < ConfounderSize || len(checksum) != u.p.hashSize || u.encKeys() != nil {
		return false
	}
	if u.p.etm {
		u.macSegments(u.ki, segs, true)
		if !u.equalSum(u.ki, checksum) {
			return false
		}
		u.ctsDecrypt(segs, n)
		return true
	}
	u.ctsDecrypt(segs, n)
	u.macSegments(u.ki, segs, false)
	if !u.equalSum(u.ki, checksum) {
		u.ctsEncrypt(segs, n)
		return false
	}
	return true
}

// RestoreSegments encrypts again, in place, a message that
// DecryptSegments has just decrypted: AES-CBC-CTS under a fixed IV is a
// permutation, so this gives back exactly the ciphertext DecryptSegments
// consumed. It is for callers that reject a message after it decrypted
// (a token whose encrypted header disagrees with its plaintext one).
func (u *UsageKey) RestoreSegments(segs []Segment) {
	if u.encKeys() != nil {
		return
	}
	u.ctsEncrypt(segs, encryptedLen(segs))
}

// ChecksumSegments computes the keyed checksum of the message with Kc,
// HMAC(Kc, message) truncated to h bytes (hmac-sha1-96-aes128/256 of RFC
// 3962 Section 7, hmac-sha256-128-aes128 and hmac-sha384-192-aes256 of RFC
// 8009 Section 6), into checksum, which must be h bytes long.
func (u *UsageKey) ChecksumSegments(segs []Segment, checksum []byte) error {
	if len(checksum) != u.p.hashSize {
		return fmt.Errorf("kcrypto: checksum buffer of %d bytes, want %d", len(checksum), u.p.hashSize)
	}
	if err := u.checksumKey(); err != nil {
		return err
	}
	u.macSegments(u.kc, segs, false)
	copy(checksum, u.kc.Sum(u.sum[:0])[:u.p.hashSize])
	return nil
}

// VerifyChecksumSegments reports, in constant time, whether checksum is
// the Kc checksum of the message.
func (u *UsageKey) VerifyChecksumSegments(segs []Segment, checksum []byte) bool {
	if u.checksumKey() != nil {
		return false
	}
	u.macSegments(u.kc, segs, false)
	return u.equalSum(u.kc, checksum)
}

// equalSum finishes h and compares its truncated output with want in
// constant time.
func (u *UsageKey) equalSum(h hash.Hash, want []byte) bool {
	got := h.Sum(u.sum[:0])[:u.p.hashSize]
	return len(want) == len(got) && subtle.ConstantTimeCompare(got, want) == 1
}

// macSegments resets h and writes the message to it; with iv, the initial
// cipher state first (RFC 8009).
func (u *UsageKey) macSegments(h hash.Hash, segs []Segment, iv bool) {
	h.Reset()
	if iv {
		h.Write(u.zero[:])
	}
	for i := range segs {
		h.Write(segs[i].Data)
	}
}

// Encrypt encrypts plaintext with a fresh confounder from rand and appends
// the ciphertext (confounder, plaintext, checksum: CiphertextLen bytes) to
// dst. It allocates only if dst lacks capacity.
func (u *UsageKey) Encrypt(rand io.Reader, dst, plaintext []byte) ([]byte, error) {
	n := len(plaintext)
	total := len(dst) + ConfounderSize + n + u.p.hashSize
	out := dst
	if cap(out) < total {
		out = make([]byte, len(dst), total)
		copy(out, dst)
	}
	if err := u.encKeys(); err != nil {
		return nil, err
	}
	out = out[:total]
	ct := out[len(dst):]
	copy(ct[ConfounderSize:], plaintext)
	segs := [1]Segment{{Data: ct[:ConfounderSize+n]}}
	if _, err := io.ReadFull(rand, ct[:ConfounderSize]); err != nil {
		return nil, fmt.Errorf("kcrypto: reading confounder: %w", err)
	}
	if u.p.etm {
		u.ctsEncrypt(segs[:], len(segs[0].Data))
		u.macSegments(u.ki, segs[:], true)
	} else {
		u.macSegments(u.ki, segs[:], false)
		u.ctsEncrypt(segs[:], len(segs[0].Data))
	}
	copy(ct[ConfounderSize+n:], u.ki.Sum(u.sum[:0])[:u.p.hashSize])
	return out, nil
}

// Decrypt decrypts and verifies a ciphertext made by Encrypt (or by any
// RFC 3961 implementation) and appends the plaintext, without the
// confounder, to dst. ciphertext is not modified. With dst nil, the
// plaintext is decrypted in the buffer returned (one allocation).
func (u *UsageKey) Decrypt(dst, ciphertext []byte) ([]byte, error) {
	h := u.p.hashSize
	if len(ciphertext) < ConfounderSize+h {
		return nil, errors.New("kcrypto: ciphertext too short")
	}
	body := ciphertext[:len(ciphertext)-h]
	buf := make([]byte, len(body))
	copy(buf, body)
	segs := [1]Segment{{Data: buf}}
	if !u.DecryptSegments(segs[:], ciphertext[len(body):]) {
		clear(buf)
		return nil, ErrIntegrity
	}
	if dst == nil {
		clear(buf[:ConfounderSize])
		return buf[ConfounderSize:], nil
	}
	dst = append(dst, buf[ConfounderSize:]...)
	clear(buf)
	return dst, nil
}

// ErrIntegrity is returned by Decrypt when the checksum does not verify.
var ErrIntegrity = errors.New("kcrypto: integrity check failed")

// Checksum appends the Kc checksum of msg to dst.
func (u *UsageKey) Checksum(dst, msg []byte) []byte {
	if u.checksumKey() != nil {
		return nil
	}
	segs := [1]Segment{{Data: msg}}
	u.macSegments(u.kc, segs[:], false)
	return append(dst, u.kc.Sum(u.sum[:0])[:u.p.hashSize]...)
}

// VerifyChecksum reports, in constant time, whether checksum is the Kc
// checksum of msg.
func (u *UsageKey) VerifyChecksum(msg, checksum []byte) bool {
	segs := [1]Segment{{Data: msg}}
	return u.VerifyChecksumSegments(segs[:], checksum)
}

// encryptedLen is the number of bytes of the encrypted stream: the total
// length of the non-sign-only segments.
func encryptedLen(segs []Segment) int {
	n := 0
	for i := range segs {
		if !segs[i].SignOnly {
			n += len(segs[i].Data)
		}
	}
	return n
}
