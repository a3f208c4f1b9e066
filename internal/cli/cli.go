// Package cli implements the sspi command. cmd/sspi only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
)

// Main runs the command with args and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(&env{stdin: stdin, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(stderr, "sspi: error: %v\n", err)
		return 1
	}
	return 0
}

// env is what every command writes to.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	json           bool
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "sspi",
		Short:         "OpenSSPI: the Windows security support provider architecture for every platform",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVar(&e.json, "json", false, "print machine-readable JSON")
	root.AddCommand(newPackagesCmd(e))
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
			pkgs, err := sspi.Packages(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, pkgs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRPCID\tMAXTOKEN\tCAPABILITIES\tCOMMENT")
			for _, p := range pkgs {
				caps := strings.ReplaceAll(p.Capabilities.String(), "SECPKG_FLAG_", "")
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", p.Name, p.RPCID, p.MaxToken, caps, p.Comment)
			}
			return tw.Flush()
		},
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
