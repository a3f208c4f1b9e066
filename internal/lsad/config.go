// Package lsad implements the LSA daemon: it runs an LSA engine with its
// account store and serves the LSA protocol on a Unix socket to local
// applications, attributing every call to the caller's uid from the
// kernel and deciding requests by a policy. cmd/lsad only calls Main.
//
// It is the authority side of the design (doc/architecture.md): it imports
// the engine, the seam and its protocol (lsa, lsa/lsarpc), the account
// store and secpkg.
package lsad

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/lsa/lsarpc"
	"github.com/opensspi/sspi/secpkg"
)

// DefaultConfigFile is read when no -config flag is given, if it exists.
const DefaultConfigFile = "/etc/opensspi/lsad.toml"

// Config is the daemon's configuration file (TOML). The zero value is
// usable: the default socket, every registered package, no account store,
// the default policy.
type Config struct {
	// Socket is the Unix socket to listen on, unless systemd passes one
	// (socket activation).
	Socket string `toml:"socket"`
	// SocketMode is the socket file's permission bits, in octal; callers
	// are told apart by their uid, so the default is "0666".
	SocketMode string `toml:"socket_mode"`
	// Store is the account store: "sqlite:PATH", "postgres://…", or empty
	// for none.
	Store string `toml:"store"`
	// CreateStore lets lsad create the store when there is none (the
	// SQLite file, in a directory that must exist, or the tables in an
	// empty PostgreSQL database). Off by default: a mistyped store then
	// stops lsad with an error instead of starting it on a new, empty
	// store.
	CreateStore bool `toml:"create_store"`
	// Packages lists the enabled packages in order; empty means every
	// registered one. Reloaded on SIGHUP.
	Packages []string `toml:"packages"`
	// Policy is the policy file; empty means DefaultPolicy. Reloaded on
	// SIGHUP.
	Policy string `toml:"policy"`

	// ReplayCache is the file that keeps the acceptor replay cache
	// across restarts (a replayed Kerberos authenticator is refused even
	// after a crash); empty keeps it in memory only. dist/lsad.toml puts
	// it in /var/lib/opensspi.
	ReplayCache string `toml:"replay_cache"`

	Log     LogConfig     `toml:"log"`
	Machine MachineConfig `toml:"machine"`
	Limits  LimitsConfig  `toml:"limits"`
	Lockout LockoutConfig `toml:"lockout"`
	NTLM    NTLMConfig    `toml:"ntlm"`
	OPAQUE  OPAQUEConfig  `toml:"opaque"`
	// Negotiate configures the Negotiate package: the packages it may
	// choose, in order of preference.
	Negotiate NegotiateConfig `toml:"negotiate"`
	// Kerberos configures the Kerberos package.
	Kerberos KerberosConfig `toml:"kerberos"`
}

// NegotiateConfig is the Negotiate package's configuration
// (negotiate.Config).
type NegotiateConfig struct {
	// Packages lists the packages Negotiate may choose, most preferred
	// first; empty means Kerberos, then NTLM. A credential can narrow it
	// further (its PackageList).
	Packages []string `toml:"packages"`
	// LegacyKerberosOID makes Negotiate's initiator offer Kerberos under
	// Windows' legacy OID too, first, as Windows does
	// (negotiate.Config.LegacyKerberosOID).
	LegacyKerberosOID bool `toml:"legacy_kerberos_oid"`
}

// KerberosConfig is the [kerberos] section: the Kerberos package's
// configuration (packages/kerberos Config). Which uid may accept as which
// service principal is the policy's business (its accept lists), as is
// who may log on.
type KerberosConfig struct {
	// Krb5Conf are the krb5.conf files naming the realms and their KDCs;
	// empty means KRB5_CONFIG of lsad's environment, else /etc/krb5.conf.
	Krb5Conf []string `toml:"krb5_conf"`
	// Keytabs are the service keytabs lsad holds (key rotation: several
	// versions of a key may be there); empty means krb5.conf's
	// default_keytab_name, else /etc/krb5.keytab.
	Keytabs []string `toml:"keytabs"`
	// ClockSkew is the clock difference tolerated (default: krb5.conf's
	// clockskew, else 5m).
	ClockSkew Duration `toml:"clock_skew"`
	// ChannelBindings is "allowed" (the default: an initiator that sends
	// no bindings is accepted, and the identity says they were missing)
	// or "required" (refused, when the application has bindings).
	ChannelBindings string `toml:"channel_bindings"`
	// Delegation is when an initiator forwards its TGT if asked to:
	// "as-configured" (krb5.conf's enforce_ok_as_delegate, MIT's rule),
	// "ok-as-delegate" (only to services the KDC marks so, Windows'
	// rule) or "always".
	Delegation string `toml:"delegation"`
	// KDCTimeout bounds the KDC exchanges of one call (default 30s).
	KDCTimeout Duration `toml:"kdc_timeout"`
	// MaxCachedTickets bounds the service tickets kept per logon session
	// and per credentials handle (default 64).
	MaxCachedTickets int `toml:"max_cached_tickets"`
	// InsecureLegacyETypes allows RC4-HMAC tickets (old Active Directory
	// service accounts); contexts still need AES keys.
	InsecureLegacyETypes bool `toml:"insecure_legacy_etypes"`
}

// LogConfig configures logging to standard error (the journal, under
// systemd). Logs never contain secrets.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info (default), warn, error
	Format string `toml:"format"` // json (default) or text
}

// MachineConfig names the machine to the packages (SECPKG_PARAMETERS);
// empty names come from the host name.
type MachineConfig struct {
	NetBIOSName string `toml:"netbios_name"`
	Domain      string `toml:"domain"`
	DNSName     string `toml:"dns_name"`
	DNSDomain   string `toml:"dns_domain"`
}

// LimitsConfig bounds what callers may make the LSA do. Zero values take
// the defaults of doc/lsad.md; negative durations mean no limit.
type LimitsConfig struct {
	MaxTokenSize            int      `toml:"max_token_size"`
	MaxLegs                 int      `toml:"max_legs"`
	HandshakeTimeout        Duration `toml:"handshake_timeout"`
	MaxHandlesPerCaller     int      `toml:"max_handles_per_caller"`
	PasswordChecksPerSecond float64  `toml:"password_checks_per_second"`
	PasswordCheckBurst      int      `toml:"password_check_burst"`

	// The protocol's limits (lsarpc.Limits): what one caller may make
	// the daemon hold, so that it cannot starve the others.
	MaxConnections         int      `toml:"max_connections"`
	ReservedConnections    int      `toml:"reserved_connections"`
	MaxConnectionsPerUID   int      `toml:"max_connections_per_uid"`
	MaxCallsPerConnection  int      `toml:"max_calls_per_connection"`
	MaxCallsPerUID         int      `toml:"max_calls_per_uid"`
	MaxBufferedBytesPerUID int64    `toml:"max_buffered_bytes_per_uid"`
	HelloTimeout           Duration `toml:"hello_timeout"`
	FrameTimeout           Duration `toml:"frame_timeout"`
	IdleTimeout            Duration `toml:"idle_timeout"`
	ReplyTimeout           Duration `toml:"reply_timeout"`
	CallTimeout            Duration `toml:"call_timeout"`

	// What one uid may make the engine hold (engine.Config has the
	// meaning and the default of each).
	MaxHandshakeBytesPerCaller int64    `toml:"max_handshake_bytes_per_caller"`
	ExportLifetime             Duration `toml:"export_lifetime"`
	MaxLogonSessionsPerCaller  int      `toml:"max_logon_sessions_per_caller"`
	LogonSessionLifetime       Duration `toml:"logon_session_lifetime"`
}

// LockoutConfig is the account lockout policy; a zero threshold keeps the
// store's default (10 failures in 15 minutes lock for 15 minutes) and a
// negative one disables lockout.
type LockoutConfig struct {
	Threshold int      `toml:"threshold"`
	Window    Duration `toml:"window"`
	Duration  Duration `toml:"duration"`
}

// NTLMConfig is the acceptor policy of the NTLM package (ntlm.Config);
// empty keys keep the package's defaults. It takes effect at the next
// start (a reload keeps the running package).
type NTLMConfig struct {
	// RequireMIC refuses NTLMv2 logons without a MIC. Off, a MIC is
	// required whenever the client's MsvAvFlags announces one.
	RequireMIC bool `toml:"require_mic"`
	// ChannelBindings is "default" (required when the acceptor supplies
	// bindings), "required", "if-present" or "off".
	ChannelBindings string `toml:"channel_bindings"`
	// TargetName is "default" (required when the acceptor names a
	// principal), "required", "if-present" or "off".
	TargetName          string   `toml:"target_name"`
	ChallengeLifetime   Duration `toml:"challenge_lifetime"`
	TimestampSkew       Duration `toml:"timestamp_skew"`
	AllowAnonymous      bool     `toml:"allow_anonymous"`
	InsecureAllowNTLMv1 bool     `toml:"insecure_allow_ntlmv1"`
	InsecureAllowLM     bool     `toml:"insecure_allow_lm"`
}

// OPAQUEConfig configures the OPAQUE package (opaque.PackageConfig);
// empty keys keep the package's defaults. It takes effect at the next
// start. The package's server setup lives in the account store (every
// lsad sharing the store shares it; doc/opaque.md).
type OPAQUEConfig struct {
	// KSF is what new registrations are asked to use: "default"
	// (Argon2id m = 64 MiB, t = 3, p = 4), "recommended" (m = 2 GiB,
	// t = 1, p = 4; needs max_ksf_memory_kib = 2097152) or
	// "Argon2id(m=KiB,t=passes,p=lanes)". Existing records keep theirs.
	KSF string `toml:"ksf"`
	// MaxKSFMemoryKiB is the most memory, in KiB, one stretch may take
	// here, as a client's (logins with explicit credentials or a logon
	// session) and as what a registration may choose; 0 means 256 MiB.
	MaxKSFMemoryKiB uint32 `toml:"max_ksf_memory_kib"`
	// MaxConcurrentKSF bounds the stretches lsad runs at once; 0 means 2.
	MaxConcurrentKSF int `toml:"max_concurrent_ksf"`
	// MaxConcurrentKSFPerCaller bounds the stretches one caller uid runs
	// at once (its other logins wait, each holding a handle of its
	// quota); 0 means 1.
	MaxConcurrentKSFPerCaller int `toml:"max_concurrent_ksf_per_caller"`
}

// Duration is a time.Duration written as "90s", "15m".
type Duration struct{ time.Duration }

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Defaults for the daemon (the engine's own defaults apply otherwise).
const (
	defaultPasswordChecksPerSecond = 2000
	defaultPasswordCheckBurst      = 4000
)

// LoadConfig reads a configuration file. A missing DefaultConfigFile is
// not an error: the zero Config is used.
func LoadConfig(file string) (*Config, error) {
	cfg := new(Config)
	if file == "" {
		if _, err := os.Stat(DefaultConfigFile); err != nil {
			return cfg, nil
		}
		file = DefaultConfigFile
	}
	md, err := toml.DecodeFile(file, cfg)
	if err != nil {
		return nil, fmt.Errorf("lsad: config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("lsad: config %s: unknown key %q", file, und[0].String())
	}
	if _, err := cfg.NTLM.ntlmPackage(); err != nil {
		return nil, err
	}
	if _, err := cfg.OPAQUE.opaquePackage(); err != nil {
		return nil, err
	}
	if _, err := cfg.Negotiate.negotiatePackage(); err != nil {
		return nil, err
	}
	if _, err := cfg.Kerberos.kerberosPackage(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) socket() string {
	if c.Socket != "" {
		return c.Socket
	}
	return lsarpc.DefaultSocket
}

func (c *Config) socketMode() (os.FileMode, error) {
	if c.SocketMode == "" {
		return 0o666, nil
	}
	var m uint32
	if _, err := fmt.Sscanf(c.SocketMode, "%o", &m); err != nil || m > 0o777 {
		return 0, fmt.Errorf("lsad: config: bad socket_mode %q", c.SocketMode)
	}
	return os.FileMode(m), nil
}

func (c *Config) storeOptions(log *slog.Logger) *accounts.Options {
	o := &accounts.Options{Create: c.CreateStore, Logger: log}
	switch l := c.Lockout; {
	case l.Threshold < 0:
		o.Lockout = &accounts.LockoutPolicy{}
	case l.Threshold > 0:
		o.Lockout = &accounts.LockoutPolicy{Threshold: l.Threshold, Window: l.Window.Duration, Duration: l.Duration.Duration}
	}
	return o
}

// fdMargin is what lsad keeps of its open-file limit for other than
// connections: the store, the log, the listener, the runtime.
const fdMargin = 64

// serverLimits are the protocol's limits; nofile is the process's
// open-file limit (RLIMIT_NOFILE), which bounds the connections.
func (c *Config) serverLimits(nofile uint64) (lsarpc.Limits, error) {
	l := c.Limits
	if l.MaxBufferedBytesPerUID != 0 && l.MaxBufferedBytesPerUID < lsarpc.MaxFrame {
		return lsarpc.Limits{}, fmt.Errorf("lsad: config: max_buffered_bytes_per_uid must be at least %d (a frame)", lsarpc.MaxFrame)
	}
	if l.MaxConnections < 0 || l.ReservedConnections < 0 || l.MaxConnectionsPerUID < 0 || l.MaxCallsPerConnection < 0 || l.MaxCallsPerUID < 0 || l.MaxBufferedBytesPerUID < 0 {
		return lsarpc.Limits{}, fmt.Errorf("lsad: config: connection and call limits cannot be negative")
	}
	maxConns := l.MaxConnections
	if maxConns == 0 {
		maxConns = lsarpc.DefaultMaxConns
	}
	if nofile > fdMargin && uint64(maxConns) > nofile-fdMargin {
		maxConns = int(nofile - fdMargin)
	}
	if maxConns <= l.ReservedConnections {
		return lsarpc.Limits{}, fmt.Errorf("lsad: config: reserved_connections (%d) leaves no connection of the %d for others", l.ReservedConnections, maxConns)
	}
	return lsarpc.Limits{
		MaxConns:        maxConns,
		ReservedConns:   l.ReservedConnections,
		MaxConnsPerUID:  l.MaxConnectionsPerUID,
		MaxCallsPerConn: l.MaxCallsPerConnection,
		MaxCallsPerUID:  l.MaxCallsPerUID,
		MaxBytesPerUID:  l.MaxBufferedBytesPerUID,
		HelloTimeout:    l.HelloTimeout.Duration,
		FrameTimeout:    l.FrameTimeout.Duration,
		IdleTimeout:     l.IdleTimeout.Duration,
		WriteTimeout:    l.ReplyTimeout.Duration,
		CallTimeout:     l.CallTimeout.Duration,
	}, nil
}

func (c *Config) engineConfig() (*engine.Config, error) {
	ec := &engine.Config{
		ReplayCacheFile: c.ReplayCache,
		Parameters: secpkg.Parameters{
			MachineName: c.Machine.NetBIOSName, DomainName: c.Machine.Domain,
			DNSMachineName: c.Machine.DNSName, DNSDomainName: c.Machine.DNSDomain,
		},
		MaxTokenSize:            c.Limits.MaxTokenSize,
		MaxLegs:                 c.Limits.MaxLegs,
		HandshakeTimeout:        c.Limits.HandshakeTimeout.Duration,
		MaxHandlesPerCaller:     c.Limits.MaxHandlesPerCaller,
		PasswordChecksPerSecond: c.Limits.PasswordChecksPerSecond,
		PasswordCheckBurst:      c.Limits.PasswordCheckBurst,

		MaxHandshakeBytesPerCaller: c.Limits.MaxHandshakeBytesPerCaller,
		ExportLifetime:             c.Limits.ExportLifetime.Duration,
		MaxLogonSessionsPerCaller:  c.Limits.MaxLogonSessionsPerCaller,
		LogonSessionLifetime:       c.Limits.LogonSessionLifetime.Duration,
	}
	if len(c.Packages) > 0 {
		ec.Packages = c.Packages
	}
	pkg, err := c.NTLM.ntlmPackage()
	if err != nil {
		return nil, err
	}
	ec.Configured = map[string]secpkg.Package{}
	if pkg != nil {
		ec.Configured["NTLM"] = pkg
	}
	if pkg, err = c.Negotiate.negotiatePackage(); err != nil {
		return nil, err
	}
	if pkg != nil {
		ec.Configured["Negotiate"] = pkg
	}
	krb, err := c.Kerberos.kerberosPackage()
	if err != nil {
		return nil, err
	}
	if krb != nil {
		ec.Configured["Kerberos"] = krb
	}
	if pkg, err = c.OPAQUE.opaquePackage(); err != nil {
		return nil, err
	}
	if pkg != nil {
		ec.Configured["OPAQUE"] = pkg
	}
	switch {
	case ec.PasswordChecksPerSecond < 0:
		ec.PasswordChecksPerSecond = 0 // unlimited, explicitly
	case ec.PasswordChecksPerSecond == 0:
		ec.PasswordChecksPerSecond = defaultPasswordChecksPerSecond
		if ec.PasswordCheckBurst == 0 {
			ec.PasswordCheckBurst = defaultPasswordCheckBurst
		}
	}
	return ec, nil
}
