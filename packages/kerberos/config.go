package kerberos

import (
	"os"
	"strings"
	"time"
)

// Config configures the Kerberos package. The zero value is usable: the
// krb5.conf of KRB5_CONFIG (or /etc/krb5.conf), the service keytab of
// KRB5_KTNAME (or krb5.conf's default_keytab_name, or /etc/krb5.keytab),
// a clock skew of five minutes, channel bindings checked when the
// acceptor has some, delegation as MIT decides it, the AES encryption
// types only. lsad builds one from the [kerberos] section of lsad.toml.
// A Config must not be changed once the package is registered.
type Config struct {
	// ConfigFiles are the krb5.conf files (MIT's profile format) that
	// name the realms, their KDCs and the encryption types. Empty means
	// KRB5_CONFIG's colon-separated list, else /etc/krb5.conf.
	ConfigFiles []string
	// Keytabs are the acceptor's keytab files, held by the LSA: the
	// long-term keys of the services it accepts as, in every version
	// (kvno) and encryption type they hold (key rotation: put the new
	// version in before the KDC hands it out, drop the old one after the
	// old tickets expired). They are read again when a credentials handle
	// is acquired after they changed. Empty means KRB5_KTNAME (a FILE:
	// or plain path), else krb5.conf's default_keytab_name, else
	// /etc/krb5.keytab.
	Keytabs []string
	// ClientKeytab is a keytab with the keys of users this LSA may log on
	// without a password (an initiator's last-but-one resort, after the
	// caller's logon session and explicit credentials): only for callers
	// in the LSA's own process. Empty means KRB5_CLIENT_KTNAME, else
	// krb5.conf's default_client_keytab_name.
	ClientKeytab string
	// ClockSkew is the largest difference of clocks tolerated between
	// this host, the KDC and the peer (ticket times, authenticators, KDC
	// replies). Zero means krb5.conf's clockskew, else five minutes.
	ClockSkew time.Duration
	// RequireBindings makes every acceptor refuse an initiator that sends
	// no channel bindings (all-zero bindings), when the acceptor was given
	// bindings: Extended Protection "required". An application may still
	// allow them per context with ASC_REQ_ALLOW_MISSING_BINDINGS. The
	// default ("allowed") accepts such an initiator and reports the
	// bindings as missing in the identity.
	RequireBindings bool
	// Delegation says when an initiator that asks to delegate
	// (ISC_REQ_DELEGATE) forwards its TGT.
	Delegation DelegationPolicy
	// KDCTimeout bounds the KDC exchanges of one call (AS, TGS, referrals
	// and forwarding together). Zero means 30 seconds.
	KDCTimeout time.Duration
	// MaxCachedTickets bounds the service tickets cached per logon
	// session and per credentials handle. Zero means 64.
	MaxCachedTickets int
	// InsecureLegacyETypes lets the LSA use RC4-HMAC (RFC 4757) for
	// tickets and KDC exchanges, as old Active Directory service accounts
	// need. It is off by default. Contexts still need an AES session key
	// or subkey: the per-message layer implements only the AES types, so
	// a context whose key would be RC4 is refused with
	// SEC_E_ALGORITHM_MISMATCH. (DES and DES3 are not implemented at all.)
	InsecureLegacyETypes bool
}

// DelegationPolicy is how an initiator decides to delegate its TGT when
// the application asks for delegation.
type DelegationPolicy uint8

// Delegation policies.
const (
	// DelegateAsConfigured delegates unless krb5.conf sets
	// enforce_ok_as_delegate and the KDC did not mark the service
	// ok-as-delegate: MIT's behaviour for GSS_C_DELEG_FLAG.
	DelegateAsConfigured DelegationPolicy = iota
	// DelegateIfOKAsDelegate delegates only to services the KDC marked
	// ok-as-delegate: Windows' behaviour, and MIT's for
	// GSS_C_DELEG_POLICY_FLAG.
	DelegateIfOKAsDelegate
	// DelegateAlways delegates to any service, whatever its ticket says.
	DelegateAlways
)

// String names the policy as lsad.toml writes it.
func (d DelegationPolicy) String() string {
	switch d {
	case DelegateAsConfigured:
		return "as-configured"
	case DelegateIfOKAsDelegate:
		return "ok-as-delegate"
	case DelegateAlways:
		return "always"
	}
	return "invalid"
}

// ParseDelegationPolicy parses the names String returns.
func ParseDelegationPolicy(s string) (DelegationPolicy, bool) {
	for _, d := range []DelegationPolicy{DelegateAsConfigured, DelegateIfOKAsDelegate, DelegateAlways} {
		if s == d.String() {
			return d, true
		}
	}
	return 0, false
}

// Defaults.
const (
	defaultKDCTimeout       = 30 * time.Second
	defaultMaxCachedTickets = 64
	defaultKeytab           = "/etc/krb5.keytab"
)

func (c *Config) kdcTimeout() time.Duration {
	if c.KDCTimeout > 0 {
		return c.KDCTimeout
	}
	return defaultKDCTimeout
}

func (c *Config) maxCachedTickets() int {
	if c.MaxCachedTickets > 0 {
		return c.MaxCachedTickets
	}
	return defaultMaxCachedTickets
}

// filePath strips MIT's "FILE:" and "WRFILE:" residual prefixes from a
// keytab or ccache name; other types (MEMORY:, KEYRING:, DIR:, KCM:) are
// not files and give "".
func filePath(name string) string {
	if name == "" {
		return ""
	}
	if typ, rest, ok := strings.Cut(name, ":"); ok && !strings.Contains(typ, "/") {
		switch strings.ToUpper(typ) {
		case "FILE", "WRFILE":
			return rest
		}
		return ""
	}
	return name
}

// keytabPaths returns the acceptor keytabs to read: Keytabs, or the
// environment's and krb5.conf's default.
func (c *Config) keytabPaths(confDefault string) []string {
	if len(c.Keytabs) > 0 {
		return c.Keytabs
	}
	if p := filePath(os.Getenv("KRB5_KTNAME")); p != "" {
		return []string{p}
	}
	if p := filePath(confDefault); p != "" {
		return []string{p}
	}
	return []string{defaultKeytab}
}

// clientKeytabPath returns the client keytab of in-process callers.
func (c *Config) clientKeytabPath(confDefault string) string {
	if c.ClientKeytab != "" {
		return c.ClientKeytab
	}
	if p := filePath(os.Getenv("KRB5_CLIENT_KTNAME")); p != "" {
		return p
	}
	return filePath(confDefault)
}
