package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// sessionConn is the connection to lsad: logon sessions only outlive this
// command inside the daemon.
func (e *env) sessionConn(ctx context.Context) (lsa.Conn, error) {
	d, err := e.daemon(ctx)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, hint(errors.New("logon sessions live in lsad"), "start lsad and give --lsa SOCKET (or set SSPI_LSA)")
	}
	return d, nil
}

// sessionProvider is a provider on lsad (see sessionConn).
func (e *env) sessionProvider(ctx context.Context) (*sspi.Provider, error) {
	d, err := e.sessionConn(ctx)
	if err != nil {
		return nil, err
	}
	return sspi.NewProvider(d, nil), nil
}

// logonPackage is the package a logon without --package uses: Kerberos
// for what names a Kerberos principal or credential (user@REALM, a
// domain written as a DNS name, REALM.EXAMPLE\user, a keytab or a
// credentials cache), else NTLM, whose domains are NetBIOS names.
func logonPackage(user, domain string, packed bool) string {
	if packed || strings.Contains(user, "@") || strings.Contains(domain, ".") {
		return "Kerberos"
	}
	if d, _, ok := strings.Cut(user, `\`); ok && strings.Contains(d, ".") {
		return "Kerberos"
	}
	return "NTLM"
}

// packedFile returns packed credentials naming the file path (a keytab or
// a credentials cache, MIT's "FILE:" prefix allowed), which the LSA opens
// with the caller's rights; the path is made absolute, for lsad runs in
// another directory.
func packedFile(typ secpkg.PackedCredentialType, path string) (*secpkg.PackedCredentials, error) {
	if rest, ok := strings.CutPrefix(path, "FILE:"); ok {
		path = rest
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return &secpkg.PackedCredentials{Type: typ, Data: []byte(abs)}, nil
}

func newLogonCmd(e *env) *cobra.Command {
	var pkg, domain, keytab, ccache string
	var stdin, netonly bool
	cmd := &cobra.Command{
		Use:   "logon [USER]",
		Short: "Log on to lsad: keep your credentials there for default credentials (LsaLogonUser, kinit)",
		Long: `logon gives lsad your password once: the package checks it and keeps what it
needs in a logon session of your uid. Later, programs of your uid acquire
default credentials (AcquireCredentials without an identity) from it, and
never hold the password.

NTLM checks the password against lsad's account store and keeps the NT hash.
An account the store does not know is refused exactly as a wrong password is.

Kerberos (kinit) makes the AS exchange from lsad: the KDC checks the password,
and the session keeps the TGT (and the service tickets got with it later),
never the password; 'sspi sessions' lists the tickets like klist. The user is
alice@REALM, REALM\alice or, with --package Kerberos, alice in the default
realm of krb5.conf. In place of a password: --keytab PATH (the AS exchange
with the keytab's keys; USER picks its principal, else the keytab's first) or
--ccache PATH (the TGT of a credentials cache kinit filled, taken as it is).
lsad opens these files with your rights, never its own.

Without --package, the package is Kerberos for alice@REALM, a domain with a
dot (EXAMPLE.COM\alice), --keytab and --ccache; NTLM otherwise.

With --netonly ("runas /netonly", a NewCredentials logon) nothing is checked:
the session keeps the name and password as given, for outbound use only,
where the server you connect to checks them (Kerberos: the KDC, at the first
use). That is for an account of another domain, which this LSA cannot check.`,
		Example: `  SSPI_LSA=/run/opensspi/lsad.sock sspi logon alice
  sspi logon 'EXAMPLE\alice' --package NTLM --lsa /run/opensspi/lsad.sock
  sspi logon alice@EXAMPLE.COM --lsa /run/opensspi/lsad.sock
  sspi logon alice@EXAMPLE.COM --keytab ~/alice.keytab
  kinit alice@EXAMPLE.COM && sspi logon --ccache /tmp/krb5cc_$(id -u)
  sspi logon 'CORP\bob' --netonly --lsa /run/opensspi/lsad.sock`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keytab != "" && ccache != "" {
				return usage(cmd, errors.New("give --keytab or --ccache, not both"))
			}
			packed := keytab != "" || ccache != ""
			if len(args) == 0 && !packed {
				return usage(cmd, errors.New("logon needs USER (or --keytab or --ccache)"))
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if pkg == "" {
				pkg = logonPackage(name, domain, packed)
			}
			conn, err := e.sessionConn(cmd.Context())
			if err != nil {
				return err
			}
			d, u := splitUser(name, domain)
			id := sspi.AuthIdentity{User: u, Domain: d}
			switch {
			case keytab != "":
				id.Packed, err = packedFile(secpkg.PackedKeytabFile, keytab)
			case ccache != "":
				id.Packed, err = packedFile(secpkg.PackedCCacheFile, ccache)
			default:
				id.Password, err = e.password("Password for "+name+": ", stdin, false)
				defer clear(id.Password)
			}
			if err != nil {
				return err
			}
			req := &lsa.LogonUserRequest{Package: pkg, Identity: id}
			if netonly {
				req.Type = secpkg.LogonNewCredentials
			}
			ls, err := conn.LogonUser(cmd.Context(), req)
			if err != nil {
				return logonHint(err, pkg)
			}
			if e.json {
				// The session as sessions lists it, with what the
				// package keeps there (Kerberos: the TGT).
				if list, err := conn.LogonSessions(cmd.Context()); err == nil {
					for _, s := range list {
						if s.LogonID == ls.LogonID {
							ls = &s
							break
						}
					}
				}
				return writeJSON(e.stdout, newSessionJSON(*ls))
			}
			how := ls.Package
			if netonly {
				how += ", netonly: not checked"
			}
			fmt.Fprintf(e.stdout, "logon session %v for %s\\%s (%s)\n", ls.LogonID, ls.Domain, ls.User, how)
			return nil
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "", "package that checks the password and keeps the credentials (default: Kerberos for alice@REALM, EXAMPLE.COM\\alice, --keytab and --ccache; else NTLM)")
	cmd.Flags().StringVar(&domain, "domain", "", "domain (Kerberos: realm) of the account")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&netonly, "netonly", false, "keep the credentials unchecked, for outbound use only (runas /netonly)")
	cmd.Flags().StringVar(&keytab, "keytab", "", "Kerberos: get the TGT with the keys of this keytab, in place of a password (read by lsad with your rights)")
	cmd.Flags().StringVar(&ccache, "ccache", "", "Kerberos: keep the TGT of this credentials cache (kinit's), in place of a password (read by lsad with your rights)")
	return cmd
}

// logonHint adds to a failed logon what the user can change.
func logonHint(err error, pkg string) error {
	if !strings.EqualFold(pkg, "Kerberos") {
		return err
	}
	switch {
	case errors.Is(err, sspi.ErrLogonDenied):
		return hint(err, "the KDC refused the password (or keys): check the user name, its realm and the password")
	case errors.Is(err, sspi.StatusNoAuthenticatingAuthority), errors.Is(err, sspi.StatusTargetUnknown),
		errors.Is(err, sspi.ErrNoCredentials) && strings.Contains(err.Error(), "no Kerberos configuration"):
		return hint(err, "is the realm in lsad's krb5.conf ([kerberos] krb5_conf in lsad.toml, else KRB5_CONFIG or /etc/krb5.conf), with a KDC that answers?")
	}
	return err
}

func newSessionsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "sessions",
		Short: "List your logon sessions in lsad and their tickets, like klist (no secrets)",
		Long: `sessions lists your logon sessions in lsad, and under each what its packages
keep there, as klist lists a credentials cache: for Kerberos the TGT, then the
service tickets got with it, each with its client and service principals, its
start, end and renew-until times, its flags in klist's letters (F forwardable,
f forwarded, P proxiable, R renewable, I initial, A pre-authenticated,
O ok-as-delegate, ...) and the encryption types of its session key and of the
ticket. Never a key.

A network session (NETWORK) holds what the client of an accepted context
delegated to a server of your uid.`,
		Example: `  sspi sessions --lsa /run/opensspi/lsad.sock
  sspi sessions --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.sessionProvider(cmd.Context())
			if err != nil {
				return err
			}
			list, err := p.LogonSessions(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				out := make([]sessionJSON, 0, len(list))
				for _, s := range list {
					out = append(out, newSessionJSON(s))
				}
				return writeJSON(e.stdout, out)
			}
			if err := e.table([]string{"LOGONID", "USER", "PACKAGE", "CREATED"}, func(row func(...any)) {
				for _, s := range list {
					pkg := s.Package
					if s.Network {
						pkg += " (NETWORK)"
					}
					row(s.LogonID, s.Domain+`\`+s.User, pkg, s.Created.Format(timeLayout))
				}
			}); err != nil {
				return err
			}
			for _, s := range list {
				if len(s.Credentials) > 0 {
					if err := e.tickets(s); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

// timeLayout is how the commands print times.
const timeLayout = "2006-01-02 15:04:05"

// tickets prints what a logon session's packages keep, as klist does: the
// client principal, then one line per ticket.
func (e *env) tickets(s lsa.LogonSessionInfo) error {
	fmt.Fprintf(e.stdout, "\n%s: %s\n", s.LogonID, ticketOwner(s))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VALID STARTING\tEXPIRES\tRENEW UNTIL\tFLAGS\tETYPE (SKEY, TKT)\tSERVICE PRINCIPAL")
	for _, c := range s.Credentials {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", ticketTime(c.Start), ticketTime(c.End), ticketTime(c.RenewTill),
			orDash(c.Flags), etypes(c), orDash(c.Server))
	}
	return tw.Flush()
}

// ticketOwner is the principal a session's tickets are for (klist's
// "Default principal"), or its user.
func ticketOwner(s lsa.LogonSessionInfo) string {
	for _, c := range s.Credentials {
		if c.Client != "" {
			return c.Package + " tickets of " + c.Client
		}
	}
	return s.Package + " credentials of " + s.Domain + `\` + s.User
}

func ticketTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(timeLayout)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// etypes is klist -e's "Etype (skey, tkt)".
func etypes(c secpkg.CredentialInfo) string {
	switch {
	case c.EType == "" && c.TicketEType == "":
		return "-"
	case c.TicketEType == "":
		return c.EType
	}
	return orDash(c.EType) + ", " + c.TicketEType
}

func newLogoffCmd(e *env) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logoff LOGONID | --all",
		Short: "End your logon sessions in lsad, and what they hold (kdestroy)",
		Long: `logoff ends a logon session: LOGONID is its id in hex, as logon and
sessions print it ("0x1a2b3c", or "1a2b3c"); --all ends every one of yours.
lsad wipes what the session held (NTLM: the NT hash; Kerberos: the TGT and the
service tickets got with it), and programs of your uid no longer get default
credentials from it.`,
		Example: `  sspi logoff 0x1a2b3c --lsa /run/opensspi/lsad.sock
  sspi logoff --all`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids []secpkg.LogonID
			switch {
			case all && len(args) > 0:
				return usage(cmd, errors.New("give LOGONID or --all, not both"))
			case !all && len(args) == 0:
				return usage(cmd, errors.New("logoff needs LOGONID (or --all)"))
			case !all:
				id, ok := parseLogonID(args[0])
				if !ok {
					return usage(cmd, fmt.Errorf("bad logon id %q: want hex, as 'sspi sessions' prints it (0x1a2b3c)", args[0]))
				}
				ids = append(ids, id)
			}
			p, err := e.sessionProvider(cmd.Context())
			if err != nil {
				return err
			}
			if all {
				list, err := p.LogonSessions(cmd.Context())
				if err != nil {
					return err
				}
				for _, s := range list {
					ids = append(ids, s.LogonID)
				}
			}
			done := []logoffJSON{}
			for _, id := range ids {
				if err := p.Logoff(cmd.Context(), id); err != nil {
					return err
				}
				done = append(done, logoffJSON{Action: "ended", LogonID: id.String()})
				if !e.json {
					fmt.Fprintf(e.stdout, "logon session %s ended\n", id)
				}
			}
			switch {
			case e.json && all:
				return writeJSON(e.stdout, done)
			case e.json:
				return writeJSON(e.stdout, done[0])
			case all && len(ids) == 0:
				fmt.Fprintln(e.stdout, "no logon sessions")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "end every logon session of yours")
	return cmd
}
