package sspi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Provider is the security provider of an application process (the role
// of secur32.dll): it forwards credential and handshake calls to the LSA
// over an [lsa.Conn], initializes the user-mode half of each package the
// first time one of its contexts is mapped (SpUserModeInitialize, then
// SpInstanceInit), and runs per-message work locally for mapped contexts.
//
// A Provider is safe for concurrent use. Most programs use the default
// provider through the package-level functions ([AcquireCredentials],
// [Packages]); tests and servers that want their own LSA build one with
// [NewProvider] over a connection from [OpenLSA].
type Provider struct {
	conn        lsa.Conn
	log         *slog.Logger
	callTimeout time.Duration

	mu       sync.Mutex
	user     map[string]*userHalf // lower-case package name
	contexts map[secpkg.Handle]*Context
	nextH    atomic.Uint64

	pkgMu sync.Mutex
	pkgs  []PackageInfo // the enabled packages, once the LSA has listed them
}

type userHalf struct {
	pkg  secpkg.UserPackage
	name string
	err  error
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
		user:        make(map[string]*userHalf),
		contexts:    make(map[secpkg.Handle]*Context),
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
func (p *Provider) Close() error { return p.conn.Close() }

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

// userPackage returns the initialized user-mode half of a package, running
// SpUserModeInitialize and SpInstanceInit the first time.
func (p *Provider) userPackage(name string) (*userHalf, error) {
	key := strings.ToLower(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.user[key]; ok {
		return u, u.err
	}
	u := &userHalf{name: name}
	u.err = func() error {
		pkg, canonical, ok := secpkg.Lookup(name)
		if !ok {
			return secpkg.Errorf(StatusPackageNotFound, "sspi: package %s is not registered in this process", name)
		}
		u.name = canonical
		version, up, err := pkg.UserModeInitialize(secpkg.InterfaceVersion)
		if err != nil {
			return fmt.Errorf("sspi: SpUserModeInitialize of %s: %w", canonical, err)
		}
		if version == 0 || version > secpkg.InterfaceVersion || up == nil {
			return secpkg.Errorf(StatusCannotInstall, "sspi: %s user mode returned interface version %#x", canonical, version)
		}
		if err := up.InstanceInit(version, &userFunctions{p: p, pkg: canonical}); err != nil {
			return fmt.Errorf("sspi: SpInstanceInit of %s: %w", canonical, err)
		}
		u.pkg = up
		return nil
	}()
	if u.err != nil {
		p.log.Debug("user-mode half unavailable; contexts stay in the LSA", "package", name, "err", u.err)
	}
	p.user[key] = u
	return u, u.err
}

func (p *Provider) canMap(name string) bool {
	_, err := p.userPackage(name)
	return err == nil
}

func (p *Provider) register(c *Context) secpkg.Handle {
	h := secpkg.Handle(p.nextH.Add(1))
	p.mu.Lock()
	p.contexts[h] = c
	p.mu.Unlock()
	return h
}

func (p *Provider) unregister(h secpkg.Handle) {
	p.mu.Lock()
	delete(p.contexts, h)
	p.mu.Unlock()
}

// userFunctions are the helpers a user-mode half receives
// (SECPKG_DLL_FUNCTIONS).
type userFunctions struct {
	p   *Provider
	pkg string
}

func (f *userFunctions) CallLSA(ctx context.Context, h secpkg.Handle, id uint32, input []byte) ([]byte, error) {
	f.p.mu.Lock()
	c := f.p.contexts[h]
	f.p.mu.Unlock()
	if c == nil {
		return nil, secpkg.Errorf(StatusInvalidHandle, "sspi: callback for unknown context")
	}
	return f.p.conn.CallPackage(ctx, c.handle, id, input)
}

func (f *userFunctions) Logger() *slog.Logger { return f.p.log.With("package", f.pkg) }

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
