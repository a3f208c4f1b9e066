package ntlm

import (
	"fmt"
	"strings"

	"github.com/opensspi/sspi/secpkg"
)

// negotiateFlags is the NegotiateFlags field of every NTLM message
// (MS-NLMP 2.2.2.5, NEGOTIATE).
type negotiateFlags uint32

// NegotiateFlags bits, MS-NLMP 2.2.2.5. The letter after each is the one the
// specification's bit diagram uses.
const (
	flagUnicode                 negotiateFlags = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE (A), MS-NLMP 2.2.2.5
	flagOEM                     negotiateFlags = 0x00000002 // NTLM_NEGOTIATE_OEM (B), MS-NLMP 2.2.2.5
	flagRequestTarget           negotiateFlags = 0x00000004 // NTLMSSP_REQUEST_TARGET (C), MS-NLMP 2.2.2.5
	flagSign                    negotiateFlags = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN (D), MS-NLMP 2.2.2.5
	flagSeal                    negotiateFlags = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL (E), MS-NLMP 2.2.2.5
	flagDatagram                negotiateFlags = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM (F), MS-NLMP 2.2.2.5
	flagLMKey                   negotiateFlags = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY (G), MS-NLMP 2.2.2.5
	flagNTLM                    negotiateFlags = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM (H), MS-NLMP 2.2.2.5
	flagAnonymous               negotiateFlags = 0x00000800 // NTLMSSP_ANONYMOUS (J), MS-NLMP 2.2.2.5
	flagOEMDomainSupplied       negotiateFlags = 0x00001000 // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED (K), MS-NLMP 2.2.2.5
	flagOEMWorkstationSupplied  negotiateFlags = 0x00002000 // NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED (L), MS-NLMP 2.2.2.5
	flagAlwaysSign              negotiateFlags = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M), MS-NLMP 2.2.2.5
	flagTargetTypeDomain        negotiateFlags = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN (N), MS-NLMP 2.2.2.5
	flagTargetTypeServer        negotiateFlags = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER (O), MS-NLMP 2.2.2.5
	flagExtendedSessionSecurity negotiateFlags = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P), MS-NLMP 2.2.2.5
	flagIdentify                negotiateFlags = 0x00100000 // NTLMSSP_NEGOTIATE_IDENTIFY (Q), MS-NLMP 2.2.2.5
	flagRequestNonNTSessionKey  negotiateFlags = 0x00400000 // NTLMSSP_REQUEST_NON_NT_SESSION_KEY (R), MS-NLMP 2.2.2.5
	flagTargetInfo              negotiateFlags = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO (S), MS-NLMP 2.2.2.5
	flagVersion                 negotiateFlags = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION (T), MS-NLMP 2.2.2.5
	flag128                     negotiateFlags = 0x20000000 // NTLMSSP_NEGOTIATE_128 (U), MS-NLMP 2.2.2.5
	flagKeyExch                 negotiateFlags = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH (V), MS-NLMP 2.2.2.5
	flag56                      negotiateFlags = 0x80000000 // NTLMSSP_NEGOTIATE_56 (W), MS-NLMP 2.2.2.5
)

var negotiateFlagNames = []struct {
	bit  negotiateFlags
	name string
}{
	{flagUnicode, "NTLMSSP_NEGOTIATE_UNICODE"},
	{flagOEM, "NTLM_NEGOTIATE_OEM"},
	{flagRequestTarget, "NTLMSSP_REQUEST_TARGET"},
	{flagSign, "NTLMSSP_NEGOTIATE_SIGN"},
	{flagSeal, "NTLMSSP_NEGOTIATE_SEAL"},
	{flagDatagram, "NTLMSSP_NEGOTIATE_DATAGRAM"},
	{flagLMKey, "NTLMSSP_NEGOTIATE_LM_KEY"},
	{flagNTLM, "NTLMSSP_NEGOTIATE_NTLM"},
	{flagAnonymous, "NTLMSSP_ANONYMOUS"},
	{flagOEMDomainSupplied, "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED"},
	{flagOEMWorkstationSupplied, "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED"},
	{flagAlwaysSign, "NTLMSSP_NEGOTIATE_ALWAYS_SIGN"},
	{flagTargetTypeDomain, "NTLMSSP_TARGET_TYPE_DOMAIN"},
	{flagTargetTypeServer, "NTLMSSP_TARGET_TYPE_SERVER"},
	{flagExtendedSessionSecurity, "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY"},
	{flagIdentify, "NTLMSSP_NEGOTIATE_IDENTIFY"},
	{flagRequestNonNTSessionKey, "NTLMSSP_REQUEST_NON_NT_SESSION_KEY"},
	{flagTargetInfo, "NTLMSSP_NEGOTIATE_TARGET_INFO"},
	{flagVersion, "NTLMSSP_NEGOTIATE_VERSION"},
	{flag128, "NTLMSSP_NEGOTIATE_128"},
	{flagKeyExch, "NTLMSSP_NEGOTIATE_KEY_EXCH"},
	{flag56, "NTLMSSP_NEGOTIATE_56"},
}

// String lists the set flags by their MS-NLMP names, joined by "|"; bits
// the specification reserves are shown in hexadecimal.
func (f negotiateFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range negotiateFlagNames {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%08x", uint32(f)))
	}
	return strings.Join(parts, "|")
}

// has reports whether every bit of want is set.
func (f negotiateFlags) has(want negotiateFlags) bool { return f&want == want }

// sessionSecurityFlags are the bits whose meaning both sides must agree on
// for session security (MS-NLMP 3.1.5.1.2, 3.2.5.1.2).
const sessionSecurityFlags = flagSign | flagSeal | flagAlwaysSign | flagKeyExch |
	flag128 | flag56 | flagExtendedSessionSecurity | flagDatagram | flagIdentify | flagLMKey

// contextFlagsFor maps negotiated NegotiateFlags and the caller's request
// to the services the context provides. Signed NTLM messages always carry
// a sequence number under the checksum; the initiator reports replay and
// sequence detection as its caller asked, and the acceptor, which cannot
// know what the client's caller asked, always provides them with signing.
func contextFlagsFor(f negotiateFlags, requested secpkg.ContextFlags, anonymous, acceptor bool) secpkg.ContextFlags {
	var c secpkg.ContextFlags
	if f&(flagSign|flagSeal) != 0 && !anonymous {
		c |= secpkg.FlagIntegrity
		c |= requested & (secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect)
		if acceptor {
			c |= secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect
		}
	}
	if f&flagSeal != 0 && !anonymous {
		c |= secpkg.FlagConfidentiality
	}
	if f&flagIdentify != 0 {
		c |= secpkg.FlagIdentify
	}
	if f&flagDatagram != 0 {
		c |= secpkg.FlagDatagram
	} else {
		c |= secpkg.FlagConnection
	}
	if anonymous {
		c |= secpkg.FlagNullSession
	}
	return c
}

// missingServices returns what the caller asked for that the context
// does not provide.
func missingServices(requested, got secpkg.ContextFlags) secpkg.ContextFlags {
	const services = secpkg.FlagIntegrity | secpkg.FlagConfidentiality | secpkg.FlagReplayDetect | secpkg.FlagSequenceDetect
	return requested & services &^ got
}
