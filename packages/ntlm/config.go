package ntlm

import "time"

// Config configures the NTLM package. Its zero value is safe: NTLMv2 only,
// MIC and extended session security required, challenges single-use and
// valid for five minutes, channel bindings and the target name checked
// whenever the acceptor has something to check them against, no anonymous
// logons. A Config must not be modified after it is passed to [New]; New
// copies it.
type Config struct {
	// ChannelBindingPolicy says how the acceptor treats the client's
	// MsvAvChannelBindings (MS-NLMP 2.2.2.1, Extended Protection for
	// Authentication). The zero value, ChannelBindingDefault, means
	// ChannelBindingRequired whenever the acceptor's caller supplies
	// bindings, and reports BindingsAbsent otherwise.
	ChannelBindingPolicy ChannelBindingPolicy

	// TargetNamePolicy says how the acceptor compares the client's
	// MsvAvTargetName with the principal (SPN) of its own credentials.
	// The zero value, TargetNameDefault, means TargetNameRequired
	// whenever the acceptor's credentials name a principal, and no check
	// otherwise.
	TargetNamePolicy TargetNamePolicy

	// ChallengeLifetime is how long a CHALLENGE_MESSAGE can be answered.
	// Zero means 5 minutes.
	ChallengeLifetime time.Duration

	// TimestampSkew is how far the TimeStamp of a client's
	// NTLMv2_CLIENT_CHALLENGE may lie before the challenge was issued or
	// after the present (MS-NLMP 3.2.5.1.2, MaxLifetime). Zero means
	// 5 minutes.
	TimestampSkew time.Duration

	// InsecureAllowNTLMv1 lets the acceptor accept NTLMv1 responses
	// (with or without extended session security) and what NTLMv1 peers
	// negotiate: session security without extended session security and
	// 56- or 40-bit keys. NTLMv1 responses can be cracked offline and
	// carry neither MIC nor target name nor channel bindings, so they
	// can be relayed freely. Off by default; never turn it on.
	InsecureAllowNTLMv1 bool

	// InsecureAllowLM lets the acceptor accept a logon whose only
	// response is in LmChallengeResponse (an LMv2 response; LMv1 responses
	// need an LM hash, which this package never stores, and always fail).
	// Off by default; never turn it on.
	InsecureAllowLM bool

	// RequireMIC refuses every NTLMv2 logon without a MIC. By default
	// (Samba's rule) a MIC is required whenever the client's MsvAvFlags
	// announces one: a relay that strips the MIC cannot also clear that
	// flag, which NTProofStr covers, so clients that send a MIC (all
	// current Windows versions) cannot be downgraded. Clients that never
	// send one, such as gss-ntlmssp 1.2, leave their own negotiation
	// unprotected; RequireMIC refuses them. (Our challenge always carries
	// MsvAvTimestamp, after which MS-NLMP 3.1.5.1.2 says a client SHOULD
	// send a MIC.)
	RequireMIC bool

	// AllowAnonymous lets the acceptor complete an anonymous logon (empty
	// user name and NT response, MS-NLMP 3.2.5.1.2) as an explicit
	// anonymous identity, with no session key and no signing or sealing.
	// A caller that asked for integrity or confidentiality still fails.
	AllowAnonymous bool
}

// ChannelBindingPolicy is how an acceptor treats channel bindings.
type ChannelBindingPolicy int

// Channel binding policies.
const (
	// ChannelBindingDefault is ChannelBindingRequired when the acceptor's
	// caller supplies bindings, and ignores the client's bindings when
	// it does not.
	ChannelBindingDefault ChannelBindingPolicy = iota
	// ChannelBindingRequired fails a client whose bindings are missing,
	// all zero or different from the acceptor's (SEC_E_BAD_BINDINGS), and
	// fails every client when the acceptor's caller supplies none.
	// ASC_REQ_ALLOW_MISSING_BINDINGS relaxes it to ChannelBindingIfPresent
	// for one call.
	ChannelBindingRequired
	// ChannelBindingIfPresent fails a client whose bindings differ from
	// the acceptor's, and accepts one that sent none, reporting
	// BindingsValidMissing.
	ChannelBindingIfPresent
	// ChannelBindingOff never fails; the result still says what was
	// found.
	ChannelBindingOff
)

// String names the policy.
func (p ChannelBindingPolicy) String() string {
	switch p {
	case ChannelBindingDefault:
		return "default"
	case ChannelBindingRequired:
		return "required"
	case ChannelBindingIfPresent:
		return "if-present"
	case ChannelBindingOff:
		return "off"
	}
	return "invalid"
}

// TargetNamePolicy is how an acceptor checks the client's MsvAvTargetName.
type TargetNamePolicy int

// Target name policies.
const (
	// TargetNameDefault is TargetNameRequired when the acceptor's
	// credentials name a principal, and TargetNameOff otherwise.
	TargetNameDefault TargetNamePolicy = iota
	// TargetNameRequired fails a client whose MsvAvTargetName is missing,
	// marked untrusted (MsvAvFlags 0x4) or differs, without regard to
	// case, from the acceptor's principal (SEC_E_WRONG_PRINCIPAL). It
	// fails every client when the acceptor has no principal.
	TargetNameRequired
	// TargetNameIfPresent fails a client whose trusted MsvAvTargetName
	// differs from the acceptor's principal and accepts one without.
	TargetNameIfPresent
	// TargetNameOff never checks.
	TargetNameOff
)

// String names the policy.
func (p TargetNamePolicy) String() string {
	switch p {
	case TargetNameDefault:
		return "default"
	case TargetNameRequired:
		return "required"
	case TargetNameIfPresent:
		return "if-present"
	case TargetNameOff:
		return "off"
	}
	return "invalid"
}

const (
	defaultChallengeLifetime = 5 * time.Minute
	defaultTimestampSkew     = 5 * time.Minute
)

func (c *Config) challengeLifetime() time.Duration {
	if c.ChallengeLifetime <= 0 {
		return defaultChallengeLifetime
	}
	return c.ChallengeLifetime
}

func (c *Config) timestampSkew() time.Duration {
	if c.TimestampSkew <= 0 {
		return defaultTimestampSkew
	}
	return c.TimestampSkew
}
