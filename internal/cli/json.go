package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// What --json prints: one naming style (snake_case), flags and
// capabilities as lists of their Windows names, logon ids in hex as the
// text output shows them, no zero times (the field is left out) and lists
// that are empty, never null.

// names splits a flag set's String ("A|B", "0" for none) into its names.
func names(s string) []string {
	if s == "0" || s == "" {
		return []string{}
	}
	return strings.Split(s, "|")
}

// timeJSON formats t for JSON, or nil for the zero time.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// packageJSON is a SecPkgInfo.
type packageJSON struct {
	Name         string   `json:"name"`
	Comment      string   `json:"comment"`
	Capabilities []string `json:"capabilities"` // SECPKG_FLAG_* names
	Version      uint16   `json:"version"`
	RPCID        uint16   `json:"rpc_id"`
	MaxToken     uint32   `json:"max_token"`
}

func newPackageJSON(p sspi.PackageInfo) packageJSON {
	return packageJSON{Name: p.Name, Comment: p.Comment, Capabilities: names(p.Capabilities.String()),
		Version: p.Version, RPCID: p.RPCID, MaxToken: p.MaxToken}
}

// accountJSON is an account as the store lists it (no secrets).
type accountJSON struct {
	Domain      string   `json:"domain"`
	User        string   `json:"user"`
	Groups      []string `json:"groups"`
	Disabled    bool     `json:"disabled"`
	Locked      bool     `json:"locked"`
	LockedUntil *string  `json:"locked_until,omitempty"`
	Failures    int      `json:"failures"`
	Packages    []string `json:"packages"` // packages holding a verifier
	Created     *string  `json:"created,omitempty"`
	Updated     *string  `json:"updated,omitempty"`
}

func newAccountJSON(a lsa.AccountInfo, now time.Time) accountJSON {
	j := accountJSON{Domain: a.Domain, User: a.User, Groups: nonNil(a.Groups), Disabled: a.Disabled,
		Failures: a.Failures, Packages: nonNil(a.Packages), Created: timeJSON(a.Created), Updated: timeJSON(a.Updated)}
	if a.LockedUntil.After(now) {
		j.Locked, j.LockedUntil = true, timeJSON(a.LockedUntil)
	}
	return j
}

// accountDoneJSON says what an account command did.
type accountDoneJSON struct {
	Action string `json:"action"` // added, password_set, registered, code_created, deleted, unlocked
	Domain string `json:"domain,omitempty"`
	User   string `json:"user"`
	// Packages are those the command made verifiers for, when it was
	// told (--package) or registered one.
	Packages []string `json:"packages,omitempty"`
	// RegistrationCodes are the one-time codes of add --code.
	RegistrationCodes []codeJSON `json:"registration_codes,omitempty"`
}

// sessionJSON is a logon session (no secrets).
type sessionJSON struct {
	LogonID string  `json:"logon_id"` // hex, as LogonID.String prints it
	UID     uint32  `json:"uid"`
	Domain  string  `json:"domain"`
	User    string  `json:"user"`
	Package string  `json:"package"`
	Network bool    `json:"network,omitempty"` // a delegated client's session
	Created *string `json:"created,omitempty"`
	Expires *string `json:"expires,omitempty"`
	// Credentials are what the packages keep in the session, as klist
	// lists them (Kerberos: the TGT, then the service tickets).
	Credentials []credentialJSON `json:"credentials"`
}

// credentialJSON is a secpkg.CredentialInfo: a ticket without its key.
type credentialJSON struct {
	Package     string  `json:"package"`
	Client      string  `json:"client,omitempty"`
	Server      string  `json:"server,omitempty"`
	Start       *string `json:"start,omitempty"`
	End         *string `json:"end,omitempty"`
	RenewTill   *string `json:"renew_till,omitempty"`
	Flags       string  `json:"flags,omitempty"` // klist's letters
	EType       string  `json:"etype,omitempty"` // the session key's
	TicketEType string  `json:"ticket_etype,omitempty"`
}

func newSessionJSON(s lsa.LogonSessionInfo) sessionJSON {
	j := sessionJSON{LogonID: s.LogonID.String(), UID: s.UID, Domain: s.Domain, User: s.User,
		Package: s.Package, Network: s.Network, Created: timeJSON(s.Created), Expires: timeJSON(s.Expires),
		Credentials: []credentialJSON{}}
	for _, c := range s.Credentials {
		j.Credentials = append(j.Credentials, credentialJSON{Package: c.Package, Client: c.Client, Server: c.Server,
			Start: timeJSON(c.Start), End: timeJSON(c.End), RenewTill: timeJSON(c.RenewTill),
			Flags: c.Flags, EType: c.EType, TicketEType: c.TicketEType})
	}
	return j
}

// logoffJSON says a logon session ended.
type logoffJSON struct {
	Action  string `json:"action"` // ended
	LogonID string `json:"logon_id"`
}

// parseLogonID reads a logon id as the commands print it, "0x1a2b", or
// the same hex digits without "0x".
func parseLogonID(s string) (secpkg.LogonID, bool) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, false
	}
	return secpkg.LogonID(v), true
}
