package kcrypto

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Key derivation constants: the last byte of the usage constant (RFC 3961
// Section 5.3; RFC 8009 Section 5).
const (
	constKc = 0x99 // checksum key
	constKe = 0xAA // encryption key
	constKi = 0x55 // integrity key
)

// NFold is the n-fold operation of RFC 3961 Section 5.1: it stretches or
// folds in into outLen bytes by concatenating copies of in, each rotated 13
// bits further right, up to the least common multiple of the two lengths,
// and adding the outLen-byte pieces in one's-complement arithmetic.
func NFold(in []byte, outLen int) []byte {
	if len(in) == 0 || outLen <= 0 {
		return make([]byte, max(outLen, 0))
	}
	n := len(in)
	l := lcm(n, outLen)
	// The concatenation of rotated copies, l bytes in all.
	buf := make([]byte, l)
	for j := 0; j < l/n; j++ {
		rotateRightBits(buf[j*n:(j+1)*n], in, 13*j)
	}
	// One's-complement sum of the outLen-byte pieces (big-endian).
	acc := make([]int, outLen)
	for off := 0; off < l; off += outLen {
		for i := range outLen {
			acc[i] += int(buf[off+i])
		}
	}
	for {
		carry := 0
		for i := outLen - 1; i >= 0; i-- {
			v := acc[i] + carry
			acc[i] = v & 0xff
			carry = v >> 8
		}
		if carry == 0 {
			break
		}
		acc[outLen-1] += carry // end-around carry
	}
	out := make([]byte, outLen)
	for i, v := range acc {
		out[i] = byte(v)
	}
	return out
}

// rotateRightBits writes src rotated right by r bits (as one big-endian bit
// string) to dst, which has the same length.
func rotateRightBits(dst, src []byte, r int) {
	bits := 8 * len(src)
	r %= bits
	for i := range dst {
		dst[i] = 0
	}
	for i := range bits {
		j := (i - r + bits) % bits // source bit of destination bit i
		if src[j/8]&(0x80>>(j%8)) != 0 {
			dst[i/8] |= 0x80 >> (i % 8)
		}
	}
}

// The n-fold of a derivation constant to one block depends on the
// constant alone, and the constants are few (a usage number and a kind, or
// "prf"): the folds are kept, so that deriving a key costs its AES blocks
// only. The cache holds at most maxFolds constants of up to 8 bytes.
var (
	foldMu sync.RWMutex
	folds  = map[string][blockSize]byte{}
)

const maxFolds = 512

// foldConstant returns NFold(constant, blockSize).
func foldConstant(constant []byte) [blockSize]byte {
	small := len(constant) <= 8
	if small {
		foldMu.RLock()
		b, ok := folds[string(constant)]
		foldMu.RUnlock()
		if ok {
			return b
		}
	}
	var b [blockSize]byte
	copy(b[:], NFold(constant, blockSize))
	if small {
		foldMu.Lock()
		if len(folds) < maxFolds {
			folds[string(constant)] = b
		}
		foldMu.Unlock()
	}
	return b
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// DR is the random-octet generation of RFC 3961 Section 5.1 for the AES
// types of RFC 3962: the constant is n-folded to one block and encrypted
// under key, then each output block is encrypted again, until the key size
// of e is reached.
func DR(e EType, key, constant []byte) ([]byte, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if p.etm {
		return nil, fmt.Errorf("kcrypto: %v derives keys with KDF-HMAC-SHA2, not DR", e)
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("kcrypto: %v key of %d bytes, want %d", e, len(key), p.keySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, p.keySize+blockSize)
	folded := foldConstant(constant)
	block := folded[:]
	for len(out) < p.keySize {
		// E(Key, block, initial-cipher-state): CBC of one block with a
		// zero IV is the block cipher itself.
		b.Encrypt(block, block)
		out = append(out, block...)
	}
	return out[:p.keySize], nil
}

// DK is the key derivation of RFC 3961 Section 5.1 for the RFC 3962 types,
// DK(Key, Constant) = random-to-key(DR(Key, Constant)); random-to-key is
// the identity for AES. For the RFC 8009 types it is
// KDF-HMAC-SHA2(key, constant, k) with k the key size (RFC 8009 Section 5).
func DK(e EType, key, constant []byte) ([]byte, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if p.etm {
		return KDFHMACSHA2(e, key, constant, nil, 8*p.keySize)
	}
	return DR(e, key, constant)
}

// KDFHMACSHA2 is the key derivation function of RFC 8009 Section 3 (the
// counter mode KDF of NIST SP 800-108 with HMAC-SHA-256 for etype 19 and
// HMAC-SHA-384 for etype 20, one iteration):
//
//	k-truncate(HMAC(key, 00 00 00 01 | label | 00 | context | k))
//
// where k, the output length in bits, is a 32-bit big-endian number.
func KDFHMACSHA2(e EType, key, label, context []byte, kbits int) ([]byte, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if !p.etm {
		return nil, fmt.Errorf("kcrypto: %v does not use KDF-HMAC-SHA2", e)
	}
	h := hmac.New(p.newHash, key)
	if kbits <= 0 || kbits%8 != 0 || kbits > 8*h.Size() {
		return nil, fmt.Errorf("kcrypto: KDF-HMAC-SHA2 output of %d bits", kbits)
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], 1)
	h.Write(n[:])
	h.Write(label)
	h.Write([]byte{0})
	h.Write(context)
	binary.BigEndian.PutUint32(n[:], uint32(kbits))
	h.Write(n[:])
	return h.Sum(nil)[:kbits/8], nil
}

// usageConstant returns the 5-byte derivation constant for usage: the
// usage number, big-endian, and one of constKc, constKe, constKi.
func usageConstant(usage uint32, kind byte) [5]byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:], usage)
	c[4] = kind
	return c
}

// deriveUsage derives Kc, Ke and Ki for usage from the protocol key (RFC
// 3961 Section 5.3; RFC 8009 Section 5).
func deriveUsage(p *profile, e EType, key []byte, usage uint32) (kc, ke, ki []byte, err error) {
	if len(key) != p.keySize {
		return nil, nil, nil, fmt.Errorf("kcrypto: %v key of %d bytes, want %d", e, len(key), p.keySize)
	}
	ucKc, ucKe, ucKi := usageConstant(usage, constKc), usageConstant(usage, constKe), usageConstant(usage, constKi)
	if p.etm {
		if kc, err = KDFHMACSHA2(e, key, ucKc[:], nil, 8*p.kcSize); err != nil {
			return nil, nil, nil, err
		}
		if ke, err = KDFHMACSHA2(e, key, ucKe[:], nil, 8*p.keySize); err != nil {
			return nil, nil, nil, err
		}
		if ki, err = KDFHMACSHA2(e, key, ucKi[:], nil, 8*p.kiSize); err != nil {
			return nil, nil, nil, err
		}
		return kc, ke, ki, nil
	}
	if kc, err = DR(e, key, ucKc[:]); err != nil {
		return nil, nil, nil, err
	}
	if ke, err = DR(e, key, ucKe[:]); err != nil {
		return nil, nil, nil, err
	}
	if ki, err = DR(e, key, ucKi[:]); err != nil {
		return nil, nil, nil, err
	}
	return kc, ke, ki, nil
}

// DeriveKeys returns the checksum, encryption and integrity keys (Kc, Ke,
// Ki) that key yields for usage.
func DeriveKeys(e EType, key []byte, usage uint32) (kc, ke, ki []byte, err error) {
	p, err := e.profile()
	if err != nil {
		return nil, nil, nil, err
	}
	return deriveUsage(p, e, key, usage)
}

// prfConstant is the derivation constant of the PRFs, the ASCII "prf".
var prfConstant = []byte("prf")

// PRF is the pseudo-random function of the encryption type: for the RFC
// 3962 types (Section 6), E(DK(key, "prf"), SHA-1(input) truncated to one
// block), 16 bytes; for the RFC 8009 types (Section 5),
// KDF-HMAC-SHA2(key, "prf", input, 256 or 384), 32 or 48 bytes.
func PRF(e EType, key, input []byte) ([]byte, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("kcrypto: %v key of %d bytes, want %d", e, len(key), p.keySize)
	}
	if p.etm {
		return KDFHMACSHA2(e, key, prfConstant, input, 8*p.prfSize)
	}
	dk, err := DR(e, key, prfConstant)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	b, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(input)
	out := make([]byte, blockSize)
	b.Encrypt(out, sum[:blockSize])
	return out, nil
}

// PRFPlus is PRF+ of RFC 6113 Section 5.1: PRF(key, 1 | input) |
// PRF(key, 2 | input) | ..., truncated to n bytes, the counter being one
// octet.
func PRFPlus(e EType, key, input []byte, n int) ([]byte, error) {
	size := e.PRFSize()
	if size == 0 {
		return nil, fmt.Errorf("kcrypto: unsupported encryption type %d", int32(e))
	}
	if n < 0 || (n+size-1)/size > 255 {
		return nil, errors.New("kcrypto: PRF+ output too long")
	}
	in := make([]byte, 1+len(input))
	copy(in[1:], input)
	out := make([]byte, 0, n+size)
	for i := 1; len(out) < n; i++ {
		in[0] = byte(i)
		block, err := PRF(e, key, in)
		if err != nil {
			return nil, err
		}
		out = append(out, block...)
		clear(block)
	}
	return out[:n], nil
}

// CF2 is KRB-FX-CF2 of RFC 6113 Section 5.1: it combines two protocol keys
// of type e into one, random-to-key(PRF+(key1, pepper1) XOR PRF+(key2,
// pepper2)).
func CF2(e EType, key1 []byte, pepper1 string, key2 []byte, pepper2 string) ([]byte, error) {
	a, err := PRFPlus(e, key1, []byte(pepper1), e.KeySize())
	if err != nil {
		return nil, err
	}
	b, err := PRFPlus(e, key2, []byte(pepper2), e.KeySize())
	if err != nil {
		return nil, err
	}
	for i := range a {
		a[i] ^= b[i]
	}
	clear(b)
	return a, nil
}

// Default PBKDF2 iteration counts of string-to-key (RFC 3962 Section 4,
// RFC 8009 Section 4).
const (
	DefaultIterationsSHA1 = 4096
	DefaultIterationsSHA2 = 32768
)

// kerberosConstant is the derivation constant of string-to-key.
var kerberosConstant = []byte("kerberos")

// StringToKey derives a protocol key from a password and salt. For the RFC
// 3962 types (Section 4) it is DK(PBKDF2-HMAC-SHA1(password, salt,
// iterations, k), "kerberos"); for the RFC 8009 types (Section 4)
// KDF-HMAC-SHA2(PBKDF2-HMAC-SHA2(password, name | 00 | salt, iterations,
// k), "kerberos", k). iterations 0 means the type's default.
func StringToKey(e EType, password, salt string, iterations int) ([]byte, error) {
	p, err := e.profile()
	if err != nil {
		return nil, err
	}
	if iterations < 0 {
		return nil, errors.New("kcrypto: negative iteration count")
	}
	if p.etm {
		if iterations == 0 {
			iterations = DefaultIterationsSHA2
		}
		saltp := make([]byte, 0, len(p.name)+1+len(salt))
		saltp = append(append(append(saltp, p.name...), 0), salt...)
		tkey, err := pbkdf2.Key(p.newHash, password, saltp, iterations, p.keySize)
		if err != nil {
			return nil, fmt.Errorf("kcrypto: string-to-key: %w", err)
		}
		defer clear(tkey)
		return KDFHMACSHA2(e, tkey, kerberosConstant, nil, 8*p.keySize)
	}
	if iterations == 0 {
		iterations = DefaultIterationsSHA1
	}
	tkey, err := pbkdf2.Key(sha1.New, password, []byte(salt), iterations, p.keySize)
	if err != nil {
		return nil, fmt.Errorf("kcrypto: string-to-key: %w", err)
	}
	defer clear(tkey)
	return DR(e, tkey, kerberosConstant)
}
