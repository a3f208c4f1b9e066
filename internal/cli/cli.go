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
)

// Main runs the command with args and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(context.Background())
	e.closeAll()
	if err != nil {
		fmt.Fprintf(stderr, "sspi: error: %v\n", err)
		var h hinted
		if errors.As(err, &h) {
			fmt.Fprintf(stderr, "sspi: hint: %s\n", h.hint)
		}
		return 1
	}
	return 0
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
		newDemoCmd(e),
		newServeCmd(e), newConnectCmd(e),
		newPackagesCmd(e),
		newAccountCmd(e),
		newLogonCmd(e), newSessionsCmd(e), newLogoffCmd(e),
	)
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
				return writeJSON(e.stdout, pkgs)
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
