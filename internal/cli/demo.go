package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/lsa/engine"
	"github.com/opensspi/sspi/sspinet"
)

type demoLeg struct {
	Direction string `json:"direction"`
	Bytes     int    `json:"bytes"`
	Status    string `json:"status"`
	// Proves is what the leg's token proves, for packages whose legs
	// the demo explains.
	Proves string `json:"proves,omitempty"`
}

// legMeaning says, for the packages the demo explains, what each token
// of a handshake carries and proves, in the order they are sent.
var legMeaning = map[string][]string{
	"kerberos": {
		"AP-REQ: the service ticket the KDC issued to the client's LSA, sealed with the service's key (which only the server's LSA holds), and an authenticator under the ticket's session key: only a holder of the ticket's session key could make it (the client is authenticated); the acceptor's LSA checks it once (replay cache)",
		"AP-REP: the authenticator's time and a fresh subkey under the session key, which only the holder of the service key could read (the server is authenticated); the subkey keys the context",
	},
	"opaque": {
		"KE1: the client's password, blinded (an OPRF request), and its key share; it reveals nothing of the password",
		"KE2: the OPRF answer and the account's masked envelope, with the server's MAC; the client stretches (Argon2id) and opens the envelope: only a server holding this account's record could answer so (the server is authenticated)",
		"KE3: the client's MAC over the whole exchange: it knew the password (the client is authenticated); both now share the session key",
	},
}

type demoPackage struct {
	Package     string    `json:"package"`
	Negotiated  string    `json:"negotiated,omitempty"` // the package Negotiate chose
	Target      string    `json:"target,omitempty"`
	Legs        []demoLeg `json:"legs"`
	ClientFlags []string  `json:"client_flags"` // ISC_RET_* names
	ServerFlags []string  `json:"server_flags"` // ASC_RET_* names
	Identity    string    `json:"identity,omitempty"`
	Bindings    string    `json:"channel_bindings,omitempty"`
	Mapped      bool      `json:"mapped"`
	ToServer    string    `json:"sealed_to_server,omitempty"`
	ToClient    string    `json:"sealed_to_client,omitempty"`
	Skipped     string    `json:"skipped,omitempty"`
	Hint        string    `json:"hint,omitempty"` // how to run what was skipped
	Error       string    `json:"error,omitempty"`
}

func newDemoCmd(e *env) *cobra.Command {
	var target string
	var only []string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run every package end to end on loopback, in this process",
		Long: `demo starts an LSA in this process with a throw-away account store, adds an
account, and for each package runs a server and a client on loopback: the
handshake leg by leg, the negotiated flags, the identity the server sees,
whether the context was mapped into the application, and a sealed message each
way.

Kerberos needs a realm: a krb5.conf (KRB5_CONFIG, else /etc/krb5.conf), a
keytab with the service's keys (KRB5_KTNAME, else /etc/krb5.keytab) and the
client's credentials (SSPI_KRB5_USER and SSPI_KRB5_PASSWORD, else the client
keytab KRB5_CLIENT_KTNAME or kinit's credentials cache). The environment
'scripts/dev-realm.sh up' prints is all it takes: then demo runs Kerberos, and
Negotiate choosing Kerberos, too. Without a realm it says how to get one and
runs the other packages.`,
		Example: `  sspi demo
  sspi demo --json
  sspi demo --package Kerberos,Negotiate
  eval "$(scripts/dev-realm.sh up)" && sspi demo     # with Kerberos, on a throw-away realm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return e.demo(cmd.Context(), target, only) },
	}
	cmd.Flags().StringSliceVar(&only, "package", nil, "run only this package (repeat the flag, or separate names with commas; default: every package)")
	cmd.Flags().StringVar(&target, "kerberos-service", "", "the Kerberos service the demo's server accepts as, a principal of the keytab (default $SSPI_KRB5_SERVICE, else host/ and this host's name)")
	return cmd
}

// kerberosDemoHint says what to change when the demo's Kerberos
// handshake failed, or "" for an error of another package.
func kerberosDemoHint(err error, target string, id *sspi.AuthIdentity) string {
	switch {
	case target == "" || strings.HasPrefix(target, "HOST/"):
		return ""
	case errors.Is(err, sspi.ErrNoCredentials) && id == nil:
		return "the client has no credentials: set SSPI_KRB5_USER and SSPI_KRB5_PASSWORD (and SSPI_KRB5_REALM), or kinit"
	case errors.Is(err, sspi.StatusTargetUnknown), errors.Is(err, sspi.ErrWrongPrincipal), errors.Is(err, sspi.ErrLogonDenied) && id == nil:
		return "give --kerberos-service a principal whose keys the keytab (KRB5_KTNAME) holds, such as host/ and this host's name"
	case errors.Is(err, sspi.StatusNoAuthenticatingAuthority):
		return "no KDC of the realm answered: is krb5.conf (KRB5_CONFIG) right, and does its KDC run?"
	}
	return ""
}

// demoRealm is what the demo needs to run Kerberos.
type demoRealm struct {
	target   string
	identity *sspi.AuthIdentity // nil: default credentials
}

// devRealmHint says how to get a realm for the demo.
const devRealmHint = `from the source tree: eval "$(scripts/dev-realm.sh up)" (a throw-away MIT realm on loopback), then sspi demo`

// kerberosRealm returns the realm the demo can run Kerberos in, or why
// it cannot: the files of the environment, checked the way the Kerberos
// package finds them (it reads them; the demo only looks that they are
// there).
func (e *env) kerberosRealm(service string) (*demoRealm, string) {
	exists := func(name string) bool {
		name = strings.TrimPrefix(name, "FILE:")
		st, err := os.Stat(name)
		return err == nil && st.Mode().IsRegular()
	}
	if v := e.getenv("KRB5_CONFIG"); v != "" {
		found := false
		for _, f := range strings.Split(v, ":") {
			found = found || f != "" && exists(f)
		}
		if !found {
			return nil, "no Kerberos realm: no file of KRB5_CONFIG exists (" + v + ")"
		}
	} else if !exists("/etc/krb5.conf") {
		return nil, "no Kerberos realm: KRB5_CONFIG is not set and /etc/krb5.conf does not exist"
	}
	if kt := e.getenv("KRB5_KTNAME"); kt != "" {
		if !exists(kt) {
			return nil, "no Kerberos service keys: the keytab KRB5_KTNAME names does not exist (" + kt + ")"
		}
	} else if !exists("/etc/krb5.keytab") {
		return nil, "no Kerberos service keys: KRB5_KTNAME is not set and /etc/krb5.keytab does not exist"
	}
	r := &demoRealm{target: service}
	if r.target == "" {
		r.target = e.getenv("SSPI_KRB5_SERVICE")
	}
	if r.target == "" {
		r.target = defaultPrincipal("Kerberos")
	}
	if u, pw := e.getenv("SSPI_KRB5_USER"), e.getenv("SSPI_KRB5_PASSWORD"); u != "" && pw != "" {
		r.identity = &sspi.AuthIdentity{User: u, Domain: e.getenv("SSPI_KRB5_REALM"), Password: []byte(pw)}
	}
	return r, ""
}

func (e *env) demo(ctx context.Context, kerberosService string, only []string) error {
	dir, err := os.MkdirTemp("", "sspi-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "accounts.db")
	store, err := accounts.Open(ctx, dsn, &accounts.Options{Create: true})
	if err != nil {
		return err
	}
	defer store.Close()
	eng, err := engine.New(&engine.Config{Accounts: store})
	if err != nil {
		return err
	}
	defer eng.Close()
	p := sspi.NewProvider(eng.Connect(engine.CurrentProcess()), nil)
	defer p.Close()

	params := eng.Parameters()
	const user = "alice"
	password := make([]byte, 12)
	rand.Read(password)
	password = []byte(base64.RawURLEncoding.EncodeToString(password))
	say := func(format string, args ...any) {
		if !e.json {
			fmt.Fprintf(e.stdout, format, args...)
		}
	}
	say("OpenSSPI demo: an LSA in this process, a throw-away account store (%s)\n", dsn)
	if err := eng.SetPassword(ctx, params.DomainName, user, password); err != nil {
		return fmt.Errorf("adding the demo account: %w", err)
	}
	say("account %s\\%s added; the store keeps each package's verifier, not the password\n", params.DomainName, user)
	// Packages whose verifier the client makes (OPAQUE) register through
	// the LSA's registration call: the client's side here, the LSA never
	// given the password.
	admin := eng.Connect(engine.CurrentProcess())
	defer admin.Close()
	for _, pi := range eng.Packages() {
		if _, name, ok := clientRegistrar(pi.Name); ok && (len(only) == 0 || slices.ContainsFunc(only, func(n string) bool { return strings.EqualFold(n, pi.Name) })) {
			if err := register(ctx, admin, name, params.DomainName, user, password, "", ""); err != nil {
				return fmt.Errorf("registering the demo account with %s: %w", name, err)
			}
			say("account %s\\%s registered with %s: the LSA saw a blinded request and the record, never the password\n", params.DomainName, user, name)
		}
	}

	pkgs, err := p.Packages(ctx)
	if err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return errors.New("no security packages are registered")
	}
	if len(only) > 0 {
		var chosen []sspi.PackageInfo
		for _, name := range only {
			i := slices.IndexFunc(pkgs, func(pi sspi.PackageInfo) bool { return strings.EqualFold(pi.Name, name) })
			if i < 0 {
				return hint(fmt.Errorf("no security package %q", name), "see 'sspi packages' for the packages this LSA has")
			}
			chosen = append(chosen, pkgs[i])
		}
		pkgs = chosen
	}
	var results []demoPackage
	failed := 0
	realm, noRealm := e.kerberosRealm(kerberosService)
	ntlmID := &sspi.AuthIdentity{User: user, Domain: params.DomainName, Password: password}
	run := func(r demoPackage, target string, id *sspi.AuthIdentity) {
		if err := e.demoPackage(ctx, p, target, id, &r, say); err != nil {
			r.Error = err.Error()
			failed++
			say("  FAILED: %v\n", err)
			if r.Hint = kerberosDemoHint(err, target, id); r.Hint != "" {
				say("  hint: %s\n", r.Hint)
			}
		}
		results = append(results, r)
	}
	for _, pi := range pkgs {
		r := demoPackage{Package: pi.Name, Legs: []demoLeg{}, ClientFlags: []string{}, ServerFlags: []string{}}
		if strings.EqualFold(pi.Name, "Kerberos") {
			say("\n== %s ==\n", pi.Name)
			if realm == nil {
				r.Skipped, r.Hint = noRealm, devRealmHint
				say("  skipped: %s\n", noRealm)
				say("  to run it on a throw-away MIT realm on loopback, from the source tree:\n")
				say("    eval \"$(scripts/dev-realm.sh up)\"\n    sspi demo\n")
				results = append(results, r)
				continue
			}
			say("  the client's LSA gets a TGT (AS exchange) and a ticket for %s\n  (TGS exchange) from the KDC; the keys stay in the LSA\n", realm.target)
			run(r, realm.target, realm.identity)
			continue
		}
		say("\n== %s ==\n", pi.Name)
		run(r, "HOST/"+params.DNSMachineName, ntlmID)
		if strings.EqualFold(pi.Name, "Negotiate") && realm != nil {
			say("\n== %s, with Kerberos credentials ==\n", pi.Name)
			r := demoPackage{Package: pi.Name, Legs: []demoLeg{}, ClientFlags: []string{}, ServerFlags: []string{}}
			run(r, realm.target, realm.identity)
		}
	}
	if e.json {
		if err := writeJSON(e.stdout, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d packages failed", failed, len(results))
	}
	if realm == nil && len(only) == 0 {
		say("\nOK: every package but Kerberos authenticated and protected messages both ways\n")
		return nil
	}
	if len(only) > 0 {
		say("\nOK: %s authenticated and protected messages both ways\n", strings.Join(only, ", "))
		return nil
	}
	say("\nOK: every package authenticated and protected messages both ways\n")
	return nil
}

func (e *env) demoPackage(ctx context.Context, p *sspi.Provider, target string, id *sspi.AuthIdentity, r *demoPackage, say func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pkg := r.Package
	r.Target = target
	var mu sync.Mutex
	meaning := legMeaning[strings.ToLower(pkg)]
	sent := 0
	onLeg := func(l sspinet.Leg) {
		mu.Lock()
		defer mu.Unlock()
		dir, n := "server -> client", l.Out
		if l.Client {
			dir = "client -> server"
		}
		leg := demoLeg{Direction: dir, Bytes: n, Status: l.Status.String()}
		if l.Out == 0 {
			leg.Direction, leg.Bytes = strings.SplitN(dir, " ", 2)[0]+" (done)", 0
		} else if sent++; sent <= len(meaning) {
			leg.Proves = meaning[sent-1]
		}
		r.Legs = append(r.Legs, leg)
		say("  %-18s %5d bytes  %s\n", leg.Direction, leg.Bytes, leg.Status)
		if leg.Proves != "" {
			for _, line := range wrap(leg.Proves, 56) {
				say("  %18s %s\n", "", line)
			}
		}
	}
	scfg := &sspinet.Config{Provider: p, Package: pkg, Principal: target, OnLeg: onLeg}
	ccfg := &sspinet.Config{Provider: p, Package: pkg, Target: target, OnLeg: onLeg}
	if id != nil {
		ccfg.Identity = id
	}
	ln, err := sspinet.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan error, 1)
	var server *sspinet.Conn
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		server = c.(*sspinet.Conn)
		if err := server.Handshake(ctx); err != nil {
			served <- err
			return
		}
		// Echo one message back, sealed.
		buf := make([]byte, 256)
		n, err := server.Read(buf)
		if err == nil {
			_, err = server.Write(append([]byte("echo: "), buf[:n]...))
		}
		served <- err
	}()
	client, err := sspinet.Dial(ctx, "tcp", ln.Addr().String(), ccfg)
	if err != nil {
		<-served
		return err
	}
	defer client.Close()
	msg := "hello from the client"
	if _, err := client.Write([]byte(msg)); err != nil {
		return err
	}
	reply := make([]byte, 256)
	n, err := client.Read(reply)
	if err != nil {
		return err
	}
	if err := <-served; err != nil {
		return err
	}
	defer server.Close()
	cs, ss := client.ConnectionState(), server.ConnectionState()
	r.ClientFlags = names(cs.ClientFlags.RetString())
	r.ServerFlags = names(ss.ServerFlags.RetString())
	if ss.Identity != nil {
		r.Identity = ss.Identity.String()
		r.Bindings = ss.Identity.Bindings.String()
	}
	r.Mapped = cs.Mapped && ss.Mapped
	if cs.Negotiated != "" && cs.Negotiated != pkg {
		r.Negotiated = cs.Negotiated
		say("  negotiated:     %s\n", r.Negotiated)
	}
	r.ToServer, r.ToClient = msg, string(reply[:n])
	say("  client flags:   %s\n", strings.ReplaceAll(cs.ClientFlags.RetString(), "ISC_RET_", ""))
	say("  server flags:   %s\n", strings.ReplaceAll(ss.ServerFlags.RetString(), "ASC_RET_", ""))
	seen := pkg
	if ss.Identity != nil && ss.Identity.Package != "" {
		seen = ss.Identity.Package
	}
	say("  server sees:    %s (package %s)\n", r.Identity, seen)
	say("  mapped:         %v (per-message work runs in this process, not the LSA)\n", r.Mapped)
	say("  sealed message: client -> server %q\n", r.ToServer)
	say("  sealed message: server -> client %q\n", r.ToClient)
	return nil
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
