package secpkg

import (
	"context"
	"time"
)

// LogonTerminator is implemented by packages that keep state of their own
// for a logon session besides the credentials they stored in it with
// AddCredential (Kerberos: the service tickets obtained with the
// session's TGT): SpLogonTerminated. The LSA calls it once for every
// logon session that ends, whatever ended it (Logoff, DeleteLogonSession,
// the session's lifetime, a newer session of the same uid taking its
// place, the LSA shutting down), after it has wiped the session's
// credentials. The package must drop and wipe what it keeps for id.
type LogonTerminator interface {
	LogonTerminated(ctx context.Context, id LogonID)
}

// CredentialLister is implemented by packages that can describe, without
// a secret, the credentials a logon session holds for them: what klist
// shows of a Kerberos credentials cache (the TGT and the service tickets,
// their times, flags and encryption types). The LSA asks every enabled
// package that implements it when it lists a caller's logon sessions
// (lsa.Conn.LogonSessions), and returns what they say in
// lsa.LogonSessionInfo.Credentials. The call runs as the session's owner.
type CredentialLister interface {
	ListCredentials(ctx context.Context, id LogonID) ([]CredentialInfo, error)
}

// CredentialInfo describes one credential of a logon session, never its
// key: for Kerberos one ticket, as klist lists it.
type CredentialInfo struct {
	Package string // the package that holds it (set by the LSA)
	// Client and Server are the principals of a ticket (Kerberos:
	// "alice@EXAMPLE.COM", "krbtgt/EXAMPLE.COM@EXAMPLE.COM").
	Client string
	Server string
	// Start, End and RenewTill are the ticket's times; zero if the
	// package has none.
	Start     time.Time
	End       time.Time
	RenewTill time.Time
	// Flags are the ticket flags in klist's letters (F forwardable, f
	// forwarded, P proxiable, R renewable, I initial, H hardware
	// pre-authentication, A pre-authenticated, O ok-as-delegate, …).
	Flags string
	// EType names the encryption type of the ticket's session key, such
	// as "aes256-cts-hmac-sha1-96"; TicketEType that of the ticket
	// itself, if the package knows it.
	EType       string
	TicketEType string
}

// NetworkLogonCreator is implemented by the LSA support functions of an
// LSA that distinguishes network logon sessions: the logon session of
// the client of an accepted context (Windows' Network logon type), which
// holds the credentials the client delegated. It belongs to the caller
// that accepted the context, like any logon session the caller creates,
// but it is never the caller's default: AcquireCredentials without a
// LogonID takes the caller's newest other session, and a context's
// identity names the network session (Identity.LogonID), from which
// AcquireCredentials with that LogonID gives the server the client's
// credentials (impersonation by delegation). When a uid holds too many
// sessions, the LSA ends its oldest network session first.
type NetworkLogonCreator interface {
	CreateNetworkLogonSession(ctx context.Context, user, domain string) (LogonID, error)
}

// CallerFileReader is implemented by the LSA support functions of an LSA
// that can read a file on behalf of the calling client with the client's
// rights: for a package given a file name by a caller (a keytab, a
// credentials cache, PackedKeytabFile and PackedCCacheFile). An LSA that
// runs with more rights than its callers (lsad as root) opens the file as
// the caller's uid and gid would, so that nobody reads a file through the
// LSA that they could not read themselves; it fails with
// StatusNoCredentials when it cannot, or when the file is not a regular
// file or is larger than max.
type CallerFileReader interface {
	ReadCallerFile(ctx context.Context, path string, max int64) ([]byte, error)
}
