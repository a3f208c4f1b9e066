package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/opensspi/sspi/internal/cli"
	"github.com/opensspi/sspi/internal/lsad"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sspi": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// lsad, as cmd/lsad runs it, for the scripts that use a daemon.
		"lsad": func() { os.Exit(lsad.Main(context.Background(), os.Args[1:], os.Stderr)) },
	})
}

// haveRealm reports whether the environment names the Kerberos realm of
// scripts/dev-realm.sh (its SSPI_KRB5_* variables and KRB5_CONFIG).
func haveRealm() bool {
	for _, name := range []string{"SSPI_KRB5_REALM", "KRB5_CONFIG", "SSPI_KRB5_SERVICE_KEYTAB", "SSPI_KRB5_USER_KEYTAB", "SSPI_KRB5_PASSWORD"} {
		if os.Getenv(name) == "" {
			return false
		}
	}
	return true
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on, for
// a script's server to bind later. It comes from below the kernel's
// ephemeral range: a port from that range (what listening on port 0
// gives) may be taken, between this check and the server's bind, as the
// local side of any outgoing connection on the machine, and was, when
// another test suite ran at the same time (the script's client then
// reached the wrong server).
func freePort() (int, error) {
	const low = 10000
	high := 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > low+1000 {
				high = n
			}
		}
	}
	for range 1000 {
		port := low + rand.IntN(high-low)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		ln.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port between %d and %d on 127.0.0.1", low, high)
}

// TestScripts runs the command-line scripts in testdata: the demo, the
// package list, accounts, serve and connect, exit statuses and JSON, and
// the commands against lsad.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			// A free port for serve/connect, and no LSA or store from
			// the environment.
			for _, name := range []string{"PORT", "PORT2", "PORT3", "PORT4"} {
				port, err := freePort()
				if err != nil {
					return err
				}
				env.Setenv(name, strconv.Itoa(port))
			}
			// curl is the independent HTTP peer of http.txtar; a run
			// that must exercise every peer fails without it.
			if _, err := exec.LookPath("curl"); err != nil && os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
				return fmt.Errorf("curl is missing and SSPI_INTEROP_REQUIRED=1 (Debian: apt-get install curl, or scripts/setup.sh)")
			}
			// The Kerberos realm of scripts/dev-realm.sh, which
			// scripts/test.sh starts: the [krb5] condition of the
			// Kerberos scripts. A run that must exercise every peer
			// fails without it.
			krb5 := haveRealm()
			if !krb5 && os.Getenv("SSPI_INTEROP_REQUIRED") == "1" {
				return fmt.Errorf("no Kerberos realm and SSPI_INTEROP_REQUIRED=1: run eval \"$(scripts/dev-realm.sh up)\" (scripts/test.sh does)")
			}
			for _, kv := range os.Environ() {
				name, value, _ := strings.Cut(kv, "=")
				if krb5 && (strings.HasPrefix(name, "SSPI_KRB5_") || strings.HasPrefix(name, "KRB5")) {
					env.Setenv(name, value)
				}
			}
			if !krb5 {
				// No realm: nothing of this host's (/etc/krb5.conf)
				// either, so that the scripts see no realm at all.
				env.Setenv("KRB5_CONFIG", filepath.Join(env.WorkDir, "no-krb5.conf"))
				env.Setenv("KRB5_KTNAME", "FILE:"+filepath.Join(env.WorkDir, "no.keytab"))
			}
			env.Setenv("SSPI_LSA", "")
			env.Setenv("SSPI_STORE", "")
			env.Setenv("SSPI_PASSWORD", "")
			host, err := os.Hostname()
			if err != nil {
				return err
			}
			env.Setenv("HOSTNAME", host)
			// The default account store goes in the script's own
			// directory, never the user's.
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "xdg"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "krb5" {
				return haveRealm(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
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
			// waitfor ADDR waits until something listens at ADDR (a TCP
			// address, or unix:PATH): it checks again until it does,
			// and gives up only as a guard against a hang.
			"waitfor": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitfor ADDR")
				}
				network, addr := "tcp", args[0]
				if p, ok := strings.CutPrefix(addr, "unix:"); ok {
					network, addr = "unix", p
				}
				guard := time.Now().Add(2 * time.Minute)
				for {
					c, err := net.Dial(network, addr)
					if err == nil {
						c.Close()
						return
					}
					if time.Now().After(guard) {
						ts.Fatalf("nothing listens at %s: %v", args[0], err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
			// status N PROG ARGS... runs PROG like exec and checks that
			// it exits with status N.
			"status": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: status N PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("status: %v", err)
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				switch {
				case errors.As(err, &ee):
					got = ee.ExitCode()
				case err != nil:
					ts.Fatalf("%s: %v", args[1], err)
				}
				if got != want {
					ts.Fatalf("%s exited with status %d, want %d", strings.Join(args[1:], " "), got, want)
				}
			},
			// setre VAR REGEXP sets VAR to the first group REGEXP
			// matches in the last command's standard output.
			"setre": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: setre VAR REGEXP")
				}
				m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
				if len(m) < 2 {
					ts.Fatalf("setre: %q matches nothing in stdout", args[1])
				}
				ts.Setenv(args[0], m[1])
			},
			// kerberos FILE appends to the lsad.toml FILE a [kerberos]
			// section naming the realm's krb5.conf and service keytab
			// (from the script's KRB5_CONFIG and
			// SSPI_KRB5_SERVICE_KEYTAB).
			"kerberos": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: kerberos FILE")
				}
				f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_APPEND|os.O_WRONLY, 0)
				ts.Check(err)
				defer f.Close()
				_, err = fmt.Fprintf(f, "[kerberos]\nkrb5_conf = [%q]\nkeytabs = [%q]\n", ts.Getenv("KRB5_CONFIG"), ts.Getenv("SSPI_KRB5_SERVICE_KEYTAB"))
				ts.Check(err)
			},
			// policy FILE writes an lsad policy that makes this uid an
			// administrator.
			"policy": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: policy FILE")
				}
				p := fmt.Sprintf("[default]\npackages = [\"*\"]\naccept = [\"*\"]\ninitiate = true\nexplicit_credentials = true\n\n"+
					"[[rule]]\nuid = %d\npackages = [\"*\"]\naccept = [\"*\"]\ninitiate = true\nexplicit_credentials = true\nadmin = true\n", os.Getuid())
				if err := os.WriteFile(ts.MkAbs(args[0]), []byte(p), 0o644); err != nil {
					ts.Fatalf("%v", err)
				}
			},
		},
	})
}
