package negotiate

import (
	"fmt"
	"strings"
	"sync"

	"github.com/opensspi/sspi/secpkg"
)

// userPackage is Negotiate's user-mode half. A Negotiate context is the
// chosen package's context: it initializes that package's user-mode half
// (once per process, as the provider does for a package it maps itself)
// and hands it the chosen package's ContextData.
type userPackage struct {
	fns secpkg.UserFunctions

	mu   sync.Mutex
	subs map[string]secpkg.UserPackage // by lower-case package name
}

var _ secpkg.UserPackage = (*userPackage)(nil)

// InstanceInit is SpInstanceInit.
func (u *userPackage) InstanceInit(version uint32, fns secpkg.UserFunctions) error {
	if version < secpkg.InterfaceVersion {
		return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: interface version %#x too old", version)
	}
	u.fns = fns
	return nil
}

// sub returns the user-mode half of the package named name, running its
// SpUserModeInitialize and SpInstanceInit the first time.
func (u *userPackage) sub(name string) (secpkg.UserPackage, error) {
	key := strings.ToLower(name)
	u.mu.Lock()
	defer u.mu.Unlock()
	if up, ok := u.subs[key]; ok {
		return up, nil
	}
	pkg, canonical, ok := secpkg.Lookup(name)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusPackageNotFound, "negotiate: package %s is not registered in this process", name)
	}
	umi, ok := pkg.(secpkg.UserModeInitializer)
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: package %s has no user-mode half", canonical)
	}
	version, up, err := umi.UserModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		return nil, fmt.Errorf("negotiate: SpUserModeInitialize of %s: %w", canonical, err)
	}
	if version == 0 || version > secpkg.InterfaceVersion || up == nil {
		return nil, secpkg.Errorf(secpkg.StatusCannotInstall, "negotiate: %s user mode returned interface version %#x", canonical, version)
	}
	if err := up.InstanceInit(version, u.fns); err != nil {
		return nil, fmt.Errorf("negotiate: SpInstanceInit of %s: %w", canonical, err)
	}
	if u.subs == nil {
		u.subs = make(map[string]secpkg.UserPackage)
	}
	u.subs[key] = up
	return up, nil
}

// InitUserModeContext is SpInitUserModeContext.
func (u *userPackage) InitUserModeContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	return u.open(h, packed, secpkg.UserPackage.InitUserModeContext)
}

// ImportContext is SpImportSecurityContext.
func (u *userPackage) ImportContext(h secpkg.UserContextHandle, packed []byte) (secpkg.UserContext, error) {
	return u.open(h, packed, secpkg.UserPackage.ImportContext)
}

func (u *userPackage) open(h secpkg.UserContextHandle, packed []byte, f func(secpkg.UserPackage, secpkg.UserContextHandle, []byte) (secpkg.UserContext, error)) (secpkg.UserContext, error) {
	name, inner, err := unpackContext(packed)
	if err != nil {
		return nil, err
	}
	up, err := u.sub(name)
	if err != nil {
		return nil, err
	}
	uc, err := f(up, h, inner)
	if err != nil {
		return nil, err
	}
	return &userContext{UserContext: uc, name: name}, nil
}

// userContext is the chosen package's user-mode context; only its export
// is Negotiate's, so that an import finds the package again.
type userContext struct {
	secpkg.UserContext
	name string
}

// ExportContext is SpExportSecurityContext.
func (c *userContext) ExportContext() ([]byte, error) {
	inner, err := c.UserContext.ExportContext()
	if err != nil {
		return nil, err
	}
	return packContext(c.name, inner), nil
}

// CompleteAuthToken passes SpCompleteAuthToken to the chosen package.
func (c *userContext) CompleteAuthToken(msg []secpkg.Buffer) error {
	if ac, ok := c.UserContext.(secpkg.AuthTokenCompleter); ok {
		return ac.CompleteAuthToken(msg)
	}
	return secpkg.Errorf(secpkg.StatusUnsupportedFunction, "negotiate: %s completes no tokens", c.name)
}
