package lsad

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

const usage = `usage: lsad [-config FILE] [-socket PATH]

lsad is the OpenSSPI Local Security Authority: it holds every long-term
secret, runs the security packages' LSA-mode halves and serves the LSA
protocol on a Unix socket. Applications reach it when SSPI_LSA names the
socket.

  -config FILE   configuration file (default /etc/opensspi/lsad.toml if present)
  -socket PATH   listen here instead of the configured socket

Signals: SIGHUP reloads the policy and the enabled packages without
dropping contexts; SIGTERM and SIGINT stop the daemon.

Examples:
  lsad -config /etc/opensspi/lsad.toml
  SSPI_LSA=/run/opensspi/lsad.sock sspi packages
`

// Main runs the daemon with command-line args until ctx ends or a signal
// stops it, and returns the exit status: 0 after a clean stop or -h, 2
// for a command line that does not parse, 1 for any other error.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("lsad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configFile := fs.String("config", "", "configuration file")
	socket := fs.String("socket", "", "socket path")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lsad: error: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if err := Run(ctx, *configFile, *socket, stderr); err != nil {
		fmt.Fprintf(stderr, "lsad: error: %v\n", err)
		return 1
	}
	return 0
}

// Daemon is a running lsad.
type Daemon struct {
	configFile string
	log        *slog.Logger
	level      *slog.LevelVar
	engine     *engine.Engine
	store      accounts.Store
	server     *lsarpc.Server
	policy     atomic.Pointer[Policy]
	ln         net.Listener
	ownSocket  string // removed at exit when we created it
}

// Run starts a daemon and serves until ctx ends or SIGTERM/SIGINT.
func Run(ctx context.Context, configFile, socket string, stderr io.Writer) error {
	if err := harden(); err != nil {
		return fmt.Errorf("lsad: cannot make the process undumpable: %w", err)
	}
	cfg, err := LoadConfig(configFile)
	if err != nil {
		return err
	}
	if socket != "" {
		cfg.Socket = socket
	}
	d, err := Start(cfg, configFile, stderr)
	if err != nil {
		return err
	}
	defer d.Stop()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				d.log.Info("stopping", "signal", sig.String())
				return nil
			}
			daemon.SdNotify(false, daemon.SdNotifyReloading)
			if err := d.Reload(); err != nil {
				d.log.Error("reload failed; keeping the previous configuration", "err", err)
			} else {
				d.log.Info("configuration reloaded")
			}
			daemon.SdNotify(false, daemon.SdNotifyReady)
		}
	}
}

// Start brings a daemon up with cfg: store, policy, engine, listener.
func Start(cfg *Config, configFile string, stderr io.Writer) (*Daemon, error) {
	d := &Daemon{configFile: configFile, level: new(slog.LevelVar)}
	if err := d.setLogger(cfg, stderr); err != nil {
		return nil, err
	}
	pol, err := loadPolicy(cfg)
	if err != nil {
		return nil, err
	}
	d.policy.Store(pol)
	ok := false
	defer func() {
		if !ok {
			d.Stop()
		}
	}()
	if cfg.Store != "" {
		if d.store, err = accounts.Open(context.Background(), cfg.Store, cfg.storeOptions(d.log)); err != nil {
			if errors.Is(err, accounts.ErrNoStore) {
				return nil, fmt.Errorf("%w; create_store = true in the configuration creates it at start", err)
			}
			return nil, err
		}
	}
	ec, err := cfg.engineConfig()
	if err != nil {
		return nil, err
	}
	ec.Accounts = d.store
	ec.ReadCallerFile = readCallerFile
	ec.Logger = d.log
	ec.Authorize = func(ci secpkg.CallInfo, a engine.Access) error { return d.policy.Load().Authorize(ci, a) }
	if d.engine, err = engine.New(ec); err != nil {
		return nil, err
	}
	if d.ln, err = d.listen(cfg); err != nil {
		return nil, err
	}
	nofile := openFileLimit()
	limits, err := cfg.serverLimits(nofile)
	if err != nil {
		return nil, err
	}
	if cfg.Limits.MaxConnections > limits.MaxConns {
		d.log.Warn("max_connections lowered to fit the open-file limit", "configured", cfg.Limits.MaxConnections, "max_connections", limits.MaxConns, "nofile", nofile)
	}
	d.server = &lsarpc.Server{Authority: d.engine, Logger: d.log, Limits: limits,
		Privileged: func(ci secpkg.CallInfo) bool { return ci.UID == 0 || d.policy.Load().Admin(ci) }}
	go func() {
		if err := d.server.Serve(d.ln); err != nil && !errors.Is(err, lsarpc.ErrServerClosed) {
			d.log.Error("serve failed", "err", err)
		}
	}()
	var names []string
	for _, p := range d.engine.Packages() {
		names = append(names, p.Name)
	}
	d.log.Info("lsad started", "socket", d.ln.Addr().String(), "packages", strings.Join(names, ","), "store", storeKind(cfg.Store), "pid", os.Getpid())
	daemon.SdNotify(false, daemon.SdNotifyReady)
	ok = true
	return d, nil
}

func storeKind(dsn string) string {
	kind, _, _ := strings.Cut(dsn, ":")
	if kind == "" {
		return "none"
	}
	return kind // never the DSN: it may hold a password
}

func (d *Daemon) setLogger(cfg *Config, stderr io.Writer) error {
	switch strings.ToLower(cfg.Log.Level) {
	case "", "info":
		d.level.Set(slog.LevelInfo)
	case "debug":
		d.level.Set(slog.LevelDebug)
	case "warn":
		d.level.Set(slog.LevelWarn)
	case "error":
		d.level.Set(slog.LevelError)
	default:
		return fmt.Errorf("lsad: config: unknown log level %q", cfg.Log.Level)
	}
	opts := &slog.HandlerOptions{Level: d.level}
	switch strings.ToLower(cfg.Log.Format) {
	case "", "json":
		d.log = slog.New(slog.NewJSONHandler(stderr, opts))
	case "text":
		d.log = slog.New(slog.NewTextHandler(stderr, opts))
	default:
		return fmt.Errorf("lsad: config: unknown log format %q", cfg.Log.Format)
	}
	return nil
}

func loadPolicy(cfg *Config) (*Policy, error) {
	if cfg.Policy == "" {
		return DefaultPolicy(), nil
	}
	return LoadPolicy(cfg.Policy)
}

// listen takes the socket systemd passed (socket activation) or creates
// one: its directory 0755, a stale socket file replaced, the file's mode
// from the configuration.
func (d *Daemon) listen(cfg *Config) (net.Listener, error) {
	if lns, err := activation.Listeners(); err == nil {
		for _, ln := range lns {
			if ln != nil && ln.Addr().Network() == "unix" {
				d.log.Info("using the socket systemd passed", "socket", ln.Addr().String())
				return ln, nil
			}
		}
	}
	path := cfg.socket()
	mode, err := cfg.socketMode()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lsad: socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("lsad: another LSA already serves %s", path)
	}
	os.Remove(path) // stale
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("lsad: listen: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("lsad: socket mode: %w", err)
	}
	d.ownSocket = path
	return ln, nil
}

// Reload re-reads the configuration file and applies its policy and
// enabled packages. Live contexts and handles are untouched; a package
// that is no longer enabled keeps serving the contexts it has.
func (d *Daemon) Reload() error {
	cfg, err := LoadConfig(d.configFile)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	names := cfg.Packages
	if len(names) == 0 {
		names = secpkg.Registered()
	}
	if err := d.engine.SetEnabled(names); err != nil {
		return err
	}
	d.policy.Store(pol)
	return nil
}

// Engine returns the daemon's engine.
func (d *Daemon) Engine() *engine.Engine { return d.engine }

// Addr returns the socket the daemon listens on.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Stop closes every connection (freeing their handles), the engine and the
// store.
func (d *Daemon) Stop() {
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	if d.server != nil {
		d.server.Close()
	} else if d.ln != nil {
		d.ln.Close()
	}
	if d.engine != nil {
		d.engine.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
	if d.ownSocket != "" {
		os.Remove(d.ownSocket)
	}
}
