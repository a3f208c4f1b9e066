//go:build !sspi_omit_ntlm

package lsad

import (
	"fmt"

	"github.com/opensspi/sspi/packages/ntlm"
	"github.com/opensspi/sspi/secpkg"
)

// ntlmPackage is the NTLM package as [ntlm] configures it, or nil when
// the section is empty (the package's defaults, as registered).
func (c *NTLMConfig) ntlmPackage() (secpkg.Package, error) {
	if *c == (NTLMConfig{}) {
		return nil, nil
	}
	cfg := &ntlm.Config{
		RequireMIC:          c.RequireMIC,
		ChallengeLifetime:   c.ChallengeLifetime.Duration,
		TimestampSkew:       c.TimestampSkew.Duration,
		AllowAnonymous:      c.AllowAnonymous,
		InsecureAllowNTLMv1: c.InsecureAllowNTLMv1,
		InsecureAllowLM:     c.InsecureAllowLM,
	}
	var err error
	if cfg.ChannelBindingPolicy, err = policyByName("channel_bindings", c.ChannelBindings,
		ntlm.ChannelBindingDefault, ntlm.ChannelBindingRequired, ntlm.ChannelBindingIfPresent, ntlm.ChannelBindingOff); err != nil {
		return nil, err
	}
	if cfg.TargetNamePolicy, err = policyByName("target_name", c.TargetName,
		ntlm.TargetNameDefault, ntlm.TargetNameRequired, ntlm.TargetNameIfPresent, ntlm.TargetNameOff); err != nil {
		return nil, err
	}
	if c.ChallengeLifetime.Duration < 0 || c.TimestampSkew.Duration < 0 {
		return nil, fmt.Errorf("lsad: config: [ntlm] durations must not be negative")
	}
	return ntlm.New(cfg), nil
}

// policyByName returns the policy whose String is name ("" is the first,
// the default).
func policyByName[P fmt.Stringer](key, name string, policies ...P) (P, error) {
	if name == "" {
		return policies[0], nil
	}
	for _, p := range policies {
		if p.String() == name {
			return p, nil
		}
	}
	var zero P
	return zero, fmt.Errorf("lsad: config: [ntlm] %s = %q: want one of default, required, if-present, off", key, name)
}
