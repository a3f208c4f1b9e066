package ntlm

import "github.com/opensspi/sspi/secpkg"

// userPackage is the user-mode half (SECPKG_USER_FUNCTION_TABLE).
type userPackage struct {
	fns secpkg.UserFunctions
}

var _ secpkg.UserPackage = (*userPackage)(nil)

// InstanceInit is SpInstanceInit.
func (u *userPackage) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	if version < secpkg.InterfaceVersion {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "ntlm: interface version %#x too old", version)
	}
	u.fns = fns
	return nil
}

// InitUserModeContext is SpInitUserModeContext: it unpacks the
// ContextData of an established context.
func (u *userPackage) InitUserModeContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	s, err := unpackSession(packed, originEstablished)
	if err != nil {
		return nil, err
	}
	return &userContext{s: s}, nil
}

// ImportContext is SpImportSecurityContext: it unpacks what ExportContext
// produced in another process.
func (u *userPackage) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	s, err := unpackSession(packed, originExported)
	if err != nil {
		return nil, err
	}
	return &userContext{s: s}, nil
}

// userContext is a mapped context in the application. The provider
// serializes calls on one context.
type userContext struct{ s *session }

var _ secpkg.UserContext = (*userContext)(nil)

// String describes the context without its keys.
func (u *userContext) String() string { return u.s.String() }

func (u *userContext) MakeSignature(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.makeSignature(qop, msg, seq)
}

func (u *userContext) VerifySignature(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.verifySignature(msg, seq)
}

func (u *userContext) SealMessage(qop uint32, msg []secpkg.Buffer, seq uint32) error {
	return u.s.seal(qop, msg, seq)
}

func (u *userContext) UnsealMessage(msg []secpkg.Buffer, seq uint32) (uint32, error) {
	return u.s.unseal(msg, seq)
}

func (u *userContext) Sizes() secpkg.Sizes { return sizes() }

func (u *userContext) StreamSizes() secpkg.StreamSizes { return streamSizes() }

func (u *userContext) SessionKey() ([]byte, error) { return u.s.sessionKey() }

// ExportContext is SpExportSecurityContext. The export captures the live
// RC4 states and sequence numbers; this context is then unusable, since
// two copies sealing with one key stream would reuse it.
func (u *userContext) ExportContext() ([]byte, error) {
	if err := u.s.usable(); err != nil {
		return nil, err
	}
	out := u.s.pack(originExported)
	u.s.exported = true
	u.s.wipe()
	return out, nil
}

// DeleteUserModeContext is SpDeleteUserModeContext: it wipes the keys.
func (u *userContext) DeleteUserModeContext() error {
	u.s.wipe()
	u.s.deleted = true
	return nil
}
