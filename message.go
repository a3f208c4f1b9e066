package sspi

import (
	"slices"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// MakeSignature signs the BufferData buffers of msg and writes the
// signature into its BufferToken buffer, which must hold
// Sizes().MaxSignature bytes; it is shortened to the signature's length
// (MakeSignature). seq is used only by datagram contexts.
func (c *Context) MakeSignature(qop uint32, msg []Buffer, seq uint32) error {
	return c.protect(lsa.OpMakeSignature, qop, msg, seq, nil)
}

// VerifySignature checks a message and signature made by the peer's
// MakeSignature (VerifySignature). It returns the quality of protection
// the signature was made with. A changed byte gives an error carrying
// StatusMessageAltered; a replayed or reordered message, when the context
// detects those, StatusOutOfSequence.
func (c *Context) VerifySignature(msg []Buffer, seq uint32) (qop uint32, err error) {
	err = c.protect(lsa.OpVerifySignature, 0, msg, seq, &qop)
	return qop, err
}

// EncryptMessage encrypts the BufferData buffers of msg in place and writes
// the trailer into its BufferToken buffer, which must hold
// Sizes().SecurityTrailer bytes (EncryptMessage). With qop
// QOPWrapNoEncrypt the data stays in clear and is only signed.
func (c *Context) EncryptMessage(qop uint32, msg []Buffer, seq uint32) error {
	return c.protect(lsa.OpEncryptMessage, qop, msg, seq, nil)
}

// DecryptMessage checks and decrypts a message made by the peer's
// EncryptMessage, in place (DecryptMessage), and returns its quality of
// protection (QOPWrapNoEncrypt if it was only signed).
func (c *Context) DecryptMessage(msg []Buffer, seq uint32) (qop uint32, err error) {
	err = c.protect(lsa.OpDecryptMessage, 0, msg, seq, &qop)
	return qop, err
}

func (c *Context) protect(op lsa.MessageOp, qop uint32, msg []Buffer, seq uint32, qopOut *uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(); err != nil {
		return err
	}
	if u := c.user; u != nil {
		var err error
		switch op {
		case lsa.OpMakeSignature:
			err = u.MakeSignature(qop, msg, seq)
		case lsa.OpVerifySignature:
			*qopOut, err = u.VerifySignature(msg, seq)
		case lsa.OpEncryptMessage:
			err = u.SealMessage(qop, msg, seq)
		case lsa.OpDecryptMessage:
			*qopOut, err = u.UnsealMessage(msg, seq)
		}
		return err
	}
	ctx, cancel := c.p.bg()
	defer cancel()
	r, err := c.p.conn.ProtectMessage(ctx, &lsa.MessageRequest{Context: c.handle, Op: op, QOP: qop, Seq: seq, Buffers: msg})
	if err != nil {
		return err
	}
	if qopOut != nil {
		*qopOut = r.QOP
	}
	return copyBack(msg, r.Buffers)
}

// copyBack writes the buffers an LSA call returned into the caller's
// buffers. Over the embedded seam they are the same memory; over a socket
// they are copies.
func copyBack(dst, src []Buffer) error {
	if len(src) != len(dst) {
		return secpkg.Errorf(StatusInternalError, "sspi: LSA returned %d buffers for %d", len(src), len(dst))
	}
	for i := range dst {
		if len(src[i].Data) > cap(dst[i].Data) {
			return secpkg.Errorf(StatusBufferTooSmall, "sspi: buffer %d needs %d bytes", i, len(src[i].Data))
		}
		dst[i].Data = dst[i].Data[:len(src[i].Data)]
		copy(dst[i].Data, src[i].Data)
	}
	return nil
}

// Sign returns a signature of data made with MakeSignature.
func (c *Context) Sign(data []byte) ([]byte, error) {
	sz, err := c.Sizes()
	if err != nil {
		return nil, err
	}
	msg := []Buffer{
		{Type: secpkg.BufferData, Data: data},
		{Type: secpkg.BufferToken, Data: make([]byte, sz.MaxSignature)},
	}
	if err := c.MakeSignature(0, msg, 0); err != nil {
		return nil, err
	}
	return msg[1].Data, nil
}

// Verify checks a signature made by the peer's Sign.
func (c *Context) Verify(data, sig []byte) error {
	msg := []Buffer{
		{Type: secpkg.BufferData, Data: data},
		{Type: secpkg.BufferToken, Data: sig},
	}
	_, err := c.VerifySignature(msg, 0)
	return err
}

// Wrap protects plaintext as one token for the peer's Unwrap: encrypted
// and signed when encrypt is set, signed only otherwise (GSS_Wrap). The
// token is the EncryptMessage trailer followed by the data, as the SSPI
// sample exchanges them; a package whose protocol defines a wrap token
// makes trailer and data together exactly that token (Kerberos: an
// RFC 4121 4.2.6.2 wrap token rotated by its RRC, as Windows makes it).
// plaintext is not modified.
func (c *Context) Wrap(plaintext []byte, encrypt bool) ([]byte, error) {
	return c.AppendWrap(nil, encrypt, plaintext)
}

// AppendWrap appends to dst the token Wrap would make of the
// concatenation of parts, and returns the extended slice. With room in dst
// it allocates nothing: the parts are copied once and protected in place.
func (c *Context) AppendWrap(dst []byte, encrypt bool, parts ...[]byte) ([]byte, error) {
	qop := uint32(0)
	if !encrypt {
		qop = QOPWrapNoEncrypt
	}
	sz, err := c.Sizes()
	if err != nil {
		return dst, err
	}
	t := int(sz.SecurityTrailer)
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	start := len(dst)
	dst = slices.Grow(dst, t+n)[:start+t]
	for _, p := range parts {
		dst = append(dst, p...)
	}
	msg := []Buffer{
		{Type: secpkg.BufferToken, Data: dst[start : start+t]},
		{Type: secpkg.BufferData, Data: dst[start+t:]},
	}
	if err := c.EncryptMessage(qop, msg, 0); err != nil {
		return dst[:start], err
	}
	if k := len(msg[0].Data); k < t {
		copy(dst[start+k:], dst[start+t:])
		dst = dst[:start+k+n]
	}
	return dst, nil
}

// Unwrap checks and opens a token made by the peer's Wrap (GSS_Unwrap),
// reporting whether it was encrypted. token is not modified.
func (c *Context) Unwrap(token []byte) (plaintext []byte, encrypted bool, err error) {
	return c.UnwrapInPlace(append([]byte(nil), token...))
}

// UnwrapInPlace is Unwrap that decrypts inside token itself and returns
// the plaintext as a slice of it, allocating nothing. On failure token's
// contents are unspecified.
func (c *Context) UnwrapInPlace(token []byte) (plaintext []byte, encrypted bool, err error) {
	sz, err := c.Sizes()
	if err != nil {
		return nil, false, err
	}
	// cbSecurityTrailer bounds the trailer; a package whose trailer
	// varies (Kerberos: 60 bytes sealed, 28 signed only, with the SHA-1
	// types) may have written less, and the token of an empty message may
	// be shorter than the bound: the package then finds its trailer's
	// end. No token is shorter than a signature.
	t := int(sz.SecurityTrailer)
	if len(token) < min(t, int(sz.MaxSignature)) {
		return nil, false, secpkg.Errorf(StatusIncompleteMessage, "sspi: token of %d bytes is shorter than a %d-byte signature", len(token), min(t, int(sz.MaxSignature)))
	}
	t = min(t, len(token))
	msg := []Buffer{
		{Type: secpkg.BufferToken, Data: token[:t]},
		{Type: secpkg.BufferData, Data: token[t:]},
	}
	qop, err := c.DecryptMessage(msg, 0)
	if err != nil {
		return nil, false, err
	}
	return msg[1].Data, qop != QOPWrapNoEncrypt, nil
}
