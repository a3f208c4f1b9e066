package kerberos

import (
	"github.com/opensspi/sspi/internal/krb5"
	"github.com/opensspi/sspi/secpkg"
)

// identity is who an accepted AP-REQ proves the client is: the ticket's
// encrypted client name and realm (never the authenticator's), the
// context's flags and expiry, what became of channel bindings, and the
// PAC if the KDC put one in the ticket (internal/krb5 refused the ticket
// if its PAC is malformed or its server signature is unkeyed, empty or
// wrong).
func (p *lsaPackage) identity(got *krb5.AcceptedAPReq, flags secpkg.ContextFlags) *secpkg.Identity {
	id := &secpkg.Identity{
		User:     got.Client.NameString(),
		Domain:   got.Client.Realm,
		Package:  Name,
		Flags:    flags.ASC(),
		Expiry:   got.EndTime,
		Bindings: bindingsResult(got.Bindings),
	}
	if got.PAC != nil {
		id.PAC = pacInfo(got.PAC)
	}
	return id
}

// bindingsResult maps internal/krb5's verdict on channel bindings to
// SEC_CHANNEL_BINDINGS_RESULT.
func bindingsResult(r krb5.BindingsResult) secpkg.ChannelBindingResult {
	switch r {
	case krb5.BindingsMatched:
		return secpkg.BindingsClientSupport | secpkg.BindingsValidMatched
	case krb5.BindingsAbsent:
		return secpkg.BindingsValidMissing
	case krb5.BindingsNotChecked:
		return secpkg.BindingsClientSupport | secpkg.BindingsAbsent
	}
	return secpkg.BindingsAbsent
}

// pacInfo is what a verified PAC says of the client.
func pacInfo(pac *krb5.PAC) *secpkg.PACInfo {
	out := &secpkg.PACInfo{ClientName: pac.ClientName, UPN: pac.UPN, DNSDomain: pac.DNSDomain}
	if li := pac.LogonInfo; li != nil {
		out.UserSID = li.UserSID().String()
		for _, s := range li.GroupSIDs() {
			out.GroupSIDs = append(out.GroupSIDs, s.String())
		}
		out.EffectiveName = li.EffectiveName
		out.FullName = li.FullName
		out.LogonDomainName = li.LogonDomainName
		out.LogonServer = li.LogonServer
		out.UserFlags = li.UserFlags
		out.UserAccountControl = li.UserAccountControl
	}
	return out
}
