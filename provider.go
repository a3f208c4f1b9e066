package sspi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Provider is the security provider of an application process (the role
// of secur32.dll): it forwards credential and handshake calls to the LSA
// over an [lsa.Conn] and runs per-message work locally for mapped
// contexts. The user-mode half of each package is initialized once per
// process (SpUserModeInitialize, then SpInstanceInit), when the first of
// its contexts is mapped, by whichever provider maps it.
//
// A Provider is safe for concurrent use. Most programs use the default
// provider through the package-level functions ([AcquireCredentials],
// [Packages]); tests and servers that want their own LSA build one with
// [NewProvider] over a connection from [OpenLSA].
type Provider struct {
	conn        lsa.Conn
	log         *slog.Logger
	callTimeout time.Duration

	pkgMu sync.Mutex
	pkgs  []PackageInfo // the enabled packages, once the LSA has listed them
}

// ProviderConfig configures a Provider. The zero value is usable.
type ProviderConfig struct {
	// Logger receives the provider's diagnostics and is handed to
	// user-mode package halves. Nil discards.
	Logger *slog.Logger
	// CallTimeout bounds LSA calls made by functions that take no
	// context.Context (message functions on unmapped contexts, Delete,
	// Free). Zero means 30 seconds.
	CallTimeout time.Duration
}

// NewProvider returns a provider that talks to the LSA over conn. The
// provider owns conn and closes it in Close.
func NewProvider(conn lsa.Conn, cfg *ProviderConfig) *Provider {
	p := &Provider{
		conn:        conn,
		callTimeout: 30 * time.Second,
	}
	if cfg != nil {
		p.log = cfg.Logger
		if cfg.CallTimeout > 0 {
			p.callTimeout = cfg.CallTimeout
		}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Close releases every handle the provider holds in the LSA by closing its
// connection (which, for an embedded LSA, also stops the engine).
func (p *Provider) Close() error {
	userModes.forget(p)
	return p.conn.Close()
}

func (p *Provider) bg() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.callTimeout)
}

// Packages returns the enabled security packages in order
// (EnumerateSecurityPackages). The first list the LSA returns is kept; a
// call that fails is tried again by the next. Each caller waits for the
// LSA under its own ctx: callers that find no list yet each ask, rather
// than one caller's context deciding for all.
func (p *Provider) Packages(ctx context.Context) ([]PackageInfo, error) {
	p.pkgMu.Lock()
	pkgs := p.pkgs
	p.pkgMu.Unlock()
	if pkgs == nil {
		list, err := p.conn.EnumeratePackages(ctx)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []PackageInfo{}
		}
		p.pkgMu.Lock()
		if p.pkgs == nil {
			p.pkgs = list
		}
		pkgs = p.pkgs
		p.pkgMu.Unlock()
	}
	return append([]PackageInfo(nil), pkgs...), nil
}

// QueryPackage returns one package's information (QuerySecurityPackageInfo).
// Names are compared without regard to case.
func (p *Provider) QueryPackage(ctx context.Context, name string) (PackageInfo, error) {
	pkgs, err := p.Packages(ctx)
	if err != nil {
		return PackageInfo{}, err
	}
	for _, pi := range pkgs {
		if strings.EqualFold(pi.Name, name) {
			return pi, nil
		}
	}
	return PackageInfo{}, packageHint(name, secpkg.Errorf(StatusPackageNotFound, "sspi: no security package %q", name))
}

// packageHint adds to err, if it says a package was not found, how to get
// one that this program has not registered: an LSA in the process offers
// only the packages the program registers, and a program needs a
// package's user-mode half to run its contexts' messages locally.
func packageHint(name string, err error) error {
	if !errors.Is(err, StatusPackageNotFound) {
		return err
	}
	if _, _, ok := secpkg.Lookup(name); ok {
		return err
	}
	detail := strings.ReplaceAll(err.Error(), " ("+StatusPackageNotFound.String()+")", "")
	return &Error{Status: StatusPackageNotFound, Err: err, Detail: fmt.Sprintf(
		"%s; this program has not registered a package %q: import _ %q (the built-in packages) or the package itself",
		detail, name, "github.com/opensspi/sspi/packages/all")}
}

// userModes are this process's user-mode package halves and its mapped
// contexts. A package's half is initialized once per process
// (SpUserModeInitialize, then SpInstanceInit), when the first of its
// contexts is mapped; every mapped context of every provider has a
// UserContextHandle here, by which the half's callbacks
// (UserFunctions.CallLSA) find the context's LSA handle.
var userModes = &userModeTable{halves: make(map[string]*userHalf), mapped: make(map[secpkg.UserContextHandle]mappedContext)}

type userModeTable struct {
	mu     sync.Mutex
	halves map[string]*userHalf // lower-case package name
	mapped map[secpkg.UserContextHandle]mappedContext
	next   secpkg.UserContextHandle
}

// userHalf is one package's user-mode half; mu serializes its
// initialization.
type userHalf struct {
	mu   sync.Mutex
	done bool
	name string
	pkg  secpkg.UserPackage
	err  error // sticky: the package maps no context in this process
}

// mappedContext is what a callback needs of a mapped context.
type mappedContext struct {
	p      *Provider
	pkg    string
	handle lsa.SecHandle
}

func (t *userModeTable) half(name string) *userHalf {
	key := strings.ToLower(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.halves[key]
	if u == nil {
		u = &userHalf{name: name}
		t.halves[key] = u
	}
	return u
}

// canMap reports whether contexts of the package can be mapped into this
// process: it is registered here with a user-mode half (it implements
// secpkg.UserModeInitializer, as a DLL exports SpUserModeInitialize) whose
// initialization has not failed. It initializes nothing: the LSA asks on
// every leg (CanMap), long before a context is mapped.
func canMap(name string) bool {
	pkg, _, ok := secpkg.Lookup(name)
	if !ok {
		return false
	}
	if _, ok := pkg.(secpkg.UserModeInitializer); !ok {
		return false
	}
	u := userModes.half(name)
	u.mu.Lock()
	defer u.mu.Unlock()
	return !u.done || u.err == nil
}

// userPackage returns the package's user-mode half, initializing it if
// this is the process's first mapped context of the package. p's logger
// becomes the half's (UserFunctions.Logger).
func (p *Provider) userPackage(name string) (secpkg.UserPackage, error) {
	u := userModes.half(name)
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.done {
		u.done = true
		u.err = u.initialize(p.log)
		if u.err != nil {
			p.log.Debug("user-mode half unavailable; contexts stay in the LSA", "package", name, "err", u.err)
		}
	}
	return u.pkg, u.err
}

// initialize runs SpUserModeInitialize and SpInstanceInit. u.mu is held.
func (u *userHalf) initialize(log *slog.Logger) error {
	pkg, canonical, ok := secpkg.Lookup(u.name)
	if !ok {
		return secpkg.Errorf(StatusPackageNotFound, "sspi: package %s is not registered in this process", u.name)
	}
	u.name = canonical
	um, ok := pkg.(secpkg.UserModeInitializer)
	if !ok {
		return secpkg.Errorf(StatusUnsupportedFunction, "sspi: package %s has no user-mode half", canonical)
	}
	version, up, err := um.UserModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		return fmt.Errorf("sspi: SpUserModeInitialize of %s: %w", canonical, err)
	}
	if version == 0 || version > secpkg.InterfaceVersion || up == nil {
		return secpkg.Errorf(StatusCannotInstall, "sspi: %s user mode returned interface version %#x", canonical, version)
	}
	if err := up.InstanceInit(version, &userFunctions{pkg: canonical, log: log}); err != nil {
		return fmt.Errorf("sspi: SpInstanceInit of %s: %w", canonical, err)
	}
	u.pkg = up
	return nil
}

// register names a mapped context for its package's user-mode half.
func (t *userModeTable) register(c *Context) secpkg.UserContextHandle {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	t.mapped[t.next] = mappedContext{p: c.p, pkg: c.pkg, handle: c.handle}
	return t.next
}

func (t *userModeTable) unregister(h secpkg.UserContextHandle) {
	t.mu.Lock()
	delete(t.mapped, h)
	t.mu.Unlock()
}

// forget drops the mapped contexts of a provider being closed.
func (t *userModeTable) forget(p *Provider) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, m := range t.mapped {
		if m.p == p {
			delete(t.mapped, h)
		}
	}
}

// userFunctions are the helpers a package's user-mode half receives
// (SECPKG_DLL_FUNCTIONS), once per process.
type userFunctions struct {
	pkg string
	log *slog.Logger // the logger of the provider that initialized the half
}

// CallLSA sends a callback to the LSA-mode half for one of this package's
// mapped contexts, over the connection of the provider that holds it.
func (f *userFunctions) CallLSA(ctx context.Context, h secpkg.UserContextHandle, id uint32, input []byte) ([]byte, error) {
	userModes.mu.Lock()
	m, ok := userModes.mapped[h]
	userModes.mu.Unlock()
	if !ok || !strings.EqualFold(m.pkg, f.pkg) {
		return nil, secpkg.Errorf(StatusInvalidHandle, "sspi: callback for unknown context")
	}
	return m.p.conn.CallPackage(ctx, m.handle, id, input)
}

func (f *userFunctions) Logger() *slog.Logger { return f.log.With("package", f.pkg) }

// LogonSession describes a logon session in the LSA (no secrets).
type LogonSession = lsa.LogonSessionInfo

// LogonUser performs an interactive logon with a package (LsaLogonUser):
// the LSA validates identity and keeps the credentials the package needs
// in a new logon session of the calling user, from which later default
// credentials ([AcquireCredentials] without an identity) are drawn. The
// application does not need to keep the password.
func (p *Provider) LogonUser(ctx context.Context, pkg string, identity *AuthIdentity) (*LogonSession, error) {
	if identity == nil {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: LogonUser needs an identity")
	}
	ls, err := p.conn.LogonUser(ctx, &lsa.LogonUserRequest{Package: pkg, Identity: *identity})
	return ls, packageHint(pkg, err)
}

// LogonSessions lists the calling user's logon sessions.
func (p *Provider) LogonSessions(ctx context.Context) ([]LogonSession, error) {
	return p.conn.LogonSessions(ctx)
}

// Logoff ends one of the calling user's logon sessions.
func (p *Provider) Logoff(ctx context.Context, id LogonID) error {
	return p.conn.Logoff(ctx, id)
}

var (
	defaultOnce     sync.Once
	defaultProvider *Provider
	defaultErr      error
)

// Default returns the process's default provider, creating it on first
// use from the environment: NewProvider(OpenLSA(LSAConfigFromEnv())).
func Default() (*Provider, error) {
	defaultOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := OpenLSA(ctx, LSAConfigFromEnv())
		if err != nil {
			defaultErr = err
			return
		}
		defaultProvider = NewProvider(conn, nil)
	})
	return defaultProvider, defaultErr
}

// Packages returns the enabled security packages of the default provider
// (EnumerateSecurityPackages).
func Packages(ctx context.Context) ([]PackageInfo, error) {
	p, err := Default()
	if err != nil {
		return nil, err
	}
	return p.Packages(ctx)
}

// QueryPackage returns one package of the default provider
// (QuerySecurityPackageInfo).
func QueryPackage(ctx context.Context, name string) (PackageInfo, error) {
	p, err := Default()
	if err != nil {
		return PackageInfo{}, err
	}
	return p.QueryPackage(ctx, name)
}
