package kcrypto

import "crypto/subtle"

// AES in CBC mode with ciphertext stealing, as RFC 3962 Section 5 defines
// it for Kerberos (CBC-CS3 of NIST SP 800-38A Addendum: the last two
// ciphertext blocks are swapped even when the last one is full), with the
// all-zero IV, over the non-sign-only bytes of a segmented message, in
// place.
//
// The message is n bytes long (n >= 16). With d = n mod 16, or 16 when n
// is a multiple of 16, the first n-16-d bytes are plain CBC, processed
// directly in the segments whole blocks at a time; a block that spans two
// segments goes through a 16-byte staging buffer. The last 16+d bytes are
// gathered, stolen and scattered back. A message of exactly one block is
// one CBC block, without a swap.

// cursor is a position in the encrypted stream of a message: segment i,
// byte off. Sign-only and exhausted segments are skipped.
type cursor struct {
	i, off int
}

// norm moves c past sign-only segments and the end of the current one.
func (c cursor) norm(segs []Segment) cursor {
	for c.i < len(segs) && (segs[c.i].SignOnly || c.off >= len(segs[c.i].Data)) {
		c.i++
		c.off = 0
	}
	return c
}

// gather copies len(dst) bytes of the stream from c into dst and returns
// the cursor after them.
func gather(segs []Segment, c cursor, dst []byte) cursor {
	for len(dst) > 0 {
		c = c.norm(segs)
		k := copy(dst, segs[c.i].Data[c.off:])
		dst = dst[k:]
		c.off += k
	}
	return c
}

// scatter copies src into the stream at c (the inverse of gather).
func scatter(segs []Segment, c cursor, src []byte) cursor {
	for len(src) > 0 {
		c = c.norm(segs)
		k := copy(segs[c.i].Data[c.off:], src)
		src = src[k:]
		c.off += k
	}
	return c
}

// cbcRun processes the first bulk bytes of the stream (a multiple of the
// block size) with mode, in place, and returns the cursor after them.
func (u *UsageKey) cbcRun(mode cbcMode, segs []Segment, bulk int) cursor {
	var c cursor
	for bulk > 0 {
		c = c.norm(segs)
		seg := segs[c.i].Data[c.off:]
		if k := min(len(seg), bulk) &^ (blockSize - 1); k > 0 {
			mode.CryptBlocks(seg[:k], seg[:k])
			c.off += k
			bulk -= k
			continue
		}
		// A block split across segments.
		blk := u.tmp[:blockSize]
		gather(segs, c, blk)
		mode.CryptBlocks(blk, blk)
		c = scatter(segs, c, blk)
		bulk -= blockSize
	}
	return c
}

// tailLen returns the length of the stolen tail of an n-byte message.
func tailLen(n int) int {
	if n == blockSize {
		return blockSize
	}
	return blockSize + (n-1)%blockSize + 1
}

// ctsEncrypt encrypts the n-byte stream of segs in place.
func (u *UsageKey) ctsEncrypt(segs []Segment, n int) {
	u.enc.SetIV(u.zero[:])
	tl := tailLen(n)
	c := u.cbcRun(u.enc, segs, n-tl)
	t := u.tmp[:tl]
	gather(segs, c, t)
	if tl == blockSize {
		u.enc.CryptBlocks(t, t)
		scatter(segs, c, t)
		return
	}
	d := tl - blockSize
	// X = E(P[n-1] ^ C[n-2]), chained by the CBC mode.
	u.enc.CryptBlocks(t[:blockSize], t[:blockSize])
	// Y = E((P[n] | zeros) ^ X).
	y := u.tmp2[:blockSize]
	copy(y, t[blockSize:])
	clear(y[d:])
	u.enc.CryptBlocks(y, y)
	// Output Y, then the first d bytes of X.
	out := u.tmp2[:tl]
	copy(out[blockSize:], t[:d])
	scatter(segs, c, out)
}

// ctsDecrypt decrypts the n-byte stream of segs in place.
func (u *UsageKey) ctsDecrypt(segs []Segment, n int) {
	u.dec.SetIV(u.zero[:])
	tl := tailLen(n)
	c := u.cbcRun(u.dec, segs, n-tl)
	t := u.tmp[:tl]
	gather(segs, c, t)
	if tl == blockSize {
		u.dec.CryptBlocks(t, t)
		scatter(segs, c, t)
		return
	}
	d := tl - blockSize
	// t = Y | X[:d]. Z = D(Y) = (P[n] | zeros) ^ X, so X[d:] = Z[d:] and
	// P[n] = Z[:d] ^ X[:d].
	z := u.tmp2[:blockSize]
	u.block.Decrypt(z, t[:blockSize])
	x := u.tmp2[blockSize : 2*blockSize]
	copy(x, t[blockSize:tl])
	copy(x[d:], z[d:])
	out := u.tmp[:tl]
	subtle.XORBytes(out[blockSize:tl], z[:d], x[:d])
	// P[n-1] = D(X) ^ C[n-2], chained by the CBC mode.
	u.dec.CryptBlocks(out[:blockSize], x)
	scatter(segs, c, out)
}
