package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
)

// sessionProvider is a provider on lsad: logon sessions only outlive this
// command inside the daemon.
func (e *env) sessionProvider(ctx context.Context) (*sspi.Provider, error) {
	d, err := e.daemon(ctx)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, hint(errors.New("logon sessions live in lsad"), "start lsad and give --lsa SOCKET (or set SSPI_LSA)")
	}
	return sspi.NewProvider(d, nil), nil
}

func newLogonCmd(e *env) *cobra.Command {
	var pkg, domain string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "logon USER",
		Short: "Log on to lsad: keep your credentials there for default credentials (LsaLogonUser)",
		Long: `logon gives lsad your password once: the package checks it and keeps what it
needs (NTLM: the NT hash) in a logon session of your uid. Later, programs of
your uid acquire default credentials (AcquireCredentials without an identity)
from it, and never hold the password.`,
		Example: `  SSPI_LSA=/run/opensspi/lsad.sock sspi logon alice
  sspi logon 'EXAMPLE\alice' --package NTLM --lsa /run/opensspi/lsad.sock`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.sessionProvider(cmd.Context())
			if err != nil {
				return err
			}
			d, u := splitUser(args[0], domain)
			pw, err := e.password("Password for "+args[0]+": ", stdin, false)
			if err != nil {
				return err
			}
			defer clear(pw)
			ls, err := p.LogonUser(cmd.Context(), pkg, &sspi.AuthIdentity{User: u, Domain: d, Password: pw})
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, newSessionJSON(*ls))
			}
			fmt.Fprintf(e.stdout, "logon session %v for %s\\%s (%s)\n", ls.LogonID, ls.Domain, ls.User, ls.Package)
			return nil
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "NTLM", "package that checks the password and keeps the credentials")
	cmd.Flags().StringVar(&domain, "domain", "", "domain of the account")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

func newSessionsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "sessions",
		Short:   "List your logon sessions in lsad (no secrets)",
		Example: `  sspi sessions --lsa /run/opensspi/lsad.sock`,
		Args:    cobra.NoArgs,
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
			return e.table([]string{"LOGONID", "USER", "PACKAGE", "CREATED"}, func(row func(...any)) {
				for _, s := range list {
					row(s.LogonID, s.Domain+`\`+s.User, s.Package, s.Created.Format("2006-01-02 15:04:05"))
				}
			})
		},
	}
}

func newLogoffCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "logoff LOGONID",
		Short: "End one of your logon sessions in lsad",
		Long: `logoff ends a logon session: LOGONID is its id in hex, as logon and
sessions print it ("0x1a2b3c", or "1a2b3c").`,
		Example: `  sspi logoff 0x1a2b3c --lsa /run/opensspi/lsad.sock`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, ok := parseLogonID(args[0])
			if !ok {
				return usage(cmd, fmt.Errorf("bad logon id %q: want hex, as 'sspi sessions' prints it (0x1a2b3c)", args[0]))
			}
			p, err := e.sessionProvider(cmd.Context())
			if err != nil {
				return err
			}
			if err := p.Logoff(cmd.Context(), id); err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, logoffJSON{Action: "ended", LogonID: id.String()})
			}
			fmt.Fprintf(e.stdout, "logon session %s ended\n", id)
			return nil
		},
	}
}
