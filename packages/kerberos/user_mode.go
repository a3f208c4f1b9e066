package kerberos

import (
	"encoding/binary"
	"time"

	"github.com/opensspi/sspi/internal/krb5/kcrypto"
	"github.com/opensspi/sspi/secpkg"
)

// userPackage is the user-mode half (SECPKG_USER_FUNCTION_TABLE): it runs
// in the application and holds only packed contexts.
type userPackage struct {
	fns secpkg.UserFunctions
}

var _ secpkg.UserPackage = (*userPackage)(nil)

// InstanceInit is SpInstanceInit.
func (u *userPackage) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	if version < secpkg.InterfaceVersion {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "kerberos: interface version %#x too old", version)
	}
	u.fns = fns
	return nil
}

// InitUserModeContext is SpInitUserModeContext: it unpacks the
// ContextData of an established context.
func (u *userPackage) InitUserModeContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	m, expiry, err := unpackContext(packed, false, nil)
	if err != nil {
		return nil, err
	}
	return &userContext{m: m, expiry: expiry}, nil
}

// ImportContext is SpImportSecurityContext: it unpacks what ExportContext
// produced in another process.
func (u *userPackage) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	m, expiry, err := unpackContext(packed, true, nil)
	if err != nil {
		return nil, err
	}
	return &userContext{m: m, expiry: expiry}, nil
}

// timeNow is the user-mode half's clock (tests move it).
var timeNow = time.Now

// userContext is a mapped context in the application. The provider
// serializes calls on one context.
type userContext struct {
	m      *msgState // nil once exported or deleted
	expiry time.Time
}

var _ secpkg.UserContext = (*userContext)(nil)

// String describes the context without its keys.
func (u *userContext) String() string {
	if u.m == nil {
		return "kerberos.userContext(deleted)"
	}
	return "kerberos.userContext(" + u.m.String() + ")"
}

// usable fails for a deleted, exported or expired context.
func (u *userContext) usable() error {
	if u.m == nil {
		return secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: the context was deleted or exported")
	}
	if !u.expiry.IsZero() && timeNow().After(u.expiry) {
		return secpkg.Errorf(secpkg.StatusContextExpired, "kerberos: the context expired with its ticket at %v", u.expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

func (u *userContext) MakeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	if err := u.usable(); err != nil {
		return err
	}
	return u.m.makeSignature(qop, msg)
}

func (u *userContext) VerifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	return u.m.verifySignature(msg)
}

func (u *userContext) SealMessage(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	if err := u.usable(); err != nil {
		return err
	}
	return u.m.sealMessage(qop, msg)
}

func (u *userContext) UnsealMessage(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	return unseal(u.m, msg)
}

func (u *userContext) Sizes() secpkg.Sizes {
	if u.m == nil {
		return secpkg.Sizes{MaxToken: cfxMaxToken}
	}
	return u.m.sizes()
}

func (u *userContext) StreamSizes() secpkg.StreamSizes {
	if u.m == nil {
		return secpkg.StreamSizes{}
	}
	return u.m.streamSizes()
}

// SessionKey answers SECPKG_ATTR_SESSION_KEY: the context key.
func (u *userContext) SessionKey() ([]byte, error) {
	if u.m == nil {
		return nil, secpkg.Errorf(secpkg.StatusInvalidHandle, "kerberos: the context was deleted or exported")
	}
	return append([]byte(nil), u.m.key...), nil
}

// ExportContext is SpExportSecurityContext: the key and both sequence
// states. This context is unusable afterwards, so that two copies never
// send with one sequence number.
func (u *userContext) ExportContext() ([]byte, error) {
	if err := u.usable(); err != nil {
		return nil, err
	}
	out := packContext(u.m, u.expiry, true)
	u.m.wipe()
	u.m = nil
	return out, nil
}

// DeleteUserModeContext is SpDeleteUserModeContext: it wipes the keys.
func (u *userContext) DeleteUserModeContext() error {
	if u.m != nil {
		u.m.wipe()
		u.m = nil
	}
	return nil
}

// unseal is SpUnsealMessage on either half. An application that does not
// know a token's trailer length splits a whole token at cbSecurityTrailer
// (as sspi.Context.Unwrap does), which for Kerberos is longer than the
// trailer actually written: a TOKEN buffer that is not a trailer and is
// immediately followed in memory by the only DATA buffer is then read as
// the whole token it is (SECBUFFER_STREAM).
func unseal(m *msgState, msg []secpkg.Buffer) (uint32, error) {
	if len(msg) == 2 && msg[0].Type == secpkg.BufferToken && msg[1].Type == secpkg.BufferData {
		tok, data := msg[0].Data, msg[1].Data
		if whole, ok := contiguous(tok, data); ok && !isTrailer(m, tok) {
			stream := []secpkg.Buffer{{Type: secpkg.BufferStream, Data: whole}, {Type: secpkg.BufferData}}
			qop, err := m.unsealMessage(stream)
			if stream[1].Data != nil {
				msg[0].Data = tok[:0]
				msg[1].Data = stream[1].Data
			}
			return qop, err
		}
	}
	return m.unsealMessage(msg)
}

// contiguous returns a and b as one slice if b starts where a ends.
func contiguous(a, b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return a, true
	}
	if cap(a)-len(a) < len(b) {
		return nil, false
	}
	whole := a[:len(a)+len(b)]
	return whole, &whole[len(a)] == &b[0]
}

// isTrailer reports whether tok is a trailer as Windows and our
// EncryptMessage write it (RFC 4121 4.2.6.2): the length its header
// announces, and an RRC that rotates the data to after it. A whole token
// with RRC 0 (MIT's gss_wrap) of an empty message has a trailer's length
// too, but not its RRC.
func isTrailer(m *msgState, tok []byte) bool {
	if len(tok) < cfxHeaderLen {
		return true // let unsealMessage say what is wrong
	}
	ec := int(binary.BigEndian.Uint16(tok[4:6]))
	rrc := int(binary.BigEndian.Uint16(tok[6:8]))
	if tok[2]&cfxFlagSealed == 0 {
		return len(tok) == cfxHeaderLen+m.h && rrc == m.h
	}
	return len(tok) == cfxHeaderLen+ec+cfxHeaderLen+m.h+kcrypto.ConfounderSize && rrc == ec+cfxHeaderLen+m.h
}
