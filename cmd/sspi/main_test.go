package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
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
			env.Setenv("SSPI_LSA", "")
			env.Setenv("SSPI_STORE", "")
			env.Setenv("SSPI_PASSWORD", "")
			// The default account store goes in the script's own
			// directory, never the user's.
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "xdg"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
