//go:build !sspi_omit_kerberos

package lsad

import (
	"fmt"
	"slices"

	"github.com/opensspi/sspi/packages/kerberos"
	"github.com/opensspi/sspi/secpkg"
)

// kerberosPackage is the Kerberos package as [kerberos] configures it, or
// nil when the section is empty (the package's defaults, as registered).
func (c *KerberosConfig) kerberosPackage() (secpkg.Package, error) {
	if c.isZero() {
		return nil, nil
	}
	cfg := &kerberos.Config{
		ConfigFiles:          slices.Clone(c.Krb5Conf),
		Keytabs:              slices.Clone(c.Keytabs),
		ClockSkew:            c.ClockSkew.Duration,
		KDCTimeout:           c.KDCTimeout.Duration,
		MaxCachedTickets:     c.MaxCachedTickets,
		InsecureLegacyETypes: c.InsecureLegacyETypes,
	}
	switch c.ChannelBindings {
	case "", "allowed":
	case "required":
		cfg.RequireBindings = true
	default:
		return nil, fmt.Errorf("lsad: config: [kerberos] channel_bindings = %q: want allowed or required", c.ChannelBindings)
	}
	if c.Delegation != "" {
		d, ok := kerberos.ParseDelegationPolicy(c.Delegation)
		if !ok {
			return nil, fmt.Errorf("lsad: config: [kerberos] delegation = %q: want as-configured, ok-as-delegate or always", c.Delegation)
		}
		cfg.Delegation = d
	}
	if c.ClockSkew.Duration < 0 || c.KDCTimeout.Duration < 0 || c.MaxCachedTickets < 0 {
		return nil, fmt.Errorf("lsad: config: [kerberos] durations and counts must not be negative")
	}
	return kerberos.New(cfg), nil
}

func (c *KerberosConfig) isZero() bool {
	return len(c.Krb5Conf) == 0 && len(c.Keytabs) == 0 && c.ClockSkew.Duration == 0 && c.ChannelBindings == "" &&
		c.Delegation == "" && c.KDCTimeout.Duration == 0 && c.MaxCachedTickets == 0 && !c.InsecureLegacyETypes
}
