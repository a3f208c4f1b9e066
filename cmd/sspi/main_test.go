package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/opensspi/sspi/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sspi": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line scripts in testdata: the demo, the
// package list, accounts, serve and connect, and bad input.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			// A free port for serve/connect, and no LSA or store from
			// the environment.
			for _, name := range []string{"PORT", "PORT2"} {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				port := ln.Addr().(*net.TCPAddr).Port
				ln.Close()
				env.Setenv(name, strconv.Itoa(port))
			}
			// curl is the independent HTTP peer of http.txtar; a run
			// that must exercise every peer fails without it.
			if _, err := exec.LookPath("curl"); err != nil && os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
				return fmt.Errorf("curl is missing and SSPI_INTEROP_REQUIRED=1 (Debian: apt-get install curl, or scripts/setup.sh)")
			}
			env.Setenv("SSPI_LSA", "")
			env.Setenv("SSPI_STORE", "")
			env.Setenv("SSPI_PASSWORD", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// upstream starts a plain web application for the script's
			// lifetime that answers with the request's headers, one
			// "Name: value" line each, sorted, and sets $UPSTREAM to
			// its URL.
			"upstream": func(ts *testscript.TestScript, neg bool, args []string) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var lines []string
					for name, vals := range r.Header {
						for _, v := range vals {
							lines = append(lines, name+": "+v)
						}
					}
					sort.Strings(lines)
					fmt.Fprintf(w, "upstream saw %s %s\n%s\n", r.Method, r.URL.Path, strings.Join(lines, "\n"))
				}))
				ts.Defer(srv.Close)
				ts.Setenv("UPSTREAM", srv.URL)
			},
			// waitfor ADDR waits until something listens at ADDR.
			"waitfor": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitfor ADDR")
				}
				deadline := time.Now().Add(10 * time.Second)
				for {
					c, err := net.Dial("tcp", args[0])
					if err == nil {
						c.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("nothing listens at %s: %v", args[0], err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
		},
	})
}
