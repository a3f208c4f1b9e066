// Package cli implements the sspi command. cmd/sspi only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// Main runs the command with args and returns the exit status: 0 on
// success (and for --help), 2 for a command line that does not parse
// (unknown command or flag, wrong arguments), 1 for any other error.
// With --json, an error is a JSON object on standard error:
//
//	{"error": "...", "status": "SEC_E_...", "hint": "..."}
//
// (status when the error carries a SEC_E_* code, hint when there is
// advice).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return e.run(args)
}

// run runs the command line args in e and returns the exit status (Main).
func (e *env) run(args []string) int {
	stdin, stdout, stderr := e.stdin, e.stdout, e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(context.Background())
	e.closeAll()
	if err == nil {
		return 0
	}
	e.printError(err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// printError reports err on standard error, as text or (--json) as one
// JSON object.
func (e *env) printError(err error) {
	var h hinted
	advice := ""
	if errors.As(err, &h) {
		advice = h.hint
	}
	if e.json {
		v := errorJSON{Error: err.Error(), Hint: advice}
		var se *secpkg.Error
		var st secpkg.Status
		switch {
		case errors.As(err, &se):
			v.Status = se.Status.String()
		case errors.As(err, &st):
			v.Status = st.String()
		}
		writeJSONLine(e.stderr, v)
		return
	}
	fmt.Fprintf(e.stderr, "sspi: error: %v\n", err)
	if advice != "" {
		fmt.Fprintf(e.stderr, "sspi: hint: %s\n", advice)
	}
}

type errorJSON struct {
	Error  string `json:"error"`
	Status string `json:"status,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func hint(err error, format string, args ...any) error {
	return hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// usageError is a command line that does not parse: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// usage wraps err as a usage error, with a hint to see the command's help.
func usage(cmd *cobra.Command, err error) error {
	return usageError{hint(err, "see '%s --help'", cmd.CommandPath())}
}

// args makes an argument check's failures usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usage(cmd, err)
		}
		return nil
	}
}

// groupArgs refuses anything but a known subcommand after a command that
// only groups others.
func groupArgs(cmd *cobra.Command, a []string) error {
	if len(a) > 0 {
		err := fmt.Errorf("unknown command %q for %q", a[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(a[0]); len(s) > 0 {
			err = fmt.Errorf("%w; did you mean %q?", err, s[0])
		}
		return usage(cmd, err)
	}
	return nil
}

// groupRun is what a command that only groups others does without a
// subcommand: a usage error.
func groupRun(cmd *cobra.Command, a []string) error {
	return usage(cmd, fmt.Errorf("%q needs a command", cmd.CommandPath()))
}

// strict makes every command of the tree refuse what it does not know:
// groups refuse unknown subcommands and arguments check their count, both
// as usage errors.
func strict(cmd *cobra.Command) {
	if cmd.HasSubCommands() {
		cmd.Args, cmd.RunE = groupArgs, groupRun
		cmd.SuggestionsMinimumDistance = 2
	} else if cmd.Args != nil {
		cmd.Args = args(cmd.Args)
	}
	for _, c := range cmd.Commands() {
		strict(c)
	}
}

// env is what every command shares: its streams, the global flags and the
// resources to release at exit.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	json    bool
	verbose bool
	lsaSock string // --lsa
	store   string // --store

	closers []func() error
	outMu   sync.Mutex // serializes event lines of concurrent connections

	// connHook, set by tests only, wraps every connection to the LSA
	// (to record what crosses the seam).
	connHook func(lsa.Conn) lsa.Conn
}

func (e *env) closeAll() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

const rootLong = `sspi is the command line of OpenSSPI, the Windows security support
provider architecture (SSPI, security packages, the Local Security Authority)
rebuilt in Go.

Without a daemon the commands run an LSA inside this process. With --lsa
(or SSPI_LSA) they talk to the lsad daemon on its Unix socket.`

const rootExample = `  sspi demo                                   run every package end to end on loopback
  sspi packages                               list the security packages
  sspi serve --listen 127.0.0.1:7000 --package NTLM --store sqlite:/tmp/a.db
  SSPI_PASSWORD=secret sspi connect 127.0.0.1:7000 --package NTLM --user alice
  sspi account add alice --store sqlite:/tmp/a.db
  SSPI_LSA=/run/opensspi/lsad.sock sspi logon alice`

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "sspi",
		Short:         "OpenSSPI: the Windows security support provider architecture for every platform",
		Long:          rootLong,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&e.json, "json", false, "print machine-readable JSON")
	pf.BoolVarP(&e.verbose, "verbose", "v", false, "show each leg of a handshake")
	pf.StringVar(&e.lsaSock, "lsa", "", "lsad socket (default $SSPI_LSA; empty: an LSA in this process)")
	pf.StringVar(&e.store, "store", "", "account store: sqlite:PATH or postgres://… (default $SSPI_STORE, else ~/.local/share/opensspi/accounts.db if it exists)")
	root.AddCommand(
		newDemoCmd(e), newHTTPCmd(e),
		newServeCmd(e), newConnectCmd(e),
		newPackagesCmd(e),
		newAccountCmd(e),
		newLogonCmd(e), newSessionsCmd(e), newLogoffCmd(e),
	)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usage(cmd, err) })
	strict(root)
	return root
}

func newPackagesCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "packages",
		Short: "List the security packages (EnumerateSecurityPackages)",
		Example: `  sspi packages
  sspi packages --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.provider(cmd.Context())
			if err != nil {
				return err
			}
			pkgs, err := p.Packages(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				out := make([]packageJSON, 0, len(pkgs))
				for _, p := range pkgs {
					out = append(out, newPackageJSON(p))
				}
				return writeJSON(e.stdout, out)
			}
			return e.table([]string{"NAME", "RPCID", "MAXTOKEN", "CAPABILITIES", "COMMENT"}, func(row func(...any)) {
				for _, p := range pkgs {
					row(p.Name, p.RPCID, p.MaxToken, strings.ReplaceAll(p.Capabilities.String(), "SECPKG_FLAG_", ""), p.Comment)
				}
			})
		},
	}
}

// table prints rows under a header, aligned.
func (e *env) table(header []string, rows func(row func(...any))) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	rows(func(cols ...any) {
		for i, c := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	})
	return tw.Flush()
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
