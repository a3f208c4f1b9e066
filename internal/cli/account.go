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
	"github.com/opensspi/sspi/secpkg"
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

// accountDone reports what an account command did to name.
func (e *env) accountDone(name, domain, user, done, action string) error {
	return e.accountDoneWith(accountDoneJSON{Action: action, Domain: domain, User: user}, name, done)
}

// accountDoneWith reports j: as JSON, or as done about name.
func (e *env) accountDoneWith(j accountDoneJSON, name, done string) error {
	if e.json {
		return writeJSON(e.stdout, j)
	}
	_, err := fmt.Fprintf(e.stdout, done+"\n", name)
	return err
}

// accountFlags are the flags of the commands that set verifiers.
type accountFlags struct {
	domain   string
	groups   []string
	disabled bool
	stdin    bool
	packages []string // --package
	ksf      string   // --ksf: the client's KSF for OPAQUE
	code     bool     // add --code
	codeLife time.Duration
}

// addAccount is 'sspi account add': without --package, the LSA makes
// every verifier it can from the password (NTLM's NT hash) and leaves out
// the packages the client registers; with --package, those named: the
// LSA makes the password packages' verifiers and this process registers
// the others (OPAQUE), so that the LSA never sees the password for them;
// with --code, the account gets no password and a one-time code per
// package for its user to register with ('sspi account register').
func (e *env) addAccount(f *accountFlags) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		pwPkgs, regPkgs, err := splitPackages(f.packages)
		if err != nil {
			return usage(cmd, err)
		}
		if f.code && (len(regPkgs) == 0 || len(pwPkgs) > 0) {
			return usage(cmd, errors.New("--code is for packages the client registers, each named by --package (--package OPAQUE)"))
		}
		conn, err := e.adminCreating(ctx)
		if err != nil {
			return err
		}
		a := conn.(lsa.Admin)
		d, u := splitUser(args[0], f.domain)
		req := &lsa.AccountRequest{Domain: d, User: u, Groups: f.groups, Disabled: f.disabled, Packages: pwPkgs}
		done := accountDoneJSON{Action: "added", Domain: d, User: u, Packages: append(pwPkgs, regPkgs...)}
		if f.code {
			if err := a.AddAccount(ctx, req); err != nil {
				return err
			}
			codes, err := e.issueCodes(ctx, a, args[0], d, u, regPkgs, f.codeLife)
			if err != nil {
				a.DeleteAccount(ctx, d, u)
				return err
			}
			done.RegistrationCodes = codes
			return e.accountDoneWith(done, args[0], "account %s added, without a password until its user registers one")
		}
		pw, err := e.password("Password for "+args[0]+": ", f.stdin, true)
		if err != nil {
			return err
		}
		defer clear(pw)
		if len(pwPkgs) > 0 || len(regPkgs) == 0 {
			req.Password = pw
		}
		if err := a.AddAccount(ctx, req); err != nil {
			return err
		}
		for _, p := range regPkgs {
			if err := register(ctx, conn, p, d, u, pw, "", f.ksf); err != nil {
				// All or nothing: the account this command made goes.
				a.DeleteAccount(ctx, d, u)
				return fmt.Errorf("registering %s with %s: %w", args[0], p, err)
			}
		}
		return e.accountDoneWith(done, args[0], "account %s added")
	}
}

// setPassword is 'sspi account passwd': the new password for the
// packages named by --package, else for those that hold a verifier of
// the account now. The LSA makes the password packages' verifiers and
// removes every other verifier (they would still accept the old
// password); this process then registers the packages the client
// registers (OPAQUE).
func (e *env) setPassword(f *accountFlags) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		conn, err := e.adminConn(ctx)
		if err != nil {
			return err
		}
		a := conn.(lsa.Admin)
		d, u := splitUser(args[0], f.domain)
		pkgs := f.packages
		if len(pkgs) == 0 {
			if pkgs, err = accountPackages(ctx, a, d, u); err != nil {
				return err
			}
		}
		pwPkgs, regPkgs, err := splitPackages(pkgs)
		if err != nil {
			return usage(cmd, err)
		}
		pw, err := e.password("New password for "+args[0]+": ", f.stdin, true)
		if err != nil {
			return err
		}
		defer clear(pw)
		if len(pwPkgs) > 0 || len(regPkgs) == 0 {
			req := &lsa.AccountRequest{Domain: d, User: u, Password: pw}
			if len(f.packages) > 0 {
				req.Packages = pwPkgs
			}
			if err := a.SetPassword(ctx, req); err != nil {
				return err
			}
		}
		for _, p := range regPkgs {
			if err := register(ctx, conn, p, d, u, pw, "", f.ksf); err != nil {
				return fmt.Errorf("registering %s with %s: %w", args[0], p, err)
			}
		}
		return e.accountDoneWith(accountDoneJSON{Action: "password_set", Domain: d, User: u, Packages: append(pwPkgs, regPkgs...)}, args[0], "password of %s set")
	}
}

// accountPackages lists the packages that hold a verifier of
// domain\user; none means the LSA's default.
func accountPackages(ctx context.Context, a lsa.Admin, domain, user string) ([]string, error) {
	list, err := a.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		if strings.EqualFold(x.User, user) && (strings.EqualFold(x.Domain, domain) || domain == "" || domain == ".") {
			return x.Packages, nil
		}
	}
	return nil, nil // SetPassword says there is no such account
}

// registerAccount is 'sspi account register': this process runs the
// client side of a registration of a new password for the account with a
// package the client registers (OPAQUE), the LSA the other; with a code
// (--code or SSPI_REGISTRATION_CODE) any user may, without one only an
// administrator.
func (e *env) registerAccount(f *accountFlags, pkg, code *string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if _, _, ok := clientRegistrar(*pkg); !ok {
			return usage(cmd, fmt.Errorf("%s is not a package the client registers (--package OPAQUE)", *pkg))
		}
		c := *code
		if c == "" {
			c = e.getenv("SSPI_REGISTRATION_CODE")
		}
		conn, err := e.adminConn(ctx)
		if err != nil {
			return err
		}
		d, u := splitUser(args[0], f.domain)
		pw, err := e.password("New password for "+args[0]+": ", f.stdin, true)
		if err != nil {
			return err
		}
		defer clear(pw)
		if err := register(ctx, conn, *pkg, d, u, pw, c, f.ksf); err != nil {
			return err
		}
		_, name, _ := secpkg.Lookup(*pkg)
		return e.accountDoneWith(accountDoneJSON{Action: "registered", Domain: d, User: u, Packages: []string{name}}, args[0], "password of %s registered with "+name)
	}
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
	f := &accountFlags{}
	add := &cobra.Command{
		Use:   "add USER",
		Short: "Create an account",
		Long: `Create an account. The LSA makes each package's verifier from the password
(NTLM: the NT hash) for the packages that need it given; packages whose
verifier only the client can make (OPAQUE, so that the server never holds a
password equivalent) are registered by this command itself, the password
never leaving this process: name them with --package. Without --package the
account gets the verifiers the LSA makes (OPAQUE is left out).

With --code the account gets no password: the command prints a one-time
registration code per package, which the account's user redeems with
'sspi account register USER --code CODE', so that the administrator never
learns the password.`,
		Example: `  sspi account add alice
  sspi account add alice --store sqlite:/var/lib/opensspi/accounts.db
  printf 'secret\n' | sspi account add 'EXAMPLE\bob' --password-stdin --group staff --store sqlite:a.db
  sspi account add carol --package OPAQUE --lsa /run/opensspi/lsad.sock
  sspi account add dave --package OPAQUE --code --lsa /run/opensspi/lsad.sock`,
		Args: cobra.ExactArgs(1),
		RunE: e.addAccount(f),
	}
	add.Flags().StringSliceVar(&f.groups, "group", nil, "group the account belongs to (repeatable)")
	add.Flags().BoolVar(&f.disabled, "disabled", false, "create the account disabled")
	add.Flags().BoolVar(&f.code, "code", false, "no password: print a one-time registration code for each --package instead")
	passwd := &cobra.Command{
		Use:   "passwd USER",
		Short: "Set an account's password (and clear its lockout)",
		Long: `Set an account's password for the packages named by --package, else for
those holding a verifier of the account now. The LSA makes the verifiers it
makes from a password and removes the account's other verifiers, which would
still accept the old password; this command then registers the packages the
client registers (OPAQUE) without giving the LSA the password.`,
		Example: `  sspi account passwd alice --store sqlite:a.db
  sspi account passwd carol --package OPAQUE --lsa /run/opensspi/lsad.sock`,
		Args: cobra.ExactArgs(1),
		RunE: e.setPassword(f),
	}
	var regPkg, regCode string
	reg := &cobra.Command{
		Use:   "register USER",
		Short: "Register a password with a package the client registers (OPAQUE)",
		Long: `register makes the account's verifier for a package whose verifier only the
client can make (OPAQUE, RFC 9807): this process runs the client's side with
the password, the LSA the server's, and the password never reaches the LSA.

With --code (or SSPI_REGISTRATION_CODE), any user may register the account
the one-time code was made for ('sspi account add USER --package OPAQUE
--code'); the code is then used up. Without one, only an administrator may.`,
		Example: `  sspi account register dave --code ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567 --lsa /run/opensspi/lsad.sock
  sspi account register carol --store sqlite:a.db`,
		Args: cobra.ExactArgs(1),
		RunE: e.registerAccount(f, &regPkg, &regCode),
	}
	var codePkg string
	code := &cobra.Command{
		Use:   "code USER",
		Short: "Make a one-time registration code for an existing account",
		Long: `code prints a one-time code with which the account's user registers a new
password with a package the client registers (OPAQUE): 'sspi account register
USER --code CODE'. The administrator never learns the password. A new code
replaces the account's previous one for the package; it is valid for a day
unless --code-lifetime says otherwise (at most a week).`,
		Example: `  sspi account code dave --lsa /run/opensspi/lsad.sock
  sspi account code dave --code-lifetime 1h --json --store sqlite:a.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, name, ok := clientRegistrar(codePkg)
			if !ok {
				return usage(cmd, fmt.Errorf("%s is not a package the client registers (--package OPAQUE)", codePkg))
			}
			a, err := e.admin(cmd.Context())
			if err != nil {
				return err
			}
			d, u := splitUser(args[0], f.domain)
			codes, err := e.issueCodes(cmd.Context(), a, args[0], d, u, []string{name}, f.codeLife)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, accountDoneJSON{Action: "code_created", Domain: d, User: u, RegistrationCodes: codes})
			}
			return nil
		},
	}
	code.Flags().StringVar(&codePkg, "package", defaultRegisterPackage, "the package the code registers")
	for _, c := range []*cobra.Command{add, code} {
		c.Flags().DurationVar(&f.codeLife, "code-lifetime", 0, "how long a registration code is valid (default: the LSA's, a day; at most a week)")
	}
	reg.Flags().StringVar(&regPkg, "package", defaultRegisterPackage, "the package to register with")
	reg.Flags().StringVar(&regCode, "code", "", "the one-time registration code (default $SSPI_REGISTRATION_CODE)")
	for _, c := range []*cobra.Command{add, passwd} {
		c.Flags().StringSliceVar(&f.packages, "package", nil, "a package to make the verifier of (repeatable; default: see the help)")
	}
	for _, c := range []*cobra.Command{add, passwd, reg} {
		c.Flags().BoolVar(&f.stdin, "password-stdin", false, "read the password from standard input")
		c.Flags().StringVar(&f.ksf, "ksf", "", "OPAQUE: the key stretching function to register with, such as 'Argon2id(m=65536,t=3,p=4)' (default: the LSA's)")
	}
	del := &cobra.Command{
		Use:     "del USER",
		Aliases: []string{"delete", "rm"},
		Short:   "Delete an account",
		Example: `  sspi account del alice --store sqlite:a.db`,
		Args:    cobra.ExactArgs(1),
		RunE:    e.accountOp(&f.domain, "account %s deleted", "deleted", lsa.Admin.DeleteAccount),
	}
	unlock := &cobra.Command{
		Use:     "unlock USER",
		Short:   "Clear an account's lockout",
		Example: `  sspi account unlock alice --store sqlite:a.db`,
		Args:    cobra.ExactArgs(1),
		RunE:    e.accountOp(&f.domain, "account %s unlocked", "unlocked", lsa.Admin.UnlockAccount),
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
	for _, c := range []*cobra.Command{add, passwd, reg, code, del, unlock} {
		c.Flags().StringVar(&f.domain, "domain", "", "domain of the account (default: the machine's)")
	}
	cmd.AddCommand(add, passwd, reg, code, del, unlock, list)
	return cmd
}
