package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/opensspi/sspi/lsa"
)

// splitUser splits "DOMAIN\user" or "user@DOMAIN" into domain and user.
func splitUser(s, domain string) (string, string) {
	if d, u, ok := strings.Cut(s, `\`); ok {
		return d, u
	}
	if u, d, ok := strings.Cut(s, "@"); ok {
		return d, u
	}
	return domain, s
}

// password reads a password: from SSPI_PASSWORD, from standard input
// (--password-stdin, or when it is not a terminal), or from a prompt on
// the terminal without echo.
func (e *env) password(prompt string, fromStdin, confirm bool) ([]byte, error) {
	return e.passwordConfirm(bufio.NewReader(e.stdin), prompt, fromStdin, confirm)
}

// passwordFrom is password reading standard input through in, which the
// caller goes on reading.
func (e *env) passwordFrom(in *bufio.Reader, prompt string, fromStdin bool) ([]byte, error) {
	return e.passwordConfirm(in, prompt, fromStdin, false)
}

func (e *env) passwordConfirm(in *bufio.Reader, prompt string, fromStdin, confirm bool) ([]byte, error) {
	if pw := e.getenv("SSPI_PASSWORD"); pw != "" {
		return []byte(pw), nil
	}
	f, isFile := e.stdin.(*os.File)
	if fromStdin || !isFile || !term.IsTerminal(int(f.Fd())) {
		line, err := in.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return nil, errors.New("no password on standard input")
		}
		return []byte(strings.TrimRight(line, "\r\n")), nil
	}
	fmt.Fprint(e.stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(e.stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if string(again) != string(pw) {
			return nil, errors.New("the passwords differ")
		}
	}
	return pw, nil
}

// accountOp is the RunE of a command that applies op to the account
// named by its argument, then says done (text) or action (--json).
func (e *env) accountOp(domain *string, done, action string, op func(a lsa.Admin, ctx context.Context, domain, user string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := e.admin(cmd.Context())
		if err != nil {
			return err
		}
		d, u := splitUser(args[0], *domain)
		if err := op(a, cmd.Context(), d, u); err != nil {
			return err
		}
		return e.accountDone(args[0], d, u, done, action)
	}
}

// passwordOp is the RunE of a command that reads a password (twice, at a
// prompt) for the account named by its argument and applies op to the
// administration admin returns.
func (e *env) passwordOp(admin func(context.Context) (lsa.Admin, error), domain *string, stdin *bool, prompt, done, action string, op func(a lsa.Admin, ctx context.Context, req *lsa.AccountRequest) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := admin(cmd.Context())
		if err != nil {
			return err
		}
		d, u := splitUser(args[0], *domain)
		pw, err := e.password(prompt+args[0]+": ", *stdin, true)
		if err != nil {
			return err
		}
		defer clear(pw)
		if err := op(a, cmd.Context(), &lsa.AccountRequest{Domain: d, User: u, Password: pw}); err != nil {
			return err
		}
		return e.accountDone(args[0], d, u, done, action)
	}
}

// accountDone reports what an account command did to name.
func (e *env) accountDone(name, domain, user, done, action string) error {
	if e.json {
		return writeJSON(e.stdout, accountDoneJSON{Action: action, Domain: domain, User: user})
	}
	_, err := fmt.Fprintf(e.stdout, done+"\n", name)
	return err
}

func newAccountCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Administer the accounts of the LSA's account store",
		Long: `Administer accounts. The store keeps, for each account, the verifier each
package makes from the password (an NT hash for NTLM), never the password.

The command opens the store itself: the one --store (or SSPI_STORE) names,
else your own at ` + defaultStoreHelp + `.
Only 'account add' creates a store (and says where); every other command,
and every other sspi command, fails on a store that does not exist, so that
a typo never shows an empty list. With --lsa (or SSPI_LSA) it asks lsad,
whose policy must grant the caller "admin".
Passwords come from SSPI_PASSWORD, standard input or a prompt.`,
	}
	var domain string
	var groups []string
	var disabled, stdin bool
	add := &cobra.Command{
		Use:   "add USER",
		Short: "Create an account",
		Example: `  sspi account add alice
  sspi account add alice --store sqlite:/var/lib/opensspi/accounts.db
  printf 'secret\n' | sspi account add 'EXAMPLE\bob' --password-stdin --group staff --store sqlite:a.db`,
		Args: cobra.ExactArgs(1),
		RunE: e.passwordOp(e.adminCreating, &domain, &stdin, "Password for ", "account %s added", "added", func(a lsa.Admin, ctx context.Context, req *lsa.AccountRequest) error {
			req.Groups, req.Disabled = groups, disabled
			return a.AddAccount(ctx, req)
		}),
	}
	add.Flags().StringSliceVar(&groups, "group", nil, "group the account belongs to (repeatable)")
	add.Flags().BoolVar(&disabled, "disabled", false, "create the account disabled")
	passwd := &cobra.Command{
		Use:     "passwd USER",
		Short:   "Set an account's password (and clear its lockout)",
		Example: `  sspi account passwd alice --store sqlite:a.db`,
		Args:    cobra.ExactArgs(1),
		RunE:    e.passwordOp(e.admin, &domain, &stdin, "New password for ", "password of %s set", "password_set", lsa.Admin.SetPassword),
	}
	for _, c := range []*cobra.Command{add, passwd} {
		c.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	}
	del := &cobra.Command{
		Use:     "del USER",
		Aliases: []string{"delete", "rm"},
		Short:   "Delete an account",
		Example: `  sspi account del alice --store sqlite:a.db`,
		Args:    cobra.ExactArgs(1),
		RunE:    e.accountOp(&domain, "account %s deleted", "deleted", lsa.Admin.DeleteAccount),
	}
	unlock := &cobra.Command{
		Use:     "unlock USER",
		Short:   "Clear an account's lockout",
		Example: `  sspi account unlock alice --store sqlite:a.db`,
		Args:    cobra.ExactArgs(1),
		RunE:    e.accountOp(&domain, "account %s unlocked", "unlocked", lsa.Admin.UnlockAccount),
	}
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the accounts (no secrets)",
		Example: `  sspi account list --store sqlite:a.db --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := e.admin(cmd.Context())
			if err != nil {
				return err
			}
			accts, err := a.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			if e.json {
				out := make([]accountJSON, 0, len(accts))
				for _, x := range accts {
					out = append(out, newAccountJSON(x, now))
				}
				return writeJSON(e.stdout, out)
			}
			return e.table([]string{"ACCOUNT", "GROUPS", "STATE", "FAILURES", "PACKAGES"}, func(row func(...any)) {
				for _, x := range accts {
					state := "enabled"
					switch {
					case x.Disabled:
						state = "disabled"
					case x.LockedUntil.After(now):
						state = "locked"
					}
					row(x.Domain+`\`+x.User, strings.Join(x.Groups, ","), state, x.Failures, strings.Join(x.Packages, ","))
				}
			})
		},
	}
	for _, c := range []*cobra.Command{add, passwd, del, unlock} {
		c.Flags().StringVar(&domain, "domain", "", "domain of the account (default: the machine's)")
	}
	cmd.AddCommand(add, passwd, del, unlock, list)
	return cmd
}
