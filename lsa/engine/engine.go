// Package engine is the Local Security Authority engine (the role of
// LSASS): it loads the enabled security packages, holds every long-term
// secret (explicit credentials, logon sessions, the account store), runs
// the LSA-mode half of each package, and hands applications handles and,
// once a context is established, packed contexts that carry session keys
// only.
//
// The engine runs in the application's process (package embedded) or
// inside the lsad daemon behind a Unix socket (package lsa/lsarpc); both
// present the same [lsa.Conn] seam, which [Engine.Connect] returns.
//
// It is the authority side of the design: it may import secpkg, the seam
// (lsa) and the account store (accounts); only lsad, the CLI, package
// embedded and tests import it, never the application API.
//
// # Limits
//
// Every input token is bounded (Config.MaxTokenSize, 48 KiB by default,
// the Windows MaxTokenSize), and every unfinished context has a leg limit
// and a deadline. A failed step makes a context's error sticky; only
// DeleteContext frees it. Handles are random, carry the engine's boot
// epoch, and belong to the connection that created them.
//
// One local user must not be able to starve the others, so everything a
// caller can make the engine hold is bounded per caller uid:
//
//	what                                     bound (Config field, default)
//	credentials, contexts, pending exports   MaxHandlesPerCaller, 16384 together
//	tokens kept by unfinished handshakes     MaxHandshakeBytesPerCaller, 64 MiB
//	unfinished handshakes, each              MaxLegs 16, HandshakeTimeout 2m
//	pending exports, each                    ExportLifetime 5m
//	logon sessions                           MaxLogonSessionsPerCaller 64 (a new
//	                                         one ends the oldest), each for
//	                                         LogonSessionLifetime 10h
//	credentials in one logon session         16 entries, 64 KiB together
//	replay cache entries                     1/16 of the cache's 2^20
//	password checks                          PasswordChecksPerSecond
//
// Connections are bounded by whoever calls Connect (lsad's protocol server
// limits them per uid). No call of one uid walks another uid's state: each
// connection keeps its own handle table, the logon sessions are indexed
// by uid, and the per-uid counts are constant-time.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/opensspi/sspi/lsa"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/secpkg"
)

// Defaults for Config.
const (
	DefaultMaxTokenSize               = 48 * 1024
	DefaultMaxLegs                    = 16
	DefaultHandshakeTimeout           = 2 * time.Minute
	DefaultMaxHandlesPerCaller        = 16384
	DefaultMaxHandshakeBytesPerCaller = 64 << 20
	DefaultExportLifetime             = 5 * time.Minute
	DefaultMaxLogonSessionsPerCaller  = 64
	DefaultLogonSessionLifetime       = 10 * time.Hour
	DefaultReplayCacheEntries         = 1 << 20
	defaultReplayAmnesia              = 10 * time.Minute
)

// Config configures an Engine. The zero value is usable: every registered
// package enabled, no account store, default limits. A Config must not be
// modified after it is passed to New.
type Config struct {
	// Packages lists the enabled packages in order (the "Security
	// Packages" registry value). Nil enables every registered package in
	// registration order.
	Packages []string
	// Parameters describe the machine to packages (SECPKG_PARAMETERS).
	// Empty names are filled from the host name.
	Parameters secpkg.Parameters
	// Accounts is the account store. Nil means no local accounts: every
	// lookup finds nothing.
	Accounts accounts.Store
	// Configured supplies, by package name (without regard to case), a
	// package value to load in place of the one registered under that
	// name: how a daemon configures a package, such as lsad building
	// ntlm.New(&ntlm.Config{…}) from its configuration file. The name
	// must be registered, since applications find the package's
	// user-mode half there.
	Configured map[string]secpkg.Package

	MaxTokenSize     int           // input token limit; 0 means DefaultMaxTokenSize
	MaxLegs          int           // legs per context; 0 means DefaultMaxLegs
	HandshakeTimeout time.Duration // deadline for unfinished contexts; 0 means DefaultHandshakeTimeout
	// MaxHandlesPerCaller bounds what one uid holds at once: credentials
	// handles, contexts and exported contexts not imported yet, together.
	// 0 means DefaultMaxHandlesPerCaller. A call over it fails with
	// SEC_E_INSUFFICIENT_MEMORY.
	MaxHandlesPerCaller int
	// MaxHandshakeBytesPerCaller bounds the tokens (in and out) one uid's
	// unfinished contexts hold: a multi-leg package keeps a handshake's
	// messages until it ends. 0 means DefaultMaxHandshakeBytesPerCaller. A
	// leg over it fails with SEC_E_INSUFFICIENT_MEMORY.
	MaxHandshakeBytesPerCaller int64
	ExportLifetime             time.Duration // how long an exported context waits for import; 0 means DefaultExportLifetime
	// MaxLogonSessionsPerCaller bounds the logon sessions of one uid
	// (LogonUser); a new one beyond it ends the uid's oldest. 0 means
	// DefaultMaxLogonSessionsPerCaller.
	MaxLogonSessionsPerCaller int
	// LogonSessionLifetime is how long a logon session lasts; the LSA
	// then ends it as if logged off, and default credentials need a new
	// logon. 0 means DefaultLogonSessionLifetime.
	LogonSessionLifetime time.Duration
	// ReplayCacheFile is a file that keeps the acceptor replay cache
	// (LSAFunctions.CheckReplay) across restarts of the LSA, so that an
	// authenticator accepted before a crash is still refused after it
	// (RFC 4120 3.2.3); LSAs that open the same file share it. It is
	// created (mode 0600) if missing; a file that is not a replay cache
	// stops New. Empty keeps the cache in memory only, lost when the LSA
	// stops. The LSA holds the file alone, unless ReplayCacheShared.
	ReplayCacheFile string
	// ReplayCacheShared lets several LSAs (processes) use ReplayCacheFile
	// at once, as the embedded LSAs of one user's applications do: each
	// check then locks the file. Every LSA of the file must set it; an
	// LSA that holds the file alone (lsad) refuses to share it.
	ReplayCacheShared bool
	// ReadCallerFile reads a file on behalf of a caller, with the
	// caller's rights, for a package given a file name by the caller
	// (secpkg.CallerFileReader). Nil reads it for a caller in the LSA's
	// own process or of the LSA's own uid, and refuses every other: a
	// daemon that runs with more rights than its callers sets it (lsad:
	// with the caller's filesystem uid and gid).
	ReadCallerFile func(caller secpkg.CallInfo, path string, max int64) ([]byte, error)
	// ReplayCacheEntries bounds the live entries of the replay cache;
	// one uid may hold a sixteenth of them. 0 means
	// DefaultReplayCacheEntries.
	ReplayCacheEntries int
	// ReplayAmnesia is how long the LSA refuses the authenticators that
	// could be replays of a record it lost to damage of the replay cache
	// file; it must exceed the longest life of an entry (twice the
	// largest clock skew of the packages). 0 means ten minutes.
	ReplayAmnesia time.Duration
	// SweepInterval is how often expired handshakes, exports, logon
	// sessions and replay entries are swept; 0 means a quarter of HandshakeTimeout, at most
	// 30 seconds.
	SweepInterval time.Duration

	// Authorize, if not nil, decides every request that acquires
	// credentials, logs a user on or administers accounts; an error
	// refuses it. The daemon sets it from its policy file; the embedded
	// engine (where the caller is the process itself) leaves it nil.
	Authorize func(caller secpkg.CallInfo, a Access) error
	// PasswordChecksPerSecond limits, per caller uid, how often packages
	// may check a password (look an account up to verify a response),
	// with bursts of PasswordCheckBurst. Zero means unlimited.
	PasswordChecksPerSecond float64
	PasswordCheckBurst      int

	// Time is the clock; nil means time.Now.
	Time func() time.Time
	// Rand is the randomness source handed to packages; nil means
	// crypto/rand.
	Rand io.Reader
	// Logger receives operational logs and audit events (under the
	// "audit" message); nil discards them. Nothing logged contains a
	// secret.
	Logger *slog.Logger
}

// Engine is a running LSA.
//
// Its state is split so that no call waits for work on another caller's
// state: each connection keeps its handle table under its own lock (see
// conn), and the tables here each have a lock of their own, held for
// constant-time work on the request path.
type Engine struct {
	cfg       Config
	epoch     uint64
	exportKey []byte
	log       *slog.Logger

	// pkgMu guards the package list, which SetEnabled changes.
	pkgMu    sync.RWMutex
	packages []*loadedPackage
	byName   map[string]*loadedPackage
	enabled  map[string]bool // lower-case names of packages new requests may use

	// mu guards the set of connections and closed.
	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool

	// exportsMu guards exports; nil after Close.
	exportsMu sync.Mutex
	exports   map[[16]byte]*pendingExport

	janitor  chan struct{}
	janitorW sync.WaitGroup

	quotas  *quotas
	logons  *logonTable
	replay  *replayCache
	limiter *rateLimiter
}

type loadedPackage struct {
	id      uint32
	name    string
	version uint32
	info    secpkg.PackageInfo
	lsa     secpkg.LSAPackage
	fns     *packageFunctions
}

// New starts an engine: it initializes every enabled package
// (SpLsaModeInitialize, then SpInitialize and SpGetInfo).
func New(cfg *Config) (*Engine, error) {
	e := &Engine{
		conns:   make(map[*conn]struct{}),
		exports: make(map[[16]byte]*pendingExport),
		byName:  make(map[string]*loadedPackage),
		janitor: make(chan struct{}),
	}
	if cfg != nil {
		e.cfg = *cfg
	}
	c := &e.cfg
	if c.MaxTokenSize <= 0 {
		c.MaxTokenSize = DefaultMaxTokenSize
	}
	if c.MaxLegs <= 0 {
		c.MaxLegs = DefaultMaxLegs
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxHandlesPerCaller <= 0 {
		c.MaxHandlesPerCaller = DefaultMaxHandlesPerCaller
	}
	if c.MaxHandshakeBytesPerCaller <= 0 {
		c.MaxHandshakeBytesPerCaller = DefaultMaxHandshakeBytesPerCaller
	}
	if c.ExportLifetime <= 0 {
		c.ExportLifetime = DefaultExportLifetime
	}
	if c.MaxLogonSessionsPerCaller <= 0 {
		c.MaxLogonSessionsPerCaller = DefaultMaxLogonSessionsPerCaller
	}
	if c.LogonSessionLifetime <= 0 {
		c.LogonSessionLifetime = DefaultLogonSessionLifetime
	}
	if c.Time == nil {
		c.Time = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	e.log = c.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	fillParameters(&c.Parameters)
	e.epoch = randomUint64()
	e.exportKey = make([]byte, 32)
	rand.Read(e.exportKey)
	e.quotas = newQuotas(c.MaxHandlesPerCaller, c.MaxHandshakeBytesPerCaller)
	e.logons = newLogonTable(c.MaxLogonSessionsPerCaller, c.LogonSessionLifetime)
	if c.ReplayCacheEntries <= 0 {
		c.ReplayCacheEntries = DefaultReplayCacheEntries
	}
	if c.ReplayAmnesia <= 0 {
		c.ReplayAmnesia = defaultReplayAmnesia
	}
	e.replay = newReplayCache(c.ReplayCacheEntries)
	if c.ReplayCacheFile != "" {
		f, err := openReplayFile(c.ReplayCacheFile, c.ReplayAmnesia, c.ReplayCacheShared)
		if err != nil {
			return nil, err
		}
		e.replay.file = f
	}
	e.limiter = newRateLimiter(c.PasswordChecksPerSecond, c.PasswordCheckBurst)
	e.enabled = make(map[string]bool)

	names := c.Packages
	if names == nil {
		names = secpkg.Registered()
	}
	ctx := context.Background()
	for _, name := range names {
		if err := e.load(ctx, name); err != nil {
			e.shutdownPackages(ctx)
			e.replay.close()
			return nil, err
		}
	}
	e.janitorW.Add(1)
	go e.runJanitor()
	return e, nil
}

func (e *Engine) load(ctx context.Context, name string) error {
	pkg, canonical, ok := secpkg.Lookup(name)
	if !ok {
		return secpkg.Errorf(secpkg.StatusPackageNotFound, "lsa: package %q is not registered", name)
	}
	for n, configured := range e.cfg.Configured {
		if strings.EqualFold(n, canonical) && configured != nil {
			pkg = configured
		}
	}
	key := strings.ToLower(canonical)
	if _, dup := e.byName[key]; dup {
		return secpkg.Errorf(secpkg.StatusCannotInstall, "lsa: package %q enabled twice", canonical)
	}
	version, lsaPkg, err := pkg.LSAModeInitialize(secpkg.InterfaceVersion)
	if err != nil {
		return fmt.Errorf("lsa: SpLsaModeInitialize of %s: %w", canonical, err)
	}
	if version == 0 || version > secpkg.InterfaceVersion || lsaPkg == nil {
		return secpkg.Errorf(secpkg.StatusCannotInstall, "lsa: package %s returned interface version %#x, want at most %#x", canonical, version, secpkg.InterfaceVersion)
	}
	e.pkgMu.RLock()
	lp := &loadedPackage{id: uint32(len(e.packages)), name: canonical, version: version, lsa: lsaPkg}
	e.pkgMu.RUnlock()
	lp.fns = &packageFunctions{e: e, pkg: lp}
	params := e.cfg.Parameters
	params.Version = version
	if err := lsaPkg.Initialize(ctx, lp.id, &params, lp.fns); err != nil {
		return fmt.Errorf("lsa: SpInitialize of %s: %w", canonical, err)
	}
	lp.info = lsaPkg.GetInfo()
	if lp.info.Name == "" {
		lp.info.Name = canonical
	}
	e.pkgMu.Lock()
	e.packages = append(e.packages, lp)
	e.byName[key] = lp
	e.enabled[key] = true
	e.pkgMu.Unlock()
	e.log.Debug("package loaded", "package", canonical, "id", lp.id, "version", version)
	return nil
}

func fillParameters(p *secpkg.Parameters) {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	short, _, _ := strings.Cut(host, ".")
	if p.MachineName == "" {
		p.MachineName = strings.ToUpper(netbiosName(short))
	}
	if p.DomainName == "" {
		p.DomainName = p.MachineName
	}
	if p.DNSMachineName == "" {
		p.DNSMachineName = strings.ToLower(host)
	}
	if p.MachineState == 0 {
		p.MachineState = secpkg.StateEncryptionPermitted | secpkg.StateStrongEncryptionPermitted | secpkg.StateStandalone
	}
}

// netbiosName truncates a name to the 15 characters NetBIOS allows.
func netbiosName(s string) string {
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func randomUint64() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// Parameters returns the machine description packages were given.
func (e *Engine) Parameters() secpkg.Parameters { return e.cfg.Parameters }

// Packages returns the enabled packages' information in order.
func (e *Engine) Packages() []secpkg.PackageInfo {
	e.pkgMu.RLock()
	defer e.pkgMu.RUnlock()
	var out []secpkg.PackageInfo
	for _, p := range e.packages {
		if e.enabled[strings.ToLower(p.name)] {
			out = append(out, p.info)
		}
	}
	return out
}

// pkg returns an enabled package.
func (e *Engine) pkg(name string) (*loadedPackage, error) {
	key := strings.ToLower(name)
	e.pkgMu.RLock()
	p, ok := e.byName[key]
	ok = ok && e.enabled[key]
	e.pkgMu.RUnlock()
	if !ok {
		return nil, secpkg.Errorf(secpkg.StatusPackageNotFound, "lsa: package %q is not enabled", name)
	}
	return p, nil
}

// SetEnabled changes which packages new requests may use, in order,
// loading any not loaded yet: the daemon's reload. Contexts and
// credentials of packages no longer enabled keep working until they are
// deleted; a disabled package stays loaded for them.
func (e *Engine) SetEnabled(names []string) error {
	ctx := context.Background()
	want := make(map[string]bool)
	for _, n := range names {
		key := strings.ToLower(n)
		want[key] = true
		e.pkgMu.RLock()
		_, loaded := e.byName[key]
		e.pkgMu.RUnlock()
		if !loaded {
			if err := e.load(ctx, n); err != nil {
				return err
			}
		}
	}
	e.pkgMu.Lock()
	defer e.pkgMu.Unlock()
	e.enabled = want
	// Keep e.packages in the configured order, disabled ones after.
	ordered := make([]*loadedPackage, 0, len(e.packages))
	for _, n := range names {
		ordered = append(ordered, e.byName[strings.ToLower(n)])
	}
	for _, p := range e.packages {
		if !want[strings.ToLower(p.name)] {
			ordered = append(ordered, p)
		}
	}
	e.packages = ordered
	return nil
}

// authorize applies Config.Authorize.
func (e *Engine) authorize(ci secpkg.CallInfo, a Access) error {
	if e.cfg.Authorize == nil {
		return nil
	}
	if err := e.cfg.Authorize(ci, a); err != nil {
		e.log.Info("request refused by policy", "uid", ci.UID, "gid", ci.GID, "pid", ci.PID, "access", a.Kind.String(), "package", a.Package, "principal", sanitize(a.Principal), "err", err)
		if secpkg.StatusOf(err) == secpkg.StatusInternalError {
			err = secpkg.Errorf(secpkg.StatusNotOwner, "lsa: %v", err)
		}
		return err
	}
	return nil
}

// Connect returns a connection for a caller. The daemon calls it for each
// client socket with the caller's kernel credentials; the embedded
// provider calls it once with [CurrentProcess].
func (e *Engine) Connect(caller secpkg.CallInfo) lsa.Conn {
	c := newConn(e, caller)
	e.mu.Lock()
	if !e.closed {
		e.conns[c] = struct{}{}
	} else {
		c.closed = true
	}
	e.mu.Unlock()
	return c
}

// CurrentProcess describes the calling process as an in-process caller.
func CurrentProcess() secpkg.CallInfo {
	return secpkg.CallInfo{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid()), InProcess: true}
}

// Stats returns current counts.
func (e *Engine) Stats() lsa.Stats {
	conns := e.connList()
	st := lsa.Stats{Conns: len(conns), LogonSessions: e.logons.len()}
	for _, c := range conns {
		nc, nx := c.count()
		st.Credentials += nc
		st.Contexts += nx
		st.Registrations += c.registrations()
	}
	e.exportsMu.Lock()
	st.Exports = len(e.exports)
	e.exportsMu.Unlock()
	return st
}

// connList returns the open connections.
func (e *Engine) connList() []*conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	return conns
}

// Close frees every handle of every connection and shuts the packages
// down (SpShutdown).
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	close(e.janitor)
	e.janitorW.Wait()
	for _, c := range e.connList() {
		c.Close()
	}
	ctx := context.Background()
	e.exportsMu.Lock()
	exports := e.exports
	e.exports = nil
	e.exportsMu.Unlock()
	for _, x := range exports {
		x.ctx.release(ctx, e)
	}
	e.shutdownPackages(ctx)
	return e.replay.close()
}

func (e *Engine) shutdownPackages(ctx context.Context) {
	for i := len(e.packages) - 1; i >= 0; i-- {
		if err := e.packages[i].lsa.Shutdown(ctx); err != nil {
			e.log.Warn("package shutdown failed", "package", e.packages[i].name, "err", err)
		}
	}
}

func (e *Engine) now() time.Time { return e.cfg.Time() }

// runJanitor expires unfinished contexts past their deadline, pending
// exports nobody imported, and replay-cache entries.
func (e *Engine) runJanitor() {
	defer e.janitorW.Done()
	period := e.cfg.SweepInterval
	if period <= 0 {
		period = min(e.cfg.HandshakeTimeout/4, 30*time.Second)
	}
	period = max(period, time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-e.janitor:
			return
		case <-t.C:
			e.sweep(context.Background())
		}
	}
}

// sweep runs the janitor's rounds. It takes each table's lock in turn,
// never two at once, and each connection's only to list its contexts.
func (e *Engine) sweep(ctx context.Context) {
	now := e.now()
	for _, c := range e.connList() {
		for _, x := range c.contextList() {
			x.expire(ctx, e, now)
		}
		c.sweepRegistrations(now)
	}
	var stale []*pendingExport
	e.exportsMu.Lock()
	for id, x := range e.exports {
		if now.After(x.deadline) {
			stale = append(stale, x)
			delete(e.exports, id)
		}
	}
	e.exportsMu.Unlock()
	for _, x := range stale {
		x.ctx.release(ctx, e)
	}
	if n := e.logons.purge(now); n > 0 {
		e.log.Debug("logon sessions expired", "count", n)
		e.logonsEnded(ctx)
	}
	e.replay.purge(now)
}

// SetPassword creates the account domain\user if it does not exist and
// gives it the verifiers every enabled package makes from password
// (VerifierMaker). The password itself is stored nowhere. It is for
// programs that own the engine (tests, the demo, the CLI with a store);
// callers of a daemon use lsa.Admin.
func (e *Engine) SetPassword(ctx context.Context, domain, user string, password []byte) error {
	if e.cfg.Accounts == nil {
		return errNoStore
	}
	req := &lsa.AccountRequest{Domain: domain, User: user, Password: password}
	verifiers, err := e.verifiers(ctx, req)
	if err != nil {
		return err
	}
	domain = e.accountDomain(domain)
	err = e.cfg.Accounts.Create(ctx, &accounts.Account{Domain: domain, Name: user, Verifiers: verifiers})
	if errors.Is(err, accounts.ErrExists) {
		err = e.cfg.Accounts.SetVerifiers(ctx, domain, user, verifiers)
	}
	if err != nil {
		return fmt.Errorf("lsa: set password of %s\\%s: %w", domain, user, err)
	}
	return nil
}

// Accounts returns the engine's account store (nil if none).
func (e *Engine) Accounts() accounts.Store { return e.cfg.Accounts }

// Epoch returns the engine's boot epoch, which every handle it issues
// carries.
func (e *Engine) Epoch() uint64 { return e.epoch }
